package dev.brook.redis.internal.stream;

import dev.brook.BrookException;
import dev.brook.internal.WarnLimit;
import dev.brook.redis.StreamDestination;
import dev.brook.redis.internal.Keys;
import dev.brook.redis.internal.RedisConnections;
import dev.brook.redis.internal.RedisContext;
import dev.brook.redis.internal.RedisErrors;
import dev.brook.redis.internal.Script;
import dev.brook.spi.Transport;
import io.lettuce.core.Consumer;
import io.lettuce.core.RedisCommandExecutionException;
import io.lettuce.core.ScriptOutputType;
import io.lettuce.core.XAutoClaimArgs;
import io.lettuce.core.XGroupCreateArgs;
import io.lettuce.core.XReadArgs;
import io.lettuce.core.cluster.api.sync.RedisClusterCommands;
import io.lettuce.core.models.stream.ClaimedMessages;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A consumer-group subscription on a partitioned stream ({@link StreamDestination#partitions}): one
 * member of the group, which holds the leases of its share of the partitions and reads each with a
 * {@link StreamConsumer} of its own (the subscription's sink, the member's consumer name), started
 * when it gets a lease and stopped when it gives one up. No coordinator: the members agree through
 * Redis.
 *
 * <p><b>Keys</b> (stream {@code orders}, group {@code g}): the member set {@code
 * {orders}:members:g}, a sorted set of member name → expiry (Redis' {@code TIME}, ms); the lease of
 * partition i {@code {orders:i}:lease:g}, a string holding the owner's name and instance ({@code
 * <member>#<random>}) with a TTL. Each lease shares its partition's slot, so every script below
 * touches one slot. The instance part keeps a subscription that replaces another under the same
 * member name (REPLACE, a restart) from taking the old one's leases as its own while the old one may
 * still hold entries: it takes each partition once the old one has released it (or its lease expired).
 *
 * <p><b>Protocol.</b> Every third of the lease time the transport's timer thread ({@code
 * brook-timer}, asynchronous, never blocking) re-registers the member ({@link #MEMBERS}: drops
 * expired members, adds this one with expiry now + lease time, returns the live ones) and renews each
 * lease it holds ({@link #RENEW}: PEXPIRE if still the owner). The member's own virtual thread
 * ({@code brook-partitions:<stream>}) then balances: with m live members sorted by name, the
 * member at index k is due ⌊n ÷ m⌋ partitions, one more when k &lt; n mod m; it gives up what it holds
 * beyond that and takes free partitions ({@link #ACQUIRE}: SET NX PX) up to it. Taking one, it first
 * moves every pending entry of the partition's group to itself ({@code XAUTOCLAIM … 0 JUSTID}, which
 * does not count an attempt: a crashed or departed owner's entries, and what a stopping one gave
 * back), then starts the partition's consumer, which claims its own pending entries first.
 *
 * <p><b>Never two readers.</b> A partition is given up by stopping its consumer, waiting until every
 * entry it delivered is settled in Redis ({@link StreamConsumer#awaitDelivered}, while the lease is
 * still renewed), and only then deleting the lease ({@link #RELEASE}, only if still the owner).
 * Should a renewal find the lease taken or be unconfirmed until shortly before the lease would
 * expire (Redis unreachable, a long pause), the member stops that partition's consumer at once.
 * A crashed member renews nothing: its leases expire after the lease time and another member takes
 * the partitions over with their pending entries.
 *
 * <p>Stop and close: {@link #stop()} stops every partition's consumer (no new leases); after the
 * subscription's drain, {@link #afterDrain()} lets each consumer finish, deletes each lease and
 * removes the member, so the others rebalance at once.
 */
final class PartitionedConsumer implements Transport.Consumer {

  private static final Logger LOG = LoggerFactory.getLogger("dev.brook.redis.Stream");

  /**
   * KEYS[1] the member set; ARGV: member, lease ms, 1 to join/renew or 0 to leave. Returns the live
   * members (expiry in the future).
   */
  static final Script MEMBERS = new Script("""
      local t = redis.call('TIME')
      local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
      local lease = tonumber(ARGV[2])
      redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
      if ARGV[3] == '1' then
        redis.call('ZADD', KEYS[1], now + lease, ARGV[1])
        redis.call('PEXPIRE', KEYS[1], lease * 2)
      else
        redis.call('ZREM', KEYS[1], ARGV[1])
      end
      return redis.call('ZRANGE', KEYS[1], 0, -1)
      """);

  /** KEYS[1] a lease; ARGV: member, lease ms. 1 when the member holds it now (it was free, or its own). */
  static final Script ACQUIRE = new Script("""
      local owner = redis.call('GET', KEYS[1])
      if not owner then
        redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
        return 1
      end
      if owner == ARGV[1] then
        redis.call('PEXPIRE', KEYS[1], ARGV[2])
        return 1
      end
      return 0
      """);

  /** KEYS[1] a lease; ARGV: member, lease ms. 1 when renewed, 0 when another member (or nobody) holds it. */
  static final Script RENEW = new Script("""
      if redis.call('GET', KEYS[1]) == ARGV[1] then
        redis.call('PEXPIRE', KEYS[1], ARGV[2])
        return 1
      end
      return 0
      """);

  /** KEYS[1] a lease; ARGV[1] member. Deletes it only if the member holds it. */
  static final Script RELEASE = new Script("""
      if redis.call('GET', KEYS[1]) == ARGV[1] then
        return redis.call('DEL', KEYS[1])
      end
      return 0
      """);

  private enum State { FREE, HELD, RELEASING }

  /** One partition as this member sees it. State and consumer are changed under {@link #lock}. */
  private static final class Slot {
    final int index;
    final StreamDestination partition;
    final byte[] key;
    final byte[] leaseKey;
    volatile State state = State.FREE;
    StreamConsumer consumer;
    /** Until when (System.nanoTime) the lease is ours for sure: the send time of its last confirmed renewal + lease. */
    volatile long validUntil;
    /** A renewal found the lease held by another member (or gone). */
    volatile boolean lost;
    /** A failed start is tried again only after this (nanoTime). */
    long retryAfter;
    Thread finisher;

    Slot(int index, StreamDestination partition, String leaseKey) {
      this.index = index;
      this.partition = partition;
      this.key = bytes(partition.name());
      this.leaseKey = bytes(leaseKey);
    }
  }

  private final RedisContext context;
  private final RedisConnections connections;
  private final StreamDestination stream;
  private final String subscriptionId;
  private final Transport.Sink sink;
  /** This member's name: the group consumer name the stream would have unpartitioned. */
  private final String member;
  private final byte[] memberBytes;
  /** What this instance writes into the leases it holds: the member name and a random instance token. */
  private final byte[] leaseOwner;
  private final byte[] membersKey;
  private final long leaseMillis;
  private final long renewMillis;
  private final Slot[] slots;
  /** Guards the slots' state changes; held across Redis calls (taking a partition), never on an I/O thread. */
  private final ReentrantLock lock = new ReentrantLock();
  /**
   * Only for waking the member's thread: renewal replies wake it on Lettuce's I/O thread, which must
   * never wait for {@link #lock} (its holder may be waiting for a reply that thread delivers).
   */
  private final ReentrantLock signal = new ReentrantLock();
  private final Condition woken = signal.newCondition();
  private final WarnLimit warnings = WarnLimit.perMinute(WarnLimit.DECODE_WARNINGS_PER_MINUTE);
  /** Guarded by {@link #signal}. */
  private boolean wakeUp;
  /** Between start and stop: partitions are taken and read. */
  private volatile boolean consuming;
  /** Between start and afterDrain: leases are renewed and the member registered. */
  private volatile boolean renewing;
  /** The live members as the last registration returned them, sorted. */
  private volatile List<String> members = List.of();
  private volatile boolean renewalFailing;
  private Thread coordinator;
  private ScheduledFuture<?> renewal;

  PartitionedConsumer(RedisContext context, StreamDestination stream, String subscriptionId, Transport.Sink sink) {
    this.context = context;
    this.connections = context.connections();
    this.stream = stream;
    this.subscriptionId = subscriptionId;
    this.sink = sink;
    String explicit = stream.consumerName().equals(dev.brook.redis.Redis.defaultConsumerName()) ? null
        : stream.consumerName();
    this.member = context.consumerNames().name(explicit, stream.key(), subscriptionId);
    this.memberBytes = bytes(member);
    this.leaseOwner = bytes(member + "#" + Long.toHexString(java.util.concurrent.ThreadLocalRandom.current().nextLong()));
    this.membersKey = bytes(membersKey(stream));
    this.leaseMillis = stream.leaseDuration().toMillis();
    this.renewMillis = Math.max(50, leaseMillis / 3);
    this.slots = new Slot[stream.partitionCount()];
    for (int i = 0; i < slots.length; i++) {
      slots[i] = new Slot(i, stream.partition(i), leaseKey(stream, i));
    }
  }

  /** {@code {orders}:members:<group>}. */
  static String membersKey(StreamDestination stream) {
    return Keys.derived(stream.name(), "members:" + stream.groupName());
  }

  /** {@code {orders:i}:lease:<group>}. */
  static String leaseKey(StreamDestination stream, int partition) {
    return Keys.derived(stream.partitionKey(partition), "lease:" + stream.groupName());
  }

  /** The partitions fair for the member at {@code index} of {@code size} live members: ⌊n ÷ size⌋, one more for the first n mod size. */
  static int fairShare(int partitions, int index, int size) {
    return partitions / size + (index < partitions % size ? 1 : 0);
  }

  // ---- lifecycle ----------------------------------------------------------------------------

  @Override
  public void start() {
    context.consumerNames().claim(stream.name() + "/" + stream.groupName(), member, subscriptionId);
    boolean started = false;
    try {
      if (stream.declares()) {
        createGroups();
      }
      members = sorted(register(true));
      consuming = true;
      renewing = true;
      renewal = connections.timer().scheduleAtFixedRate(this::renew, renewMillis, renewMillis, TimeUnit.MILLISECONDS);
      balance(); // the first share at once, so a lone member reads from the moment start returns
      coordinator = Thread.ofVirtual().name("brook-partitions:" + stream.name()).start(this::run);
      started = true;
    } finally {
      if (!started) {
        consuming = false;
        renewing = false;
        ScheduledFuture<?> r = renewal;
        if (r != null) {
          r.cancel(false);
        }
        for (Slot slot : slots) {
          if (slot.state == State.HELD) {
            slot.consumer.stop();
            slot.consumer.afterDrain();
            releaseLease(slot);
            slot.state = State.FREE;
          }
        }
        try {
          register(false);
        } catch (RuntimeException e) {
          LOG.debug("Could not leave the members of {}", stream.key(), e);
        }
        context.consumerNames().release(stream.name() + "/" + stream.groupName(), member, subscriptionId);
      }
    }
  }

  /**
   * XGROUP CREATE … MKSTREAM on every partition, so the group sees every entry published after the
   * start returns, whichever member takes the partition later.
   */
  private void createGroups() {
    RedisClusterCommands<byte[], byte[]> redis = connections.syncCommands();
    for (Slot slot : slots) {
      try {
        redis.xgroupCreate(XReadArgs.StreamOffset.from(slot.key, stream.startId()), bytes(stream.groupName()),
            XGroupCreateArgs.Builder.mkstream(true));
      } catch (RedisCommandExecutionException e) {
        if (!(RedisErrors.translate(e) instanceof RedisErrors.BusyGroup)) {
          throw new BrookException("Cannot create consumer group '" + stream.groupName() + "' on partition "
              + slot.partition.name() + " of stream '" + stream.name() + "': Redis says " + e.getMessage()
              + ". The subscription was not started.", e);
        }
      }
    }
  }

  @Override
  public void stop() {
    consuming = false;
    List<StreamConsumer> stopping = new ArrayList<>();
    lock.lock();
    try {
      for (Slot slot : slots) {
        if (slot.state == State.HELD) {
          stopping.add(slot.consumer);
        }
      }
    } finally {
      lock.unlock();
    }
    stopAll(stopping);
    wake();
  }

  /** Stops consumers in parallel: each may wait a moment for its blocked read to end. */
  private static void stopAll(List<StreamConsumer> consumers) {
    if (consumers.size() == 1) {
      consumers.get(0).stop();
      return;
    }
    List<Thread> threads = new ArrayList<>(consumers.size());
    for (StreamConsumer c : consumers) {
      threads.add(Thread.ofVirtual().name("brook-stop:" + c.streamName()).start(c::stop));
    }
    for (Thread t : threads) {
      try {
        t.join();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      }
    }
  }

  /**
   * The subscription has settled or given back everything: each partition's consumer waits for
   * Redis to confirm its settlements, then its lease is deleted; partitions being handed over finish
   * that; then the member leaves and the renewals end.
   */
  @Override
  public void afterDrain() {
    List<Slot> held = new ArrayList<>();
    List<Thread> finishers = new ArrayList<>();
    lock.lock();
    try {
      for (Slot slot : slots) {
        if (slot.state == State.HELD) {
          held.add(slot);
        } else if (slot.state == State.RELEASING && slot.finisher != null) {
          finishers.add(slot.finisher);
        }
      }
    } finally {
      lock.unlock();
    }
    for (Slot slot : held) {
      slot.consumer.afterDrain();
      releaseLease(slot);
      lock.lock();
      try {
        slot.consumer = null;
        slot.state = State.FREE;
      } finally {
        lock.unlock();
      }
    }
    long deadline = System.nanoTime() + context.options().commandTimeout().toNanos() * 3;
    for (Thread t : finishers) {
      try {
        t.join(Duration.ofNanos(Math.max(1, deadline - System.nanoTime())));
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        break;
      }
    }
    renewing = false;
    ScheduledFuture<?> r = renewal;
    renewal = null;
    if (r != null) {
      r.cancel(false);
    }
    wake();
    Thread c = coordinator;
    coordinator = null;
    if (c != null && c != Thread.currentThread()) {
      try {
        c.join(Duration.ofSeconds(10));
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
    try {
      register(false);
    } catch (RuntimeException e) {
      LOG.debug("Could not leave the members of {}; the entry expires after {}", stream.key(), stream.leaseDuration(), e);
    }
    context.consumerNames().release(stream.name() + "/" + stream.groupName(), member, subscriptionId);
  }

  /** The newest read of any partition held; now while it holds none (an idle member is not stuck). */
  @Override
  public long lastPoll() {
    long last = 0;
    boolean any = false;
    for (Slot slot : slots) {
      StreamConsumer c = slot.consumer;
      if (slot.state == State.HELD && c != null) {
        any = true;
        last = Math.max(last, c.lastPoll());
      }
    }
    return any ? last : System.currentTimeMillis();
  }

  /** The partitions this member reads now, for tests and log lines. */
  List<Integer> held() {
    List<Integer> out = new ArrayList<>();
    for (Slot slot : slots) {
      if (slot.state == State.HELD) {
        out.add(slot.index);
      }
    }
    return out;
  }

  // ---- the member's thread ------------------------------------------------------------------

  private void run() {
    while (renewing) {
      signal.lock();
      try {
        if (!wakeUp && renewing) {
          woken.await(renewMillis, TimeUnit.MILLISECONDS);
        }
        wakeUp = false;
      } catch (InterruptedException e) {
        return;
      } finally {
        signal.unlock();
      }
      if (!renewing) {
        return;
      }
      try {
        balance();
      } catch (RuntimeException e) {
        warn("Balancing the partitions of " + stream.key() + " failed: " + e, e);
      }
    }
  }

  private void wake() {
    signal.lock();
    try {
      wakeUp = true;
      woken.signalAll();
    } finally {
      signal.unlock();
    }
  }

  /** Gives up lost and expiring leases, then partitions beyond the fair share, then takes free ones up to it. */
  private void balance() {
    long now = System.nanoTime();
    // A lease is given up a sixth of the lease time before it would expire unrenewed.
    long margin = TimeUnit.MILLISECONDS.toNanos(leaseMillis / 6);
    for (Slot slot : slots) {
      if (slot.state == State.HELD && (slot.lost || now - (slot.validUntil - margin) > 0)) {
        LOG.warn("Partition {} of {}: {}; stopping its consumer at once (another member may take it over).",
            slot.partition.name(), stream.key(), slot.lost ? "another member holds its lease now"
                : "the lease could not be renewed for " + stream.leaseDuration().minusMillis(leaseMillis / 6));
        beginRelease(slot);
      }
    }
    if (!consuming) {
      return;
    }
    List<String> live = members;
    int index = live.indexOf(member);
    if (index < 0) {
      List<String> withMe = new ArrayList<>(live);
      withMe.add(member);
      live = sorted(withMe);
      index = live.indexOf(member);
    }
    int target = fairShare(slots.length, index, live.size());
    int held = 0;
    for (Slot slot : slots) {
      if (slot.state == State.HELD) {
        held++;
      }
    }
    if (held > target) {
      // Give up the highest-numbered first: each member keeps a stable, contiguous-ish share.
      for (int i = slots.length - 1; i >= 0 && held > target; i--) {
        if (slots[i].state == State.HELD) {
          beginRelease(slots[i]);
          held--;
        }
      }
      return;
    }
    if (held < target) {
      int offset = (int) ((long) index * slots.length / live.size());
      for (int j = 0; j < slots.length && held < target && consuming; j++) {
        Slot slot = slots[(offset + j) % slots.length];
        if (slot.state == State.FREE && now - slot.retryAfter >= 0 && acquire(slot)) {
          held++;
        }
      }
    }
  }

  /** Takes the partition's lease if free, its pending entries, and starts its consumer; false when someone else holds it. */
  private boolean acquire(Slot slot) {
    RedisClusterCommands<byte[], byte[]> redis = connections.syncCommands();
    long sent = System.nanoTime();
    Long got = ACQUIRE.call(redis, ScriptOutputType.INTEGER, new byte[][] {slot.leaseKey}, leaseOwner,
        bytes(Long.toString(leaseMillis)));
    if (got == null || got != 1L) {
      return false;
    }
    slot.validUntil = sent + TimeUnit.MILLISECONDS.toNanos(leaseMillis);
    slot.lost = false;
    lock.lock();
    try {
      if (!consuming) {
        releaseLease(slot);
        return false;
      }
      if (stream.atLeastOnce()) {
        takeOverPending(redis, slot);
      }
      StreamConsumer consumer = new StreamConsumer(context, slot.partition, subscriptionId, sink, member, null, null);
      consumer.start();
      slot.consumer = consumer;
      slot.state = State.HELD;
      LOG.debug("Member {} of {} took partition {}", member, stream.key(), slot.partition.name());
      return true;
    } catch (RuntimeException e) {
      slot.retryAfter = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(leaseMillis);
      warn("Could not start reading partition " + slot.partition.name() + " of " + stream.key() + ": " + e.getMessage()
          + "; giving its lease up and trying again in " + stream.leaseDuration(), e);
      releaseLease(slot);
      return false;
    } finally {
      lock.unlock();
    }
  }

  /**
   * Moves every pending entry of the partition's group to this member without counting an attempt
   * ({@code XAUTOCLAIM … 0 JUSTID}): the previous owner is gone (its lease expired) or gave the
   * partition up after settling what it could, so whatever is pending there is nobody's now; the
   * partition's consumer then claims them as its own pending entries (counting the attempt).
   */
  private void takeOverPending(RedisClusterCommands<byte[], byte[]> redis, Slot slot) {
    Consumer<byte[]> me = Consumer.from(bytes(stream.groupName()), memberBytes);
    String cursor = "0-0";
    try {
      do {
        ClaimedMessages<byte[], byte[]> claimed = redis.xautoclaim(slot.key,
            XAutoClaimArgs.Builder.justid(me, 0, cursor).count(1_000));
        cursor = claimed.getId();
      } while (cursor != null && !"0-0".equals(cursor));
    } catch (RedisCommandExecutionException e) {
      Throwable t = RedisErrors.translate(e);
      if (!(t instanceof RedisErrors.NoGroup) && !String.valueOf(e.getMessage()).contains("no such key")) {
        throw e;
      }
      // No group (declare(false) before the operator made it) or no stream yet: nothing pending.
    }
  }

  /**
   * Stops the partition's consumer now; a thread of its own then waits until what it delivered is
   * settled, lets it finish and deletes the lease, which stays renewed meanwhile.
   */
  private void beginRelease(Slot slot) {
    StreamConsumer consumer;
    lock.lock();
    try {
      if (slot.state != State.HELD) {
        return;
      }
      slot.state = State.RELEASING;
      consumer = slot.consumer;
    } finally {
      lock.unlock();
    }
    consumer.stop();
    // What it fetched and no handler started goes back now (pending, attempt undone), so the next
    // owner gets it first instead of this member handling its whole buffer before letting go.
    sink.withdraw(m -> m instanceof StreamInbound e && e.from(consumer));
    slot.finisher = Thread.ofVirtual().name("brook-partition-release:" + slot.partition.name()).start(() -> {
      try {
        while (!consumer.awaitDelivered(System.nanoTime() + TimeUnit.SECONDS.toNanos(30))) {
          LOG.warn("Partition {} of {} waits for {} entr{} its handlers still hold before another member may take it.",
              slot.partition.name(), stream.key(), consumer.unsettled(), consumer.unsettled() == 1 ? "y" : "ies");
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      consumer.afterDrain();
      releaseLease(slot);
      lock.lock();
      try {
        slot.consumer = null;
        slot.finisher = null;
        slot.state = State.FREE;
      } finally {
        lock.unlock();
      }
      LOG.debug("Member {} of {} gave up partition {}", member, stream.key(), slot.partition.name());
      wake();
    });
  }

  private void releaseLease(Slot slot) {
    try {
      RELEASE.call(connections.syncCommands(), ScriptOutputType.INTEGER, new byte[][] {slot.leaseKey}, leaseOwner);
    } catch (RuntimeException e) {
      warn("Could not delete the lease of partition " + slot.partition.name() + " of " + stream.key() + ": " + e
          + "; it expires after " + stream.leaseDuration(), e);
    }
  }

  // ---- renewals, on the transport's timer thread (never blocking) ----------------------------

  private List<String> register(boolean join) {
    List<Object> live = MEMBERS.call(connections.syncCommands(), ScriptOutputType.MULTI, new byte[][] {membersKey},
        memberBytes, bytes(Long.toString(leaseMillis)), bytes(join ? "1" : "0"));
    return names(live);
  }

  private void renew() {
    if (!renewing) {
      return;
    }
    try {
      long sent = System.nanoTime();
      byte[] lease = bytes(Long.toString(leaseMillis));
      MEMBERS.<List<Object>>call(connections.commands(), ScriptOutputType.MULTI, new byte[][] {membersKey}, memberBytes,
          lease, bytes("1")).whenComplete((live, e) -> {
            if (e != null) {
              renewFailed(e);
              return;
            }
            List<String> now = sorted(names(live));
            boolean changed = !now.equals(members);
            members = now;
            if (changed) {
              wake();
            }
          });
      for (Slot slot : slots) {
        State state = slot.state;
        if (state == State.FREE) {
          continue;
        }
        RENEW.<Long>call(connections.commands(), ScriptOutputType.INTEGER, new byte[][] {slot.leaseKey}, leaseOwner,
            lease).whenComplete((ok, e) -> {
              if (e != null) {
                renewFailed(e);
              } else if (ok != null && ok == 1L) {
                slot.validUntil = Math.max(slot.validUntil, sent + TimeUnit.MILLISECONDS.toNanos(leaseMillis));
                if (renewalFailing) {
                  renewalFailing = false;
                  LOG.info("The leases of {} on {} are renewed again.", member, stream.key());
                }
              } else if (slot.state == State.HELD) {
                slot.lost = true;
                wake();
              }
            });
      }
    } catch (RuntimeException e) {
      renewFailed(e); // never out of the timer task: that would end the schedule
    }
  }

  private void renewFailed(Throwable e) {
    renewalFailing = true;
    warn("Could not renew the leases of member " + member + " on " + stream.key() + ": " + e + ". Unrenewed for "
        + stream.leaseDuration() + ", they expire and other members take the partitions over.", e);
  }

  private void warn(String message, Throwable e) {
    long suppressed = warnings.acquire();
    if (suppressed > 0) {
      LOG.warn("{} more warnings about the partitions of {} in the last minute (logged at DEBUG only).", suppressed,
          stream.key());
    }
    if (suppressed >= 0) {
      LOG.warn(message);
    } else {
      LOG.debug(message, e);
    }
  }

  private static List<String> names(List<Object> values) {
    List<String> out = new ArrayList<>(values.size());
    for (Object o : values) {
      out.add(o instanceof byte[] b ? new String(b, StandardCharsets.UTF_8) : String.valueOf(o));
    }
    return out;
  }

  private static List<String> sorted(List<String> names) {
    List<String> copy = new ArrayList<>(names);
    copy.sort(null);
    return List.copyOf(copy);
  }

  // ---- without a group ----------------------------------------------------------------------

  /** A reader without a group on a partitioned stream: one {@link StreamConsumer} per partition, all read. */
  static Transport.Consumer readers(RedisContext context, StreamDestination stream, String subscriptionId,
      Transport.Sink sink) {
    List<StreamConsumer> all = new ArrayList<>(stream.partitionCount());
    for (int i = 0; i < stream.partitionCount(); i++) {
      all.add(new StreamConsumer(context, stream.partition(i), subscriptionId, sink));
    }
    return new Transport.Consumer() {
      @Override
      public void start() {
        List<StreamConsumer> started = new ArrayList<>();
        try {
          for (StreamConsumer c : all) {
            c.start();
            started.add(c);
          }
        } catch (RuntimeException e) {
          stopAll(started);
          throw e;
        }
      }

      @Override
      public void stop() {
        stopAll(all);
      }

      @Override
      public void afterDrain() {
        all.forEach(StreamConsumer::afterDrain);
      }

      @Override
      public long lastPoll() {
        long last = 0;
        for (StreamConsumer c : all) {
          last = Math.max(last, c.lastPoll());
        }
        return last;
      }
    };
  }

  private static byte[] bytes(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }
}
