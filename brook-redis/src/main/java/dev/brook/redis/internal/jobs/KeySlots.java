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
 * <p>The scripts are written once over a parking's functions ({@link KeyLimiter#LIST_PARKING}, or a
 * Stream group's in {@code internal.stream.StreamParking}); a Stream group's slots are leased for
 * its {@code minIdle} and renewed by its consumer's claim timer.
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
   * key and wakes one parked message of the key when a slot is free ({@code wakeOne} of the
   * parking, see {@link KeyLimiter#LIST_PARKING}); {@code releaseSpec(queue, slotwait, spec, now)}
   * does it for a {@link #releaseSpec} ({@code <prefix>slotwait} gives the prefix). Part of the
   * settlement scripts too (a settlement and the release of its slot are one step).
   */
  public static final String RELEASE_LUA = """
      local function release(prefix, queue, slotwait, k, m, max, now)
        local sk = prefix .. 'slots:' .. k
        redis.call('ZREM', sk, m)
        if parked(prefix, k) == 0 then return end
        redis.call('ZREMRANGEBYSCORE', sk, '-inf', now)
        if redis.call('ZCARD', sk) < max then wakeOne(prefix, queue, slotwait, k, now) end
      end
      local function releaseSpec(queue, slotwait, spec, now)
        local a = string.find(spec, '\\n', 1, true)
        local b = string.find(spec, '\\n', a + 1, true)
        release(string.sub(slotwait, 1, #slotwait - 8), queue, slotwait, string.sub(spec, b + 1),
          string.sub(spec, a + 1, b - 1), tonumber(string.sub(spec, 1, a - 1)), now)
      end
      """;

  /**
   * After a parking's functions: KEYS[1] processing list (or stream), KEYS[2] slotwait; ARGV max,
   * lease ms, key prefix, the parking's two values, then (key, item, member) triples: 1 holds a slot
   * now, 0 parked, 2 gone (not ours any more) each.
   */
  public static final String ADMIT_BODY = NOW + """
      local max, lease, prefix = tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3]
      local out = {}
      for i = 6, #ARGV, 3 do
        local k, item, m = ARGV[i], ARGV[i + 1], ARGV[i + 2]
        local sk = prefix .. 'slots:' .. k
        redis.call('ZREMRANGEBYSCORE', sk, '-inf', now)
        if redis.call('ZCARD', sk) < max then
          redis.call('ZADD', sk, now + lease, m)
          redis.call('PEXPIRE', sk, lease * 2)
          out[#out + 1] = 1
        else
          -- not parked when no longer ours (a List's message recovered by another consumer meanwhile, a
          -- Stream's entry acknowledged, deleted or taken over): the other has it
          local parkedNow = park(prefix, k, item)
          -- looked at again when the first lease ends either way: that drops the slots nobody renews (a
          -- release lost with a Redis restart) rather than leaving the key to its expiry
          local first = redis.call('ZRANGE', sk, 0, 0, 'WITHSCORES')
          redis.call('ZADD', KEYS[2], 'LT', tonumber(first[2]), k)
          if parkedNow then out[#out + 1] = 0 else out[#out + 1] = 2 end
        end
      end
      return out
      """;

  /**
   * After a parking's functions: KEYS[1] queue (or stream), KEYS[2] slotwait; ARGV max, lease ms,
   * key prefix, the parking's two values. For the keys due in slotwait: drops expired leases and
   * wakes as many parked messages as there are free slots; looks again at the key's earliest lease
   * expiry while some wait. Leaves {@code nextDue}: ms until the next key is due, -1 when none waits.
   */
  public static final String PROMOTE_BODY = NOW + """
      local max, lease, prefix = tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3]
      local due = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now, 'LIMIT', 0, 20)
      for _, k in ipairs(due) do
        local sk = prefix .. 'slots:' .. k
        redis.call('ZREMRANGEBYSCORE', sk, '-inf', now)
        local free = max - redis.call('ZCARD', sk)
        local left
        if free > 0 then left = wake(prefix, k, free) else left = parked(prefix, k) end
        if left > 0 then
          local first = redis.call('ZRANGE', sk, 0, 0, 'WITHSCORES')
          redis.call('ZADD', KEYS[2], first[2] and tonumber(first[2]) or (now + lease), k)
        elseif left == 0 then
          redis.call('ZREM', KEYS[2], k)
        end
      end
      local nextDue = -1
      local first = redis.call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')
      if #first > 0 then nextDue = math.max(0, tonumber(first[2]) - now) end
      """;

  /** KEYS[1] slotwait (routes the call to the list's slot); ARGV lease ms, key prefix, then (key, member) pairs. */
  static final Script RENEW = new Script(NOW + """
      local lease, prefix = tonumber(ARGV[1]), ARGV[2]
      for i = 3, #ARGV, 2 do
        local sk = prefix .. 'slots:' .. ARGV[i]
        if redis.call('ZADD', sk, 'XX', 'CH', now + lease, ARGV[i + 1]) > 0 then redis.call('PEXPIRE', sk, lease * 2) end
      end
      return 0
      """);

  /** After a parking's functions: KEYS[1] queue (or stream), KEYS[2] slotwait; ARGV max, (unused), key prefix, the parking's two values, then (key, member) pairs. */
  public static final String RELEASE_ALL_BODY = RELEASE_LUA + NOW + """
      local max, prefix = tonumber(ARGV[1]), ARGV[3]
      for i = 6, #ARGV, 2 do release(prefix, KEYS[1], KEYS[2], ARGV[i], ARGV[i + 1], max, now) end
      return 0
      """;

  private static final Script LIST_ADMIT = new Script(KeyLimiter.LIST_PARKING + ADMIT_BODY);
  private static final Script LIST_PROMOTE = new Script(KeyLimiter.LIST_PARKING + PROMOTE_BODY + "return {nextDue}\n");
  private static final Script LIST_RELEASE_ALL = new Script(KeyLimiter.LIST_PARKING + RELEASE_ALL_BODY);

  private final int max;
  private final byte[] maxBytes;
  private final byte[] lease;
  private final byte[] prefix;
  private final byte[] slotwait;
  private final Script admit;
  private final Script promote;
  private final Script releaseAll;

  /** A List's per-key concurrency: keys under the list's own prefix {@code {name}:}. */
  public KeySlots(String listName, int max, long leaseMillis) {
    this(Keys.derived(listName, ""), max, leaseMillis, LIST_ADMIT, LIST_PROMOTE, LIST_RELEASE_ALL);
  }

  /**
   * @param prefix every key's prefix ({@code <prefix>slots:<key>}, {@code <prefix>slotwait}), with the queue's hash tag
   * @param admit {@link #ADMIT_BODY}, {@code promote} {@link #PROMOTE_BODY} (answering {@code {nextDue, ...}}) and
   *     {@code releaseAll} {@link #RELEASE_ALL_BODY}, each after the same parking's functions
   */
  public KeySlots(String prefix, int max, long leaseMillis, Script admit, Script promote, Script releaseAll) {
    this.max = max;
    this.maxBytes = KeyLimiter.ascii(max);
    this.lease = KeyLimiter.ascii(leaseMillis);
    this.prefix = prefix.getBytes(StandardCharsets.UTF_8);
    this.slotwait = (prefix + "slotwait").getBytes(StandardCharsets.UTF_8);
    this.admit = admit;
    this.promote = promote;
    this.releaseAll = releaseAll;
  }

  /** {@code {name}:slotwait}: the keys with parked messages, by when to look at them again. */
  public static String slotwaitKey(String listName) {
    return Keys.derived(listName, "slotwait");
  }

  /** {@code <prefix>slotwait}. */
  public byte[] slotwaitKey() {
    return slotwait;
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

  /** For each (key, raw, member) of a List: whether it holds a slot now (true) or was parked (false). */
  public boolean[] admit(RedisClusterCommands<byte[], byte[]> redis, byte[] processingKey, List<byte[]> keys,
      List<byte[]> raws, List<byte[]> members) {
    int[] out = admit(redis, processingKey, KeyLimiter.EMPTY, KeyLimiter.EMPTY, keys, raws, members);
    boolean[] admitted = new boolean[out.length];
    for (int i = 0; i < out.length; i++) {
      admitted[i] = out[i] == 1;
    }
    return admitted;
  }

  /** For each (key, item, member): 1 holds a slot now, 0 parked, 2 gone (see {@link #ADMIT_BODY}). */
  public int[] admit(RedisClusterCommands<byte[], byte[]> redis, byte[] key1, byte[] ctx1, byte[] ctx2, List<byte[]> keys,
      List<byte[]> items, List<byte[]> members) {
    List<byte[]> args = new ArrayList<>(5 + keys.size() * 3);
    args.add(maxBytes);
    args.add(lease);
    args.add(prefix);
    args.add(ctx1);
    args.add(ctx2);
    for (int i = 0; i < keys.size(); i++) {
      args.add(keys.get(i));
      args.add(items.get(i));
      args.add(members.get(i));
    }
    return KeyLimiter.codes(admit.call(redis, ScriptOutputType.MULTI, new byte[][] {key1, slotwait},
        args.toArray(new byte[0][])));
  }

  /** Moves parked messages of keys with free (or expired) slots back to the queue head; ms until the next key is due, or -1. */
  public long promote(RedisClusterCommands<byte[], byte[]> redis, byte[] queueKey) {
    return KeyLimiter.nextDue(promote(redis, queueKey, KeyLimiter.EMPTY, KeyLimiter.EMPTY, 0));
  }

  /** The promotion's answer: {@code {nextDue, what the parking's wake returns...}}. */
  public List<Object> promote(RedisClusterCommands<byte[], byte[]> redis, byte[] key1, byte[] ctx1, byte[] ctx2, int room) {
    return promote.call(redis, ScriptOutputType.MULTI, new byte[][] {key1, slotwait}, maxBytes, lease, prefix, ctx1, ctx2,
        KeyLimiter.ascii(room));
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

  /** Releases these (key, member) pairs of a List (a consumer's stop), waking one parked message per freed slot. */
  public void releaseAll(RedisClusterCommands<byte[], byte[]> redis, byte[] queueKey, List<byte[]> keysAndMembers) {
    releaseAll(redis, queueKey, KeyLimiter.EMPTY, KeyLimiter.EMPTY, keysAndMembers);
  }

  /** Releases these (key, member) pairs, waking one parked message per freed slot. */
  public void releaseAll(RedisClusterCommands<byte[], byte[]> redis, byte[] key1, byte[] ctx1, byte[] ctx2,
      List<byte[]> keysAndMembers) {
    byte[][] args = new byte[5 + keysAndMembers.size()][];
    args[0] = maxBytes;
    args[1] = KeyLimiter.EMPTY;
    args[2] = prefix;
    args[3] = ctx1;
    args[4] = ctx2;
    for (int i = 0; i < keysAndMembers.size(); i++) {
      args[5 + i] = keysAndMembers.get(i);
    }
    releaseAll.call(redis, ScriptOutputType.INTEGER, new byte[][] {key1, slotwait}, args);
  }

  public int max() {
    return max;
  }
}
