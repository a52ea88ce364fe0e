package dev.brook.redis.internal;

import dev.brook.Destination;
import dev.brook.PublishOptions;
import dev.brook.PublishResult;
import io.lettuce.core.ScriptOutputType;
import io.lettuce.core.cluster.api.async.RedisClusterAsyncCommands;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Delayed publishes and deduplication for Lists and Streams, and the promotion of due messages,
 * which the consumers of the destination run themselves (no scheduler process).
 *
 * <p>A delayed message waits in the sorted set {@code {name}:delayed} (the destination's hash
 * tag: same slot on a cluster) with its due time in epoch milliseconds as the score. Its member is a
 * 16-byte prefix — a counter of this JVM, then 8 random bytes fixed per JVM — followed by the
 * envelope: members never collide (the same payload twice is two members) and those of one
 * publisher due in the same millisecond sort in publish order (FIFO). A delay is added to the
 * server's clock ({@code TIME} inside the script), so publishers' clocks do not matter; an instant
 * ({@code PublishOptions.at}) is compared with it as given.
 *
 * <p>A dedup key is {@code {name}:dedup:<key>}, set with {@code SET NX PX ttl} in the same script as
 * the write, so the check and the write are one step: a second publish within the ttl writes
 * nothing and answers {@link PublishResult#DUPLICATE}.
 *
 * <p>{@link #PROMOTE} moves up to a limit of due members to the destination (RPUSH, or XADD with the
 * stream's MAXLEN) and removes them in one atomic script: each one is promoted once however many
 * consumers run it. It answers how many it moved and how many milliseconds remain until the next
 * due member (-1: none), which a consumer uses to bound its next blocking read.
 */
public final class Delayed {

  private Delayed() {}

  /** The prefix length of a member: 8 bytes of counter, 8 of this JVM's random id. */
  public static final int PREFIX = 16;

  private static final AtomicLong SEQUENCE = new AtomicLong(System.currentTimeMillis() * 1000);
  private static final long JVM_ID = new SecureRandom().nextLong();

  /** {@code {name}:delayed}. */
  public static String key(String destinationName) {
    return Keys.derived(destinationName, "delayed");
  }

  /** {@code {name}:dedup:<key>}. */
  public static String dedupKey(String destinationName, String key) {
    return Keys.derived(destinationName, "dedup:" + key);
  }

  /** A member for the delayed set: a new unique, ordered prefix and the value. */
  public static byte[] member(byte[] value) {
    ByteBuffer b = ByteBuffer.allocate(PREFIX + value.length);
    b.putLong(SEQUENCE.incrementAndGet()).putLong(JVM_ID).put(value);
    return b.array();
  }

  /** The value of a member. */
  public static byte[] value(byte[] member) {
    return java.util.Arrays.copyOfRange(member, PREFIX, member.length);
  }

  /**
   * KEYS: destination, delayed set, [dedup key]. ARGV: mode ('n' now, 'd' delay ms, 'a' at ms), ms,
   * value or member, dedup ttl ms (or ''), kind ('l' list, 's' stream), stream maxlen. A delay or an
   * instant already passed writes the value at once (ARGV[3] then is a member: its prefix is cut).
   */
  static final Script PUBLISH = new Script("""
      if KEYS[3] then
        if not redis.call('SET', KEYS[3], '1', 'NX', 'PX', ARGV[4]) then return 0 end
      end
      local mode, v = ARGV[1], ARGV[3]
      if mode ~= 'n' then
        local t = redis.call('TIME')
        local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
        local due = tonumber(ARGV[2])
        if mode == 'd' then due = now + due end
        -- Already due, but due members still wait (scores up to now, not only up to this due time:
        -- an instant long past would otherwise sort ahead of them): queue behind them at now.
        if due <= now and #redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now, 'LIMIT', 0, 1) > 0 then due = now + 0.5 end
        if due > now then
          redis.call('ZADD', KEYS[2], due, v)
          -- The new earliest: consumers blocked in a read wake to bound it by its due time.
          if redis.call('ZRANGE', KEYS[2], 0, 0)[1] == v then redis.call('SPUBLISH', KEYS[2], due) end
          return 1
        end
        v = string.sub(v, 17)
      end
      if ARGV[5] == 'l' then redis.call('RPUSH', KEYS[1], v)
      elseif tonumber(ARGV[6]) > 0 then redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[6], '*', '__data__', v)
      else redis.call('XADD', KEYS[1], '*', '__data__', v) end
      return 1""");

  /**
   * The one move of a delayed member to its destination, shared by {@link #PROMOTE} and {@link
   * #PROMOTE_ONE}: the value after the member's prefix, RPUSHed to a list ({@code kind} 'l') or
   * XADDed to a stream (with MAXLEN ~ {@code max} when positive). KEYS[2] is the destination.
   */
  private static final String MOVE = """
      local function move(member, kind, max)
        local v = string.sub(member, 17)
        if kind == 'l' then redis.call('RPUSH', KEYS[2], v)
        elseif max > 0 then redis.call('XADD', KEYS[2], 'MAXLEN', '~', max, '*', '__data__', v)
        else redis.call('XADD', KEYS[2], '*', '__data__', v) end
      end
      """;

  /**
   * KEYS: delayed set, destination. ARGV: kind ('l', 's'), limit, stream maxlen, [due ms, member]...:
   * moves up to the limit of due members to the destination in due order, removes them; answers
   * {moved, ms until the next due member or -1}. Pairs after ARGV[3] are first added to the set (a
   * retry: the settlement that put it there is the caller's).
   */
  public static final Script PROMOTE = new Script(MOVE + """
      local t = redis.call('TIME')
      local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
      local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, tonumber(ARGV[2]))
      for i = 1, #due do move(due[i], ARGV[1], tonumber(ARGV[3])) end
      if #due > 0 then redis.call('ZREM', KEYS[1], unpack(due)) end
      local nxt = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
      if #nxt == 0 then return {#due, -1} end
      local wait = tonumber(nxt[2]) - now
      if wait < 0 then wait = 0 end
      return {#due, wait}""");

  /**
   * KEYS: delayed set, destination. ARGV: kind ('l', 's'), stream maxlen, due ms, member prefix (16
   * bytes): moves the member with that due time (in whole ms: its score may be half a ms more) and prefix to the destination now, due or not (the
   * console's "promote now"), and removes it, in one step; answers 1, or 0 when it is gone (promoted
   * or moved meanwhile).
   */
  public static final Script PROMOTE_ONE = new Script(MOVE + """
      -- the due time in whole ms: a job queued behind due ones has a score of that ms + 0.5 (see PUBLISH)
      local same = redis.call('ZRANGEBYSCORE', KEYS[1], ARGV[3], '(' .. string.format('%.0f', tonumber(ARGV[3]) + 1))
      for i = 1, #same do
        if string.sub(same[i], 1, 16) == ARGV[4] then
          move(same[i], ARGV[1], tonumber(ARGV[2]))
          redis.call('ZREM', KEYS[1], same[i])
          return 1
        end
      end
      return 0""");

  /**
   * Runs {@link #PROMOTE_ONE}: the delayed member of {@code name} due at {@code dueMillis} whose
   * member starts with {@code prefix} goes to the destination now. False when it is no longer there.
   */
  public static boolean promoteNow(io.lettuce.core.cluster.api.sync.RedisClusterCommands<byte[], byte[]> redis,
      String name, char kind, long maxLen, long dueMillis, byte[] prefix) {
    if (prefix.length != PREFIX) {
      throw new IllegalArgumentException("A delayed member's prefix has " + PREFIX + " bytes, not " + prefix.length + ".");
    }
    Long moved = PROMOTE_ONE.call(redis, ScriptOutputType.INTEGER, new byte[][] {bytes(key(name)), bytes(name)},
        bytes(String.valueOf(kind)), bytes(Long.toString(Math.max(0, maxLen))), bytes(Long.toString(dueMillis)), prefix);
    return moved != null && moved == 1L;
  }

  /**
   * Wakes a consumer when a delayed publish becomes the earliest member of the set: the publish
   * script SPUBLISHes on a sharded channel named as the set (channels and keys are apart; the same
   * slot on a cluster), which the consumers subscribe to through the transport's sharded hub.
   *
   * @param shards the transport's sharded-channel kind
   * @return a consumer to start with the read loop and stop with it
   */
  public static dev.brook.spi.Transport.Consumer wakeOn(RedisKind<dev.brook.redis.ShardChannelDestination> shards,
      String destinationName, String subscriptionId, Runnable onWake) {
    return shards.consumer(dev.brook.redis.Redis.shardChannel(key(destinationName)), subscriptionId,
        new dev.brook.spi.Transport.Sink() {
          @Override
          public void accept(dev.brook.spi.Inbound message) {
            onWake.run();
          }

          @Override
          public boolean awaitCapacity(int n) {
            return true;
          }

          @Override
          public int room() {
            return Integer.MAX_VALUE;
          }
        });
  }

  /**
   * The local consumers of each destination of one kind, so a delayed publish from this transport
   * wakes them at once ({@link Wake#seen}), before they subscribe to the wake-ups of other
   * publishers. Thread-safe.
   */
  public static final class Local {
    private final java.util.concurrent.ConcurrentHashMap<String, java.util.Set<Wake>> byName =
        new java.util.concurrent.ConcurrentHashMap<>();

    void add(String name, Wake wake) {
      byName.computeIfAbsent(name, k -> java.util.concurrent.ConcurrentHashMap.newKeySet()).add(wake);
    }

    void remove(String name, Wake wake) {
      byName.computeIfPresent(name, (k, set) -> {
        set.remove(wake);
        return set.isEmpty() ? null : set;
      });
    }

    /** A delayed message was published to {@code name} from this process. */
    public void published(String name) {
      java.util.Set<Wake> wakes = byName.get(name);
      if (wakes != null) {
        for (Wake w : wakes) {
          w.seen();
        }
      }
    }
  }

  /**
   * A consumer's wake-up. A consumer subscribes to the wake-ups of its destination's delayed set
   * ({@link #wakeOn}) once it has seen the set in use — a promotion found members, or a delayed
   * publish of this process — so a broker that never delays holds no connection more. On a
   * wake-up it makes the next round promote and ends the read in progress ({@code CLIENT UNBLOCK
   * ... TIMEOUT}, which a read answers as "nothing yet"). Before the subscription (or when it
   * failed) another process's first delayed message is found at the end of the current blocking read.
   */
  public static final class Wake {
    private volatile RedisKind<dev.brook.redis.ShardChannelDestination> shards;
    private final Local local;
    private final String destinationName;
    private final String subscriptionId;
    private final Promotion promotion;
    private final RedisConnections connections;
    private volatile RedisConnections.Blocked blocked;
    private volatile boolean running;
    private volatile boolean wanted;
    /** Loop thread (subscribe) and stopping thread (unsubscribe). */
    private dev.brook.spi.Transport.Consumer consumer;

    public Wake(RedisKind<dev.brook.redis.ShardChannelDestination> shards, Local local, String destinationName,
        String subscriptionId, Promotion promotion, RedisConnections connections) {
      this.shards = shards;
      this.local = local;
      this.destinationName = destinationName;
      this.subscriptionId = subscriptionId;
      this.promotion = promotion;
      this.connections = connections;
    }

    /** The consumer starts; {@code blocked} is its read connection (null: unknown, no unblock). */
    public void start(RedisConnections.Blocked blocked) {
      this.blocked = blocked;
      running = true;
      if (local != null) {
        local.add(destinationName, this);
      }
    }

    /** The read connection's id changed (after a reconnect, on another node). */
    public void blocked(RedisConnections.Blocked blocked) {
      this.blocked = blocked;
    }

    /** The wake-up at the next due time, replaced by each promotion; cancelled by {@link #stop}. */
    private final java.util.concurrent.atomic.AtomicReference<java.util.concurrent.ScheduledFuture<?>> dueTimer =
        new java.util.concurrent.atomic.AtomicReference<>();

    /**
     * After a promotion (loop thread): subscribes once the delayed set was seen in use, and wakes
     * the read at the next due time. The read is bounded by that time too, but Redis ends a timed
     * out blocking read only when its event loop turns: at once while other clients send commands,
     * yet up to 1/hz late on an idle server (100 ms at the default hz 10; measured by
     * benchmarks/jobs.sh, docs/benchmarks.md), so our own timer ends it instead.
     */
    public void promoted(List<Long> answer) {
      if (answer.get(0) > 0 || answer.get(1) >= 0) {
        wanted = true;
      }
      if (wanted && consumer == null && running && shards != null) {
        subscribe();
      }
      long wait = answer.get(1);
      java.util.concurrent.ScheduledFuture<?> next = null;
      if (running && blocked != null && wait > 0 && wait < promotion.idleNanos / 1_000_000L) {
        try {
          next = connections.timer().schedule(this::seen, wait, java.util.concurrent.TimeUnit.MILLISECONDS);
        } catch (RuntimeException closed) {
          // the broker is closing: nothing left to wake
        }
      }
      java.util.concurrent.ScheduledFuture<?> previous = dueTimer.getAndSet(next);
      if (previous != null) {
        previous.cancel(false);
      }
      if (!running && next != null) { // stop() ran meanwhile and may have missed it
        next.cancel(false);
      }
    }

    private synchronized void subscribe() {
      if (consumer != null || !running) {
        return;
      }
      try {
        dev.brook.spi.Transport.Consumer c = wakeOn(shards, destinationName, subscriptionId, this::seen);
        c.start();
        consumer = c;
      } catch (RuntimeException e) {
        shards = null;
        org.slf4j.LoggerFactory.getLogger(Delayed.class).warn("Cannot subscribe to the wake-ups of {}'s delayed "
            + "messages ({}); a new one is found at the end of the current blocking read instead.", destinationName,
            e.toString());
      }
    }

    /** A delayed message may be due sooner than known: promote before the next read, ending the current one. */
    public void seen() {
      wanted = true;
      unblockUntilNoticed(promotion.changed(), 0);
    }

    /**
     * Ends the consumer's blocking read so it promotes before reading again. CLIENT UNBLOCK goes on
     * another connection than the read, so it can reach Redis just before a read the loop had already
     * sized with the old due time (Redis answers 0: nothing blocked); then it is sent again, every 10
     * ms for at most 200 ms, until a promotion has begun since the change.
     */
    private void unblockUntilNoticed(long change, int tries) {
      RedisConnections.Blocked b = blocked;
      if (b == null || !running || promotion.noticed(change)) {
        return;
      }
      connections.unblock(b).whenComplete((n, e) -> {
        if (e == null && n != null && n == 0L && tries < 20 && running && !promotion.noticed(change)) {
          try {
            connections.timer().schedule(() -> unblockUntilNoticed(change, tries + 1), 10,
                java.util.concurrent.TimeUnit.MILLISECONDS);
          } catch (RuntimeException closed) {
            // the broker is closing: nothing left to wake
          }
        }
      });
    }

    /** Unsubscribes; idempotent. */
    public synchronized void stop() {
      running = false;
      java.util.concurrent.ScheduledFuture<?> timer = dueTimer.getAndSet(null);
      if (timer != null) {
        timer.cancel(false);
      }
      if (local != null) {
        local.remove(destinationName, this);
      }
      dev.brook.spi.Transport.Consumer c = consumer;
      consumer = null;
      if (c != null) {
        c.stop();
      }
    }
  }

  /** How many due members one promotion moves at most (the rest in the next round, at once). */
  public static final int PROMOTE_LIMIT = 500;

  /**
   * Publishes one message with options to a List ({@code kind} 'l') or Stream ('s') named {@code
   * name}: one script, so the dedup check and the write are atomic.
   */
  public static CompletableFuture<PublishResult> publish(RedisProducer producer, Local local, Destination destination,
      String name, char kind, long maxLen, byte[] value, PublishOptions options) {
    byte[] destinationKey = bytes(name);
    byte[] delayedKey = bytes(key(name));
    byte[][] keys = options.dedupKey() == null ? new byte[][] {destinationKey, delayedKey}
        : new byte[][] {destinationKey, delayedKey, bytes(dedupKey(name, options.dedupKey()))};
    String mode;
    long ms;
    if (options.at() != null) {
      mode = "a";
      ms = options.at().toEpochMilli();
    } else if (options.delay() != null) {
      // A delay of zero (or less) too: it publishes at once only when no due job still waits in the
      // delayed set, which the script decides; as "now" it would pass them.
      mode = "d";
      ms = Math.max(0, options.delay().toMillis());
    } else {
      mode = "n";
      ms = 0;
    }
    byte[] v = mode.equals("n") ? value : member(value);
    String ttl = options.dedupTtl() == null ? "" : Long.toString(options.dedupTtl().toMillis());
    RedisClusterAsyncCommands<byte[], byte[]> redis = producer.commands();
    CompletionStage<Long> sent = PUBLISH.call(redis, ScriptOutputType.INTEGER, keys, bytes(mode), bytes(Long.toString(ms)),
        v, bytes(ttl), bytes(String.valueOf(kind)), bytes(Long.toString(Math.max(0, maxLen))));
    CompletableFuture<Long> answered = sent.toCompletableFuture();
    return producer.published(destination, answered).thenApply(ok -> {
      if (answered.join() != 1L) {
        return PublishResult.DUPLICATE;
      }
      if (!mode.equals("n")) {
        local.published(name);
      }
      return PublishResult.PUBLISHED;
    });
  }

  /**
   * Runs {@link #PROMOTE} for a destination; the future completes with {moved, ms until next due or -1}.
   */
  public static CompletionStage<List<Long>> promote(RedisClusterAsyncCommands<byte[], byte[]> redis, String name,
      char kind, long maxLen) {
    return PROMOTE.call(redis, ScriptOutputType.MULTI, new byte[][] {bytes(key(name)), bytes(name)},
        bytes(String.valueOf(kind)), bytes(Integer.toString(PROMOTE_LIMIT)), bytes(Long.toString(Math.max(0, maxLen))));
  }

  /** {@link #promote} on a synchronous connection. */
  public static List<Long> promote(io.lettuce.core.cluster.api.sync.RedisClusterCommands<byte[], byte[]> redis,
      String name, char kind, long maxLen) {
    return PROMOTE.call(redis, ScriptOutputType.MULTI, new byte[][] {bytes(key(name)), bytes(name)},
        bytes(String.valueOf(kind)), bytes(Integer.toString(PROMOTE_LIMIT)), bytes(Long.toString(Math.max(0, maxLen))));
  }

  /**
   * The consumer side: when to look at the delayed set next, from the answer of a promotion. Holds
   * the time on the consumer's {@link Timing}; {@link #changed} (any thread) makes the next round look.
   */
  public static final class Promotion {
    private final Timing timing;
    private final long idleNanos;
    private volatile long nextNanos;
    /** Counts {@link #changed} calls: a change during a promotion must not be overwritten by its answer. */
    private final java.util.concurrent.atomic.AtomicLong changes = new java.util.concurrent.atomic.AtomicLong();

    /** @param idleNanos how long to go without looking when no member is known: one blocking read */
    public Promotion(Timing timing, long idleNanos) {
      this.timing = timing;
      this.idleNanos = idleNanos;
      this.nextNanos = timing.nanoTime();
    }

    /** Whether a promotion is due now. */
    public boolean due() {
      return timing.nanoTime() - nextNanos >= 0;
    }

    /** The {@link #changes} count when the latest promotion began (-1 before the first). */
    private volatile long lastMark = -1;

    /** Taken before a promotion and given to {@link #promoted}. */
    public long mark() {
      long mark = changes.get();
      lastMark = mark;
      return mark;
    }

    /** Whether a promotion began after change number {@code change} ({@link #changed}'s return). */
    public boolean noticed(long change) {
      return lastMark >= change;
    }

    /**
     * Records the answer {moved, ms until next due or -1} of a promotion begun at {@code mark}; a
     * wake-up that came meanwhile (its member may be missing from the answer) keeps the next
     * promotion due at once.
     */
    public void promoted(List<Long> answer, long mark) {
      long now = timing.nanoTime();
      long wait = answer.get(1);
      long next = answer.get(0) >= PROMOTE_LIMIT ? now
          : now + (wait < 0 ? idleNanos : Math.min(idleNanos, wait * 1_000_000L));
      nextNanos = next;
      if (changes.get() != mark) {
        nextNanos = now;
      }
    }

    /** {@code blockMillis}, or less when a delayed member is due sooner (at least 1). */
    public long blockMillis(long blockMillis) {
      long left = (nextNanos - timing.nanoTime()) / 1_000_000L;
      return Math.max(1, Math.min(blockMillis, left + 1));
    }

    /** A delayed publish may be due sooner than known: look before the next read. */
    public long changed() {
      long change = changes.incrementAndGet();
      nextNanos = timing.nanoTime();
      return change;
    }
  }

  private static byte[] bytes(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }
}
