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

  /** KEYS[1] processing list, KEYS[2] waiting set; ARGV rate, per, key prefix, then (key, raw) pairs: 1 admitted / 0 parked each. */
  static final Script ADMIT = new Script(REFILL + """
      local rate, per, prefix = tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3]
      local out = {}
      for i = 4, #ARGV, 2 do
        local k, raw = ARGV[i], ARGV[i + 1]
        local bk = prefix .. 'rate:' .. k
        local tokens, ts = refill(bk, rate, per, now)
        if tokens >= 1 then
          tokens = tokens - 1
          out[#out + 1] = 1
        else
          redis.call('LREM', KEYS[1], 1, raw)
          redis.call('RPUSH', prefix .. 'wait:' .. k, raw)
          redis.call('ZADD', KEYS[2], 'LT', now + math.ceil((1 - tokens) * per / rate), k)
          out[#out + 1] = 0
        end
        redis.call('HSET', bk, 'tokens', tostring(tokens), 'ts', tostring(ts))
        redis.call('PEXPIRE', bk, per * 2 + 1000)
      end
      return out
      """);

  /**
   * KEYS[1] queue, KEYS[2] waiting set; ARGV rate, per, key prefix. Moves due keys' waiting messages
   * to the queue head (as many as the key has tokens, at least one; the tokens stay for the read to
   * take). Returns ms until the next key is due, -1 when none waits.
   */
  static final Script PROMOTE = new Script(REFILL + TO_HEAD + """
      local rate, per, prefix = tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3]
      local due = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now, 'LIMIT', 0, 20)
      for _, k in ipairs(due) do
        local wk = prefix .. 'wait:' .. k
        local tokens = refill(prefix .. 'rate:' .. k, rate, per, now)
        local n = math.max(1, math.floor(tokens))
        toHead(wk, KEYS[1], n)
        if redis.call('LLEN', wk) > 0 then
          redis.call('ZADD', KEYS[2], now + math.ceil(per / rate), k)
        else
          redis.call('ZREM', KEYS[2], k)
        end
      end
      local next = redis.call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')
      if #next == 0 then return -1 end
      return math.max(0, tonumber(next[2]) - now)
      """);

  private final byte[] rate;
  private final byte[] per;
  private final byte[] prefix;
  private final byte[] waiting;

  public KeyLimiter(String listName, int rate, long perMillis) {
    this.rate = ascii(rate);
    this.per = ascii(perMillis);
    this.prefix = Keys.derived(listName, "").getBytes(StandardCharsets.UTF_8); // the list's own prefix, as every derived key
    this.waiting = Keys.derived(listName, "waiting").getBytes(StandardCharsets.UTF_8);
  }

  static byte[] ascii(long v) {
    return Long.toString(v).getBytes(StandardCharsets.US_ASCII);
  }

  /** For each (key, raw) pair: whether it may run now (true) or was parked (false). */
  public boolean[] admit(RedisClusterCommands<byte[], byte[]> redis, byte[] processingKey, List<byte[]> keys, List<byte[]> raws) {
    List<byte[]> args = new ArrayList<>(3 + keys.size() * 2);
    args.add(rate);
    args.add(per);
    args.add(prefix);
    for (int i = 0; i < keys.size(); i++) {
      args.add(keys.get(i));
      args.add(raws.get(i));
    }
    return admitted(ADMIT.call(redis, ScriptOutputType.MULTI, new byte[][] {processingKey, waiting}, args.toArray(new byte[0][])));
  }

  /** An admit script's answer, 1 (runs now) or 0 (parked) per message, as flags. */
  static boolean[] admitted(List<Long> answer) {
    boolean[] out = new boolean[answer.size()];
    for (int i = 0; i < out.length; i++) {
      out[i] = answer.get(i) == 1L;
    }
    return out;
  }

  /** Moves due parked messages back to the queue head; ms until the next key is due, or -1. */
  public long promote(RedisClusterCommands<byte[], byte[]> redis, byte[] queueKey) {
    Long next = PROMOTE.call(redis, ScriptOutputType.INTEGER, new byte[][] {queueKey, waiting}, rate, per, prefix);
    return next == null ? -1 : next;
  }
}
