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
 * holds, the message is always in exactly one list). {@link #promote}: before a read, moves the
 * waiting messages of due keys back to the head of the queue, as many as their key has tokens for
 * (at least one), and says when the next key is due, so the read blocks no longer than that.
 *
 * <p>Order within a key is kept among parked messages; a new message of a key that finds a token
 * may pass its parked elders. Loop thread of one consumer only.
 *
 * <p>The scripts are written once over a parking's functions ({@link #LIST_PARKING} for lists; a
 * Stream group's, which parks an entry by claiming it to a parking consumer of the group, in {@code
 * internal.stream.StreamParking}): the token logic is the same for both kinds.
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
   * How a List parks and wakes messages, the functions the shared admit/promote/release scripts
   * call (a Stream group parks differently, see {@code StreamParking}): {@code park(prefix, k, raw)}
   * moves the message from the processing list (KEYS[1] of an admission) to the key's waiting list;
   * {@code parked(prefix, k)} counts what waits; {@code wake(prefix, k, n)} moves the first n back to
   * the queue head (KEYS[1] of a promotion) and returns how many still wait; {@code wakeOne} moves
   * the next one back when a slot was released.
   */
  public static final String LIST_PARKING = TO_HEAD + """
      local function park(prefix, k, raw)
        redis.call('LREM', KEYS[1], 1, raw)
        redis.call('RPUSH', prefix .. 'wait:' .. k, raw)
        return true
      end
      local function parked(prefix, k)
        return redis.call('LLEN', prefix .. 'wait:' .. k)
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
   * After a parking's functions: KEYS[1] processing list (or stream), KEYS[2] waiting set; ARGV
   * rate, per, key prefix, two values for the parking (a Stream's group and consumer), then (key,
   * item) pairs: 1 admitted, 0 parked, 2 gone (not ours any more: neither runs nor is parked) each.
   */
  public static final String ADMIT_BODY = REFILL + """
      local rate, per, prefix = tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3]
      local out = {}
      for i = 6, #ARGV, 2 do
        local k, item = ARGV[i], ARGV[i + 1]
        local bk = prefix .. 'rate:' .. k
        local tokens, ts = refill(bk, rate, per, now)
        if tokens >= 1 then
          tokens = tokens - 1
          out[#out + 1] = 1
        elseif park(prefix, k, item) then
          redis.call('ZADD', KEYS[2], 'LT', now + math.ceil((1 - tokens) * per / rate), k)
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
   * After a parking's functions: KEYS[1] queue (or stream), KEYS[2] waiting set; ARGV rate, per, key
   * prefix, the parking's two values. Wakes due keys' parked messages (as many as the key has tokens,
   * at least one; the tokens stay for the admission to take). A {@code wake} that returns -1 did not
   * look at the key (no room): it stays due. Leaves {@code nextDue}: ms until the next key is due,
   * -1 when none waits.
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

  /** The List's scripts: promotion answers {@code {nextDue}}. */
  private static final Script LIST_ADMIT = new Script(LIST_PARKING + ADMIT_BODY);
  private static final Script LIST_PROMOTE = new Script(LIST_PARKING + PROMOTE_BODY + "return {nextDue}\n");

  static final byte[] EMPTY = new byte[0];

  private final byte[] rate;
  private final byte[] per;
  private final byte[] prefix;
  private final byte[] waiting;
  private final Script admit;
  private final Script promote;

  /** A List's per-key rate limit: keys under the list's own prefix {@code {name}:}. */
  public KeyLimiter(String listName, int rate, long perMillis) {
    this(Keys.derived(listName, ""), rate, perMillis, LIST_ADMIT, LIST_PROMOTE);
  }

  /**
   * @param prefix every key's prefix ({@code <prefix>rate:<key>}, {@code <prefix>waiting}), with the hash tag of the queue
   * @param admit {@link #ADMIT_BODY} after a parking's functions
   * @param promote {@link #PROMOTE_BODY} after a parking's functions, answering {@code {nextDue, ...}}
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

  /** For each (key, raw) pair of a List: whether it may run now (true) or was parked (false). */
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
    return codes(admit.call(redis, ScriptOutputType.MULTI, new byte[][] {key1, waiting}, args.toArray(new byte[0][])));
  }

  /** An admit script's answer, a code per message. */
  static int[] codes(List<Long> answer) {
    int[] out = new int[answer.size()];
    for (int i = 0; i < out.length; i++) {
      out[i] = answer.get(i).intValue();
    }
    return out;
  }

  /** Moves due parked messages back to the queue head; ms until the next key is due, or -1. */
  public long promote(RedisClusterCommands<byte[], byte[]> redis, byte[] queueKey) {
    return nextDue(promote(redis, queueKey, EMPTY, EMPTY, 0));
  }

  /** The promotion's answer: {@code {nextDue, what the parking's wake returns...}}. */
  public List<Object> promote(RedisClusterCommands<byte[], byte[]> redis, byte[] key1, byte[] ctx1, byte[] ctx2, int room) {
    return promote.call(redis, ScriptOutputType.MULTI, new byte[][] {key1, waiting}, rate, per, prefix, ctx1, ctx2,
        ascii(room));
  }

  /** The first value of a promotion's answer: ms until the next key is due, or -1. */
  public static long nextDue(List<Object> answer) {
    return answer == null || answer.isEmpty() ? -1 : (Long) answer.get(0);
  }
}
