package dev.brook.redis.internal.jobs;

import dev.brook.redis.internal.Keys;
import dev.brook.redis.internal.Script;
import io.lettuce.core.ScriptOutputType;
import io.lettuce.core.cluster.api.async.RedisClusterAsyncCommands;
import io.lettuce.core.cluster.api.sync.RedisClusterCommands;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletionStage;

/**
 * Per-key concurrency of a reliable List ({@code concurrencyPerKey}): at most {@code max} messages
 * of one key in flight across every consumer. Each running message holds a slot, a member of the
 * sorted set {@code {jobs}:slots:<key>} scored by its lease expiry (Redis' clock). Messages of a key
 * with no free slot are parked in the key's waiting list {@code {jobs}:wait:<key>} (the same as
 * {@link KeyLimiter}'s), and the key goes into {@code {jobs}:slotwait}, scored by when to look again
 * (its earliest lease expiry). All share the list's hash tag: one slot on a cluster.
 *
 * <ul>
 *   <li>{@link #admit}: after a read, one script takes a slot for each keyed message or parks it
 *       (LREM from the processing list + RPUSH to the waiting list: the message is always in exactly
 *       one list). This script alone decides who runs, so the limit holds whatever the wake-ups do.
 *   <li>Release: the settlement script of the message ({@code SETTLE}, see {@link #RELEASE_LUA})
 *       removes its slot and, when the key has parked messages and a free slot, moves the next one
 *       back to the head of the queue; {@link #releaseAll} does the same at a consumer's stop.
 *   <li>{@link #renew}: the consumer's heartbeat pushes its slots' leases forward. A crashed
 *       consumer's leases run out after the heartbeat TTL, and {@link #promote} (before each read)
 *       moves parked messages of keys whose leases ran out back to the queue.
 * </ul>
 *
 * <p>Promotions only wake parked messages up; a woken message whose key filled up again meanwhile
 * is parked again by {@link #admit}. Loop thread of one consumer, except {@link #renew} (timer).
 */
public final class KeySlots {

  private static final String NOW = """
      local t = redis.call('TIME')
      local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
      """;

  /**
   * {@code release(prefix, queue, slotwait, key, member, max, now)}: frees the member's slot of the
   * key and moves one parked message of the key to the queue head when a slot is free. Part of the
   * List's SETTLE script too (a settlement and the release of its slot are one step).
   */
  public static final String RELEASE_LUA = """
      local function release(prefix, queue, slotwait, k, m, max, now)
        local sk = prefix .. 'slots:' .. k
        redis.call('ZREM', sk, m)
        local wk = prefix .. 'wait:' .. k
        if redis.call('LLEN', wk) == 0 then return end
        redis.call('ZREMRANGEBYSCORE', sk, '-inf', now)
        if redis.call('ZCARD', sk) < max then
          redis.call('LMOVE', wk, queue, 'LEFT', 'LEFT')
          if redis.call('LLEN', wk) == 0 then redis.call('ZREM', slotwait, k) end
        end
      end
      """;

  /** KEYS[1] processing list, KEYS[2] slotwait; ARGV max, lease ms, key prefix, then (key, raw, member) triples: 1 admitted / 0 parked each. */
  static final Script ADMIT = new Script(NOW + """
      local max, lease, prefix = tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3]
      local out = {}
      for i = 4, #ARGV, 3 do
        local k, raw, m = ARGV[i], ARGV[i + 1], ARGV[i + 2]
        local sk = prefix .. 'slots:' .. k
        redis.call('ZREMRANGEBYSCORE', sk, '-inf', now)
        if redis.call('ZCARD', sk) < max then
          redis.call('ZADD', sk, now + lease, m)
          redis.call('PEXPIRE', sk, lease * 2)
          out[#out + 1] = 1
        else
          -- not parked when no longer ours (recovered by another consumer meanwhile): the other has it
          if redis.call('LREM', KEYS[1], 1, raw) > 0 then redis.call('RPUSH', prefix .. 'wait:' .. k, raw) end
          -- looked at again when the first lease ends either way: that drops the slots nobody renews (a
          -- release lost with a Redis restart) rather than leaving the key to its expiry
          local first = redis.call('ZRANGE', sk, 0, 0, 'WITHSCORES')
          redis.call('ZADD', KEYS[2], 'LT', tonumber(first[2]), k)
          out[#out + 1] = 0
        end
      end
      return out
      """);

  /**
   * KEYS[1] queue, KEYS[2] slotwait; ARGV max, lease ms, key prefix. For the keys due in slotwait:
   * drops expired leases and moves as many parked messages as there are free slots to the queue
   * head; looks again at the key's earliest lease expiry while some wait. Returns ms until the next
   * key is due, -1 when none waits.
   */
  static final Script PROMOTE = new Script(NOW + KeyLimiter.TO_HEAD + """
      local max, lease, prefix = tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3]
      local due = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now, 'LIMIT', 0, 20)
      for _, k in ipairs(due) do
        local sk, wk = prefix .. 'slots:' .. k, prefix .. 'wait:' .. k
        redis.call('ZREMRANGEBYSCORE', sk, '-inf', now)
        local free = max - redis.call('ZCARD', sk)
        if free > 0 then toHead(wk, KEYS[1], free) end
        if redis.call('LLEN', wk) > 0 then
          local first = redis.call('ZRANGE', sk, 0, 0, 'WITHSCORES')
          redis.call('ZADD', KEYS[2], first[2] and tonumber(first[2]) or (now + lease), k)
        else
          redis.call('ZREM', KEYS[2], k)
        end
      end
      local next = redis.call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')
      if #next == 0 then return -1 end
      return math.max(0, tonumber(next[2]) - now)
      """);

  /** KEYS[1] slotwait (routes the call to the list's slot); ARGV lease ms, key prefix, then (key, member) pairs. */
  static final Script RENEW = new Script(NOW + """
      local lease, prefix = tonumber(ARGV[1]), ARGV[2]
      for i = 3, #ARGV, 2 do
        local sk = prefix .. 'slots:' .. ARGV[i]
        if redis.call('ZADD', sk, 'XX', 'CH', now + lease, ARGV[i + 1]) > 0 then redis.call('PEXPIRE', sk, lease * 2) end
      end
      return 0
      """);

  /** KEYS[1] queue, KEYS[2] slotwait; ARGV max, key prefix, then (key, member) pairs. */
  static final Script RELEASE_ALL = new Script(RELEASE_LUA + NOW + """
      local max, prefix = tonumber(ARGV[1]), ARGV[2]
      for i = 3, #ARGV, 2 do release(prefix, KEYS[1], KEYS[2], ARGV[i], ARGV[i + 1], max, now) end
      return 0
      """);

  private final int max;
  private final byte[] maxBytes;
  private final byte[] lease;
  private final byte[] prefix;
  private final byte[] slotwait;

  public KeySlots(String listName, int max, long leaseMillis) {
    this.max = max;
    this.maxBytes = KeyLimiter.ascii(max);
    this.lease = KeyLimiter.ascii(leaseMillis);
    this.prefix = Keys.derived(listName, "").getBytes(StandardCharsets.UTF_8); // the list's own prefix, as every derived key
    this.slotwait = slotwaitKey(listName).getBytes(StandardCharsets.UTF_8);
  }

  /** {@code {name}:slotwait}: the keys with parked messages, by when to look at them again. */
  public static String slotwaitKey(String listName) {
    return Keys.derived(listName, "slotwait");
  }

  /**
   * What a settlement appends to its op so that SETTLE releases the slot: {@code <max>\n<member>\n<key>}
   * (the key last: it may hold any byte).
   */
  public byte[] releaseSpec(byte[] key, byte[] member) {
    byte[] out = new byte[maxBytes.length + member.length + key.length + 2];
    int i = 0;
    System.arraycopy(maxBytes, 0, out, i, maxBytes.length);
    i += maxBytes.length;
    out[i++] = '\n';
    System.arraycopy(member, 0, out, i, member.length);
    i += member.length;
    out[i++] = '\n';
    System.arraycopy(key, 0, out, i, key.length);
    return out;
  }

  /** For each (key, raw, member): whether it holds a slot now (true) or was parked (false). */
  public boolean[] admit(RedisClusterCommands<byte[], byte[]> redis, byte[] processingKey, List<byte[]> keys,
      List<byte[]> raws, List<byte[]> members) {
    List<byte[]> args = new ArrayList<>(3 + keys.size() * 3);
    args.add(maxBytes);
    args.add(lease);
    args.add(prefix);
    for (int i = 0; i < keys.size(); i++) {
      args.add(keys.get(i));
      args.add(raws.get(i));
      args.add(members.get(i));
    }
    return KeyLimiter.admitted(ADMIT.call(redis, ScriptOutputType.MULTI, new byte[][] {processingKey, slotwait},
        args.toArray(new byte[0][])));
  }

  /** Moves parked messages of keys with free (or expired) slots back to the queue head; ms until the next key is due, or -1. */
  public long promote(RedisClusterCommands<byte[], byte[]> redis, byte[] queueKey) {
    Long next = PROMOTE.call(redis, ScriptOutputType.INTEGER, new byte[][] {queueKey, slotwait}, maxBytes, lease, prefix);
    return next == null ? -1 : next;
  }

  /** Pushes the leases of these (key, member) pairs forward by the lease time; released ones stay released. */
  public CompletionStage<Long> renew(RedisClusterAsyncCommands<byte[], byte[]> redis, List<byte[]> keysAndMembers) {
    byte[][] args = new byte[2 + keysAndMembers.size()][];
    args[0] = lease;
    args[1] = prefix;
    for (int i = 0; i < keysAndMembers.size(); i++) {
      args[2 + i] = keysAndMembers.get(i);
    }
    return RENEW.call(redis, ScriptOutputType.INTEGER, new byte[][] {slotwait}, args);
  }

  /** Releases these (key, member) pairs (a consumer's stop), waking one parked message per freed slot. */
  public void releaseAll(RedisClusterCommands<byte[], byte[]> redis, byte[] queueKey, List<byte[]> keysAndMembers) {
    byte[][] args = new byte[2 + keysAndMembers.size()][];
    args[0] = maxBytes;
    args[1] = prefix;
    for (int i = 0; i < keysAndMembers.size(); i++) {
      args[2 + i] = keysAndMembers.get(i);
    }
    RELEASE_ALL.call(redis, ScriptOutputType.INTEGER, new byte[][] {queueKey, slotwait}, args);
  }

  public int max() {
    return max;
  }
}
