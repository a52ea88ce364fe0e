package dev.brook.redis.internal.jobs;

import dev.brook.redis.internal.Keys;
import dev.brook.redis.internal.Script;
import io.lettuce.core.ScriptOutputType;
import io.lettuce.core.cluster.api.sync.RedisClusterCommands;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * Per-key rate limits of a reliable List ({@code rateLimitPerKey}): one token bucket per key
 * ({@code {jobs}:rate:<key>}), and for messages over their key's limit a waiting list per key
 * ({@code {jobs}:wait:<key>}) with the keys in a sorted set by the time their next token is due
 * ({@code {jobs}:waiting}). Every key shares the list's hash tag, so the scripts stay in one slot
 * on a cluster.
 *
 * <p>{@link #admit}: after a read, for the messages that carry a key, takes a token of their key or
 * parks them (LREM from the processing list + RPUSH to the waiting list, one script: at-least-once
 * holds, the message is always in exactly one list). A key with parked messages admits nothing
 * ahead of them. {@link #promote}: before a read, takes tokens for the first parked messages of due
 * keys and moves them straight into the processing list of the consumer that runs it, which
 * delivers them (no second admission, so no other message can take their token meanwhile), and
 * says when the next key is due, so the read blocks no longer than that. At a stop, admitted
 * messages given back return to the head of their key's waiting list when it has parked messages
 * ({@link #parkBack}).
 *
 * <p>So a key's messages are dispatched in queue order once any is parked, also across a stop (not
 * across a crash: a dead consumer's processing list goes back to the queue head and its messages
 * queue behind the parked ones). Loop thread of one consumer only.
 *
 * <p>The admission is {@link #ADMIT_BODY} written over a parking's functions, the List's ({@link
 * #LIST_PARKING}) or a Stream group's ({@code internal.stream.StreamParking}, which parks an entry
 * by claiming it to a parking consumer of the group). A Stream group's promotion is {@link
 * #PROMOTE_BODY} (passed with its admission to {@link #KeyLimiter(String, int, long, Script,
 * Script)}); the List's is its own {@link #PROMOTE}. The same ordering rule holds
 * there by entry id (no entry runs while an older one of its key is parked; parked entries are
 * woken in id order, so an entry given back at a stop or taken over after a crash needs no
 * PARK_BACK), but a woken entry is admitted again rather than given its token by the promotion:
 * another consumer's younger entry admitted in between may take that token (docs/jobs.md).
 */
public final class KeyLimiter {

  private static final String REFILL = """
      local function refill(bk, rate, per, now)
        local b = redis.call('HMGET', bk, 'tokens', 'ts')
        local tokens = tonumber(b[1]) or rate
        local ts = tonumber(b[2]) or now
        if now > ts then tokens = math.min(rate, tokens + (now - ts) * rate / per) end
        return tokens, math.max(now, ts)
      end
      local t = redis.call('TIME')
      local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
      """;

  /** {@code toHead(waiting list, queue, n)}: the first n parked messages of a key to the queue head, in order. */
  static final String TO_HEAD = """
      local function toHead(wk, queue, n)
        local items = redis.call('LRANGE', wk, 0, n - 1)
        if #items > 0 then
          redis.call('LTRIM', wk, #items, -1)
          for j = #items, 1, -1 do redis.call('LPUSH', queue, items[j]) end
        end
      end
      """;

  /**
   * A List's promotion: KEYS[1] processing list, KEYS[2] waiting set; ARGV rate, per, key prefix, room. For the due keys,
   * takes a token for each of the first parked messages it has tokens for (up to the room) and moves
   * them, in order, to the processing list of the consumer running it, which delivers them as
   * admitted: a token is never taken by another message between the wake-up and the admission, so
   * parked messages never go back behind younger ones. Returns {ms until the next key is due or -1,
   * the messages moved...}.
   */
  static final Script PROMOTE = new Script(REFILL + """
      local rate, per, prefix, room = tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3], tonumber(ARGV[4])
      local items = {}
      local due = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now, 'LIMIT', 0, 20)
      for _, k in ipairs(due) do
        local bk, wk = prefix .. 'rate:' .. k, prefix .. 'wait:' .. k
        local tokens, ts = refill(bk, rate, per, now)
        local n = math.min(math.floor(tokens), room - #items)
        if n > 0 then
          local got = redis.call('LRANGE', wk, 0, n - 1)
          if #got > 0 then
            redis.call('LTRIM', wk, #got, -1)
            redis.call('RPUSH', KEYS[1], unpack(got))
            for _, v in ipairs(got) do items[#items + 1] = v end
            tokens = tokens - #got
            redis.call('HSET', bk, 'tokens', tostring(tokens), 'ts', tostring(ts))
            redis.call('PEXPIRE', bk, per * 2 + 1000)
          end
        end
        if redis.call('LLEN', wk) > 0 then
          redis.call('ZADD', KEYS[2], now + math.max(0, math.ceil((1 - tokens) * per / rate)), k)
        else
          redis.call('ZREM', KEYS[2], k)
        end
      end
      local next = redis.call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')
      local wait = -1
      if #next > 0 then wait = math.max(0, tonumber(next[2]) - now) end
      table.insert(items, 1, wait)
      return items
      """);

  /**
   * The stop's give-back for admitted messages: KEYS[1] processing list; ARGV key prefix, then (raw,
   * key) pairs. Those whose key has parked messages go back to the head of the key's waiting list,
   * in the order the processing list holds them (they are older than every parked message of their
   * key: a key admits none ahead of its parked ones); the rest stay for the give-back to the queue.
   * Returns how many it moved.
   */
  static final Script PARK_BACK = new Script("""
      local prefix = ARGV[1]
      local keyOf, parked = {}, {}
      for i = 2, #ARGV, 2 do
        keyOf[ARGV[i]] = ARGV[i + 1]
        if parked[ARGV[i + 1]] == nil then parked[ARGV[i + 1]] = redis.call('LLEN', prefix .. 'wait:' .. ARGV[i + 1]) > 0 end
      end
      local items = redis.call('LRANGE', KEYS[1], 0, -1)
      local n = 0
      for i = #items, 1, -1 do
        local k = keyOf[items[i]]
        if k ~= nil and parked[k] and redis.call('LREM', KEYS[1], -1, items[i]) > 0 then
          redis.call('LPUSH', prefix .. 'wait:' .. k, items[i])
          n = n + 1
        end
      end
      return n
      """);

  /**
   * How a List parks and wakes messages, the functions the admission ({@link #ADMIT_BODY}) and
   * {@link KeySlots}' admit/promote/release scripts call (a Stream group parks differently, see
   * {@code StreamParking}): {@code parkedBefore(prefix, k, raw)} says whether the key has parked
   * messages (all older than one just read); {@code park(prefix, k, raw)} moves the message from the
   * processing list (KEYS[1] of an admission) to the key's waiting list, or answers false and moves
   * nothing when it is no longer there (recovered by another consumer meanwhile: the other has it);
   * {@code parked(prefix,
   * k)} counts what waits; {@code wake(prefix, k, n)} moves the first n back to the queue head
   * (KEYS[1] of a promotion) and returns how many still wait; {@code wakeOne} moves the next one
   * back when a slot was released.
   */
  public static final String LIST_PARKING = TO_HEAD + """
      local function park(prefix, k, raw)
        if redis.call('LREM', KEYS[1], 1, raw) == 0 then return false end
        redis.call('RPUSH', prefix .. 'wait:' .. k, raw)
        return true
      end
      local function parked(prefix, k)
        return redis.call('LLEN', prefix .. 'wait:' .. k)
      end
      local function parkedBefore(prefix, k, raw)
        return redis.call('LLEN', prefix .. 'wait:' .. k) > 0
      end
      local function wake(prefix, k, n)
        local wk = prefix .. 'wait:' .. k
        toHead(wk, KEYS[1], n)
        return redis.call('LLEN', wk)
      end
      local function wakeOne(prefix, queue, slotwait, k, now)
        local wk = prefix .. 'wait:' .. k
        redis.call('LMOVE', wk, queue, 'LEFT', 'LEFT')
        if redis.call('LLEN', wk) == 0 then redis.call('ZREM', slotwait, k) end
      end
      """;

  /**
   * The admission, after a parking's functions: KEYS[1] processing list (or stream), KEYS[2] waiting
   * set; ARGV rate, per, key prefix, two values for the parking (a Stream's group and consumer), then
   * (key, item) pairs: 1 admitted, 0 parked, 2 gone (not ours any more: neither runs nor is parked)
   * each. A message runs only when its key has a token and no older message of the key is parked
   * ({@code parkedBefore(prefix, k, item)} of the parking): a key's messages run in order once one
   * is parked (a List's leave the waiting list only by {@link #PROMOTE}; a Stream's woken entries,
   * the oldest parked, are admitted before younger ones). A message parked while its key has a
   * token makes the key due now.
   */
  public static final String ADMIT_BODY = REFILL + """
      local rate, per, prefix = tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3]
      local out = {}
      for i = 6, #ARGV, 2 do
        local k, item = ARGV[i], ARGV[i + 1]
        local bk = prefix .. 'rate:' .. k
        local tokens, ts = refill(bk, rate, per, now)
        if tokens >= 1 and not parkedBefore(prefix, k, item) then
          tokens = tokens - 1
          out[#out + 1] = 1
        elseif park(prefix, k, item) then
          redis.call('ZADD', KEYS[2], 'LT', now + math.max(0, math.ceil((1 - tokens) * per / rate)), k)
          out[#out + 1] = 0
        else
          out[#out + 1] = 2
        end
        redis.call('HSET', bk, 'tokens', tostring(tokens), 'ts', tostring(ts))
        redis.call('PEXPIRE', bk, per * 2 + 1000)
      end
      return out
      """;

  /**
   * A Stream group's promotion, after its parking's functions: KEYS[1] stream, KEYS[2] waiting set;
   * ARGV rate, per, key prefix, the parking's two values. Wakes due keys' parked entries (as many as
   * the key has tokens, at least one; the tokens stay for the admission to take). A {@code wake}
   * that returns -1 did not look at the key (no room): it stays due. Leaves {@code nextDue}: ms until
   * the next key is due, -1 when none waits.
   */
  public static final String PROMOTE_BODY = REFILL + """
      local rate, per, prefix = tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3]
      local due = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now, 'LIMIT', 0, 20)
      for _, k in ipairs(due) do
        local tokens = refill(prefix .. 'rate:' .. k, rate, per, now)
        local left = wake(prefix, k, math.max(1, math.floor(tokens)))
        if left > 0 then
          redis.call('ZADD', KEYS[2], now + math.ceil(per / rate), k)
        elseif left == 0 then
          redis.call('ZREM', KEYS[2], k)
        end
      end
      local nextDue = -1
      local first = redis.call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')
      if #first > 0 then nextDue = math.max(0, tonumber(first[2]) - now) end
      """;

  static final byte[] EMPTY = new byte[0];

  private final byte[] rate;
  private final byte[] per;
  private final byte[] prefix;
  private final byte[] waiting;
  /** {@link #ADMIT_BODY} after the parking's functions; a Stream group's {@link #PROMOTE_BODY}, null for a List (it has its own). */
  private final Script admit;
  private final Script promote;

  private static final Script LIST_ADMIT = new Script(LIST_PARKING + ADMIT_BODY);

  /** A List's per-key rate limit: keys under the list's own prefix {@code {name}:}; {@link #PROMOTE}, {@link #PARK_BACK}. */
  public KeyLimiter(String listName, int rate, long perMillis) {
    this(Keys.derived(listName, ""), rate, perMillis, LIST_ADMIT, null);
  }

  /**
   * @param prefix every key's prefix ({@code <prefix>rate:<key>}, {@code <prefix>waiting}), with the hash tag of the queue
   * @param admit {@link #ADMIT_BODY} after a parking's functions
   * @param promote {@link #PROMOTE_BODY} after a parking's functions, answering {@code {nextDue, ...}} (null: a List's)
   */
  public KeyLimiter(String prefix, int rate, long perMillis, Script admit, Script promote) {
    this.rate = ascii(rate);
    this.per = ascii(perMillis);
    this.prefix = prefix.getBytes(StandardCharsets.UTF_8);
    this.waiting = (prefix + "waiting").getBytes(StandardCharsets.UTF_8);
    this.admit = admit;
    this.promote = promote;
  }

  /** {@code <prefix>waiting}: the keys with parked messages, by when their next token is due. */
  public byte[] waitingKey() {
    return waiting;
  }

  public static byte[] ascii(long v) {
    return Long.toString(v).getBytes(StandardCharsets.US_ASCII);
  }

  /** For each (key, raw) pair of a List: whether it may run now (true) or was parked, or is no longer ours (false). */
  public boolean[] admit(RedisClusterCommands<byte[], byte[]> redis, byte[] processingKey, List<byte[]> keys, List<byte[]> raws) {
    int[] out = admit(redis, processingKey, EMPTY, EMPTY, keys, raws);
    boolean[] admitted = new boolean[out.length];
    for (int i = 0; i < out.length; i++) {
      admitted[i] = out[i] == 1;
    }
    return admitted;
  }

  /** For each (key, item) pair: 1 runs now, 0 parked, 2 gone (see {@link #ADMIT_BODY}). */
  public int[] admit(RedisClusterCommands<byte[], byte[]> redis, byte[] key1, byte[] ctx1, byte[] ctx2, List<byte[]> keys,
      List<byte[]> items) {
    List<byte[]> args = new ArrayList<>(5 + keys.size() * 2);
    args.add(rate);
    args.add(per);
    args.add(prefix);
    args.add(ctx1);
    args.add(ctx2);
    for (int i = 0; i < keys.size(); i++) {
      args.add(keys.get(i));
      args.add(items.get(i));
    }
    return codes(admit.call(redis, ScriptOutputType.MULTI, new byte[][] {key1, waiting},
        args.toArray(new byte[0][])));
  }

  /** An admit script's answer, a code per message. */
  static int[] codes(List<Long> answer) {
    int[] out = new int[answer.size()];
    for (int i = 0; i < out.length; i++) {
      out[i] = answer.get(i).intValue();
    }
    return out;
  }

  /** What {@link #promote} moved into the consumer's processing list (admitted: their tokens are taken), and when to look again. */
  public record Promoted(long nextDue, List<byte[]> items) {}

  /**
   * A List's promotion: takes tokens for due parked messages (up to {@code room}) and moves them into
   * the processing list, in order; they are delivered without another admission. {@code nextDue}:
   * ms until the next key is due, or -1.
   */
  public Promoted promote(RedisClusterCommands<byte[], byte[]> redis, byte[] processingKey, int room) {
    List<Object> answer = PROMOTE.call(redis, ScriptOutputType.MULTI, new byte[][] {processingKey, waiting}, rate, per,
        prefix, ascii(room));
    List<byte[]> items = new ArrayList<>(answer.size() - 1);
    for (int i = 1; i < answer.size(); i++) {
      items.add((byte[]) answer.get(i));
    }
    return new Promoted((Long) answer.get(0), items);
  }

  /**
   * At a List consumer's stop: of these (raw, key) pairs (admitted messages given back), those whose
   * key has parked messages go back to the head of its waiting list, ahead of them; returns how many.
   */
  public long parkBack(RedisClusterCommands<byte[], byte[]> redis, byte[] processingKey, List<byte[]> rawsAndKeys) {
    if (rawsAndKeys.isEmpty()) {
      return 0;
    }
    byte[][] args = new byte[1 + rawsAndKeys.size()][];
    args[0] = prefix;
    for (int i = 0; i < rawsAndKeys.size(); i++) {
      args[1 + i] = rawsAndKeys.get(i);
    }
    Long n = PARK_BACK.call(redis, ScriptOutputType.INTEGER, new byte[][] {processingKey}, args);
    return n == null ? 0 : n;
  }

  /** A Stream group's promotion: {@code {nextDue, what the parking's wake returns...}} (see {@link #PROMOTE_BODY}). */
  public List<Object> promote(RedisClusterCommands<byte[], byte[]> redis, byte[] key1, byte[] ctx1, byte[] ctx2, int room) {
    return streamPromote(promote).call(redis, ScriptOutputType.MULTI, new byte[][] {key1, waiting}, rate, per, prefix, ctx1,
        ctx2, ascii(room));
  }

  /** The first value of a promotion's answer: ms until the next key is due, or -1. */
  public static long nextDue(List<Object> answer) {
    return answer == null || answer.isEmpty() ? -1 : (Long) answer.get(0);
  }

  private static Script streamPromote(Script s) {
    if (s == null) {
      throw new IllegalStateException("A List's KeyLimiter promotes with promote(redis, processingKey, room), not a Stream group's PROMOTE_BODY");
    }
    return s;
  }
}
