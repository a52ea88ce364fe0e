package dev.brook.redis.internal.jobs;

import dev.brook.redis.internal.Keys;
import dev.brook.redis.internal.Script;
import io.lettuce.core.ScriptOutputType;
import io.lettuce.core.cluster.api.sync.RedisClusterCommands;
import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * A token bucket in Redis shared by every consumer of one destination: {@code rate} tokens per
 * {@code perMillis}, at most {@code rate} saved up. The bucket is a hash {@code {name}:rate}
 * (tokens, last refill), in the destination's hash slot, refilled and taken from in one Lua
 * script on Redis' own clock ({@code TIME}), so the consumers' clocks do not matter and no two
 * consumers get the same token.
 *
 * <p>A consumer takes tokens before it reads (as many as it has room for), reads at most that
 * many, and gives back what it did not use ({@link #refund}): a message is never read without a
 * token, so nothing is held that cannot run, and at-least-once is untouched (the limiter decides
 * only how much to read). When no token is left, {@link #take} says how long until the next is
 * due, and the consumer sleeps that long instead of polling.
 *
 * <p>Used on the consumer's own loop thread and connection; not thread-safe.
 */
public final class RateLimiter {

  /** KEYS[1] bucket; ARGV rate, period ms, wanted: {granted, ms until the next token (when none granted)}. */
  static final Script TAKE = new Script("""
      local rate = tonumber(ARGV[1])
      local per = tonumber(ARGV[2])
      local want = tonumber(ARGV[3])
      local t = redis.call('TIME')
      local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
      local b = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
      local tokens = tonumber(b[1]) or rate
      local ts = tonumber(b[2]) or now
      if now > ts then tokens = math.min(rate, tokens + (now - ts) * rate / per) end
      local granted = math.min(want, math.floor(tokens))
      tokens = tokens - granted
      redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', tostring(math.max(now, ts)))
      redis.call('PEXPIRE', KEYS[1], per * 2 + 1000)
      if granted > 0 then return {granted, 0} end
      return {0, math.max(1, math.ceil((1 - tokens) * per / rate))}
      """);

  /** KEYS[1] bucket; ARGV rate, tokens to give back. */
  static final Script REFUND = new Script("""
      local b = tonumber(redis.call('HGET', KEYS[1], 'tokens'))
      if b then redis.call('HSET', KEYS[1], 'tokens', tostring(math.min(tonumber(ARGV[1]), b + tonumber(ARGV[2])))) end
      return 0
      """);

  private final byte[][] key;
  private final byte[] rate;
  private final byte[] per;

  public RateLimiter(String destinationName, int rate, long perMillis) {
    this.key = new byte[][] {bucketKey(destinationName).getBytes(StandardCharsets.UTF_8)};
    this.rate = ascii(rate);
    this.per = ascii(perMillis);
  }

  /** {@code {name}:rate}. */
  public static String bucketKey(String destinationName) {
    return Keys.derived(destinationName, "rate");
  }

  private static byte[] ascii(long v) {
    return Long.toString(v).getBytes(StandardCharsets.US_ASCII);
  }

  /** Takes up to {@code want} tokens: how many it got (&gt; 0), or minus the milliseconds until the next is due. */
  public long take(RedisClusterCommands<byte[], byte[]> redis, int want) {
    List<Long> r = TAKE.call(redis, ScriptOutputType.MULTI, key, rate, per, ascii(want));
    long granted = r.get(0);
    return granted > 0 ? granted : -Math.max(1, r.get(1));
  }

  /** Gives back tokens taken but not used (the read found fewer messages). */
  public void refund(RedisClusterCommands<byte[], byte[]> redis, int unused) {
    if (unused > 0) {
      REFUND.call(redis, ScriptOutputType.INTEGER, key, rate, ascii(unused));
    }
  }
}
