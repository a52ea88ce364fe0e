package dev.brook.redis.internal.stream;

import dev.brook.redis.internal.Keys;
import dev.brook.redis.internal.Script;
import dev.brook.redis.internal.jobs.KeyLimiter;
import dev.brook.redis.internal.jobs.KeySlots;
import java.nio.charset.StandardCharsets;

/**
 * How a Stream group parks entries for its per-key limits ({@code rateLimitPerKey}, {@code
 * concurrencyPerKey}): the functions the shared admit, promote and release scripts of {@link
 * KeyLimiter} and {@link KeySlots} call, and those scripts for streams.
 *
 * <p>An entry is parked by {@code XCLAIM <stream> <group> brook-parked:<key> 0 <id> RETRYCOUNT n-1
 * JUSTID}: it moves to a consumer of the group named after its key, keeps its id and stays in the
 * group's pending list (the other groups of the stream never see it), and the attempt it was read
 * for is undone (a parked entry never counts as a delivery). Its key goes into the waiting set
 * ({@code <prefix>waiting} or {@code <prefix>slotwait}) scored by when to look again. A promotion
 * claims due keys' parked entries (in id order) to the consumer that runs it as their next attempt
 * and answers them ({@code {id, attempt, fields}}), which that consumer admits again. With {@code
 * rateLimitPerKey} an entry whose key has an older entry parked is parked too ({@code
 * parkedBefore}), so a key's entries run in id order once one is parked.
 * The release of a slot (in the settlement script) marks the key due now and says so, so that the
 * settling consumer promotes at once. Every key lives under {@link #prefix}, in the stream's slot.
 */
final class StreamParking {

  private StreamParking() {}

  /** The name prefix of parking consumers; Brook's takeover of idle entries leaves them alone. */
  static final String PARKED = "brook-parked:";
  static final byte[] PARKED_BYTES = PARKED.getBytes(StandardCharsets.UTF_8);

  /**
   * {@code justIds(stream, group, consumer, ids)}: XCLAIM of the ids with JUSTID (their count kept),
   * the ids claimed. (Lua passes only the first value of an {@code unpack} that is not the last
   * argument, so the arguments are built as a table.)
   */
  static final String JUST_IDS = """
      local function justIds(key, group, consumer, ids)
        local args = {'XCLAIM', key, group, consumer, 0}
        for _, id in ipairs(ids) do args[#args + 1] = id end
        args[#args + 1] = 'JUSTID'
        return redis.call(unpack(args))
      end
      """;

  /**
   * The parking's functions; the script defines {@code group} and {@code me} before them. KEYS[1]
   * is the stream. {@code claimed} collects the entries a promotion took, {@code room} bounds them,
   * {@code woke} says a release made a key due.
   */
  static final String FUNCTIONS = """
      local claimed, woke, room = {}, false, tonumber(ARGV[6]) or 0
      local function park(prefix, k, id)
        local p = redis.call('XPENDING', KEYS[1], group, id, id, 1)[1]
        if not p or p[2] ~= me then return false end
        redis.call('XCLAIM', KEYS[1], group, 'brook-parked:' .. k, 0, id, 'RETRYCOUNT', math.max(0, p[4] - 1), 'JUSTID')
        return true
      end
      -- the first n entries parked for key k; none when the stream or the group is gone (and with
      -- them what was parked): the caller then drops the key's bookkeeping
      local function parkedIds(k, n)
        local p = redis.pcall('XPENDING', KEYS[1], group, '-', '+', n, 'brook-parked:' .. k)
        if p.err then return {} end
        return p
      end
      local function parked(prefix, k)
        return #parkedIds(k, 1)
      end
      -- whether an entry of key k older than this id is parked (rateLimitPerKey's admission): a key's
      -- entries then run in id order, the parked ones first (XPENDING lists them by id)
      local function parkedBefore(prefix, k, id)
        local p = redis.pcall('XPENDING', KEYS[1], group, '-', id, 1, 'brook-parked:' .. k)
        return not p.err and #p > 0
      end
      local function wake(prefix, k, n)
        n = math.min(n, room - #claimed)
        if n <= 0 then return -1 end
        local parker = 'brook-parked:' .. k
        -- entries deleted from the stream while parked leave the pending list here (XCLAIM skips
        -- them): look further, a few pages at most, rather than leave the key waiting
        for _ = 1, 10 do
          local p = parkedIds(k, n)
          if #p == 0 then break end
          local args, counts = {'XCLAIM', KEYS[1], group, me, 0}, {}
          local ids = {}
          for _, e in ipairs(p) do
            ids[#ids + 1] = e[1]
            args[#args + 1] = e[1]
            counts[e[1]] = e[4] + 1
          end
          local got = {}
          -- counted: the next attempt (a parked entry's count is below maxDeliveries: parking undid it)
          for _, e in ipairs(redis.call(unpack(args))) do
            if e then
              got[e[1]] = true
              claimed[#claimed + 1] = {e[1], counts[e[1]], e[2]}
              n = n - 1
            end
          end
          for _, id in ipairs(ids) do
            if not got[id] then redis.call('XACK', KEYS[1], group, id) end
          end
          if n <= 0 then break end
        end
        local left = parked(prefix, k)
        if left == 0 and redis.call('EXISTS', KEYS[1]) == 1 then
          -- holds nothing now: gone from XINFO CONSUMERS until its key parks an entry again
          redis.pcall('XGROUP', 'DELCONSUMER', KEYS[1], group, parker)
        end
        return left
      end
      local function wakeOne(prefix, queue, slotwait, k, now)
        redis.call('ZADD', slotwait, now, k)
        woke = true
      end
      """;

  /** For the admit, promote and release-all scripts: ARGV[4] group, ARGV[5] consumer. */
  private static final String HEADER = "local group, me = ARGV[4], ARGV[5]\n" + FUNCTIONS;
  private static final String PROMOTE_RETURN = "table.insert(claimed, 1, nextDue)\nreturn claimed\n";

  static final Script RATE_ADMIT = new Script(HEADER + KeyLimiter.ADMIT_BODY);
  static final Script RATE_PROMOTE = new Script(HEADER + KeyLimiter.PROMOTE_BODY + PROMOTE_RETURN);
  static final Script SLOTS_ADMIT = new Script(HEADER + KeySlots.ADMIT_BODY);
  static final Script SLOTS_PROMOTE = new Script(HEADER + KeySlots.PROMOTE_BODY + PROMOTE_RETURN);
  static final Script SLOTS_RELEASE_ALL = new Script(HEADER + KeySlots.RELEASE_ALL_BODY);

  /**
   * {@code {stream}:perkey:<group>:}: the prefix of the group's buckets, slots and waiting sets (one
   * group's limits are its own; the stream's hash tag keeps them in its slot on a cluster).
   */
  static String prefix(String stream, String group) {
    return Keys.derived(stream, "perkey:" + group + ":");
  }

  /** Whether a consumer of the group is a parking consumer. */
  static boolean isParking(byte[] consumer) {
    if (consumer == null || consumer.length < PARKED_BYTES.length) {
      return false;
    }
    for (int i = 0; i < PARKED_BYTES.length; i++) {
      if (consumer[i] != PARKED_BYTES[i]) {
        return false;
      }
    }
    return true;
  }
}
