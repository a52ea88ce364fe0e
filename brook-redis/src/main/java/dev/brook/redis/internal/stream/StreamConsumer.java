package dev.brook.redis.internal.stream;

import dev.brook.spi.Inbound;
import dev.brook.spi.Transport;
import dev.brook.internal.WarnLimit;
import dev.brook.redis.StreamDestination;
import dev.brook.redis.internal.Backoffs;
import dev.brook.redis.internal.ConsumeLoop;
import dev.brook.redis.internal.DeadLetter;
import dev.brook.redis.internal.RedisConnections;
import dev.brook.redis.internal.RedisContext;
import dev.brook.redis.internal.RedisErrors;
import dev.brook.redis.internal.Settler;
import io.lettuce.core.Consumer;
import io.lettuce.core.Limit;
import io.lettuce.core.Range;
import io.lettuce.core.RedisCommandExecutionException;
import io.lettuce.core.ScriptOutputType;
import io.lettuce.core.StreamMessage;
import io.lettuce.core.XGroupCreateArgs;
import io.lettuce.core.XPendingArgs;
import io.lettuce.core.XReadArgs;
import io.lettuce.core.cluster.api.sync.RedisClusterCommands;
import io.lettuce.core.models.stream.PendingMessage;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reads one Stream for one subscription, on its own connection and virtual thread ({@code
 * brook-stream:<name>}).
 *
 * <p>With a group: creates the group when missing (MKSTREAM; never with declare(false), which
 * reports a missing group and backs off until an operator creates it), hands out its own pending entries
 * first (a restart, or a replacement, with the same consumer name), then new ones ({@code >},
 * blocking). Every half {@code minIdle} (at most every 2 s) it also takes over entries of other
 * consumers idle longer than {@code minIdle} — while it keeps reading new entries. NOGROUP (the
 * stream was deleted, or Redis restarted without persistence) recreates the group and goes on,
 * with back-off and one WARN per episode.
 *
 * <p>Delivery counts count handler attempts: Redis' counter of a pending entry is what {@link
 * Inbound#deliveryCount()} reports. A new entry ({@code >}) is attempt 1; a pending entry read
 * again is claimed with XCLAIM (attempt n+1), never re-read with {@code XREADGROUP … 0}, which
 * would count entries this consumer still holds; an entry given back unstarted ({@link
 * Inbound#release()}: buffered at a stop, or interrupted at the graceful deadline) has its counter
 * set back ({@code XCLAIM … RETRYCOUNT n-1 IDLE minIdle JUSTID}), and is idle at once, so another
 * live consumer may take it if this one does not come back. {@code maxDeliveries(n)}: the n-th
 * failure (nack) dead-letters the entry at once; a pending entry found with n attempts and no
 * settlement (its consumer crashed mid-handler n times) is dead-lettered instead of delivered.
 *
 * <p>Nack: the entry stays pending for this consumer, which claims it again after a back-off ({@link
 * StreamRetries}: 100 ms doubling per attempt, at most 2 s) — not after {@code minIdle}, which is
 * only for taking over the entries of a consumer that is gone.
 *
 * <p>Settlement (ack, dead letter, give back) goes through a {@link Settler}: one script per batch
 * on the shared connection (one multi-id XACK, plus XDEL with {@code deleteOnAck}; a dead letter
 * is XADD to {@code {s}:dlq} and XACK in one script), retried until Redis confirms it. The loop
 * stops fetching while too many settlements are unconfirmed. A stop ends a blocked read with
 * {@code CLIENT UNBLOCK}, so no read is cut off with its entries on the way, and before the
 * consumer's name is given up (a replacement takes it over) it waits until Redis confirmed every
 * settlement, so the replacement never delivers again what this one acknowledged while draining.
 *
 * <p>Without a group: XREAD from the latest entry (or {@code startFrom}), at-most-once.
 *
 * <p>The loop fetches no more than the subscription has room for; entries of one read are handed
 * over together ({@link Transport.Sink#acceptAll}).
 *
 * <p>Faults: when the connection drops while Redis hands us entries (XREADGROUP ran, its reply was
 * lost), those entries are pending for this consumer without our knowing. After every reconnect of
 * its connection, and after a failed read, the loop reads its own pending entries again from the
 * start and delivers those it does not hold ({@code inFlight}), instead of leaving them to a
 * takeover after {@code minIdle}.
 */
final class StreamConsumer extends ConsumeLoop {

  private static final Logger LOG = LoggerFactory.getLogger("dev.brook.redis.Stream");
  private static final int MAX_FETCH = 100;
  private static final int LAST_ERRORS = 10_000;
  /** Settlements per script call. */
  private static final int SETTLE_BATCH = 1_000;
  /** The loop does not fetch while more settlements than this wait for Redis' confirmation. */
  private static final int MAX_UNCONFIRMED = 5_000;
  /** While entries are out, a blocking read waits at most this, so a nacked one is retried on time. */
  private static final long BUSY_BLOCK_MILLIS = 100;

  /** One settlement for the {@link Settler}: 'a'ck, 'd'ead letter (with its value) or 'r'elease. */
  private record Settlement(char op, String id, long attempt, byte[] value) {}

  private final RedisContext context;
  private final RedisConnections connections;
  private final StreamDestination stream;
  private final String subscriptionId;
  /** This consumer's name in the group (see ConsumerNames). */
  private final String consumerName;
  private final Transport.Sink sink;
  private final byte[] key;
  private final byte[] group;
  private final Consumer<byte[]> me;
  private final long blockMillis;
  /** When to look at the delayed set next ({@link dev.brook.redis.internal.Delayed}). */
  private final dev.brook.redis.internal.Delayed.Promotion promotion;
  private final long claimEveryMillis;
  private final Duration commandTimeout;
  /** Why an entry was last nacked here, for its dead-letter headers (bounded). */
  private final Map<String, String> lastErrors = new ConcurrentHashMap<>();
  /** At most 10 WARN lines a minute for dead letters; the rest at DEBUG, with a count. */
  private final WarnLimit deadLetterWarnings = WarnLimit.perMinute(WarnLimit.DECODE_WARNINGS_PER_MINUTE);
  private final Settler<Settlement> settler;

  /**
   * Group mode: ids handed to the subscription, or being dead-lettered, and not yet settled in Redis
   * (confirmed), nacked or given back. The loop never delivers one of these again.
   */
  private final Set<String> inFlight = ConcurrentHashMap.newKeySet();
  /** Nacked entries waiting for their retry. */
  private final StreamRetries retries;
  /**
   * On {@code brook-timer} while the consumer runs (groups that settle): every {@code
   * claimEveryMillis} (at most half of minIdle) the entries waiting in {@link #retries} have their
   * idle time reset in Redis ({@link StreamScripts#TOUCH}), so another consumer's takeover does not
   * take one before its back-off passed. Null when stopped.
   */
  private java.util.concurrent.ScheduledFuture<?> touching;
  private final Object touchLock = new Object();
  /** More settlements than MAX_UNCONFIRMED wait for Redis: the loop waits (one instance, no allocation per round). */
  private final java.util.function.BooleanSupplier tooManyUnconfirmed;
  /** True until the own pending entries found at start were read (those are expected, not orphans). */
  private boolean firstPendingRead = true;
  /** Where the dedicated connection reads and its CLIENT ID there (asked again after a reconnect or failure), for CLIENT UNBLOCK; null unknown. */
  private volatile RedisConnections.Blocked clientId;
  /** CLIENT UNBLOCK was refused: a stop closes the connection instead. */
  private volatile boolean unblockFailed;
  /** Set while the loop waits for room in the subscription: a stop interrupts that wait. */
  private volatile boolean waitingForRoom;
  private RedisConnections.Dedicated connection;
  private RedisClusterCommands<byte[], byte[]> redis;
  /** Cluster: the failover watch of the stream's slot (blocking reads then go async, to be cancelled); null on one node. */
  private RedisConnections.MasterWatch masterWatch;
  /** Cluster: the blocking read in flight, for {@link #masterFailedOver}; null between reads. */
  private volatile java.util.concurrent.CompletableFuture<?> reading;
  /** Cluster: set when a failover ended the read in flight: where the slot went, for the log line. */
  private volatile String failedOverTo;
  /** {@code rateLimit}: the shared token bucket, or null. */
  private final dev.brook.redis.internal.jobs.RateLimiter limiter;
  /** Loop thread only: tokens of this round (MAX_VALUE without a rate limit) and messages delivered in it. */
  private int tokens = Integer.MAX_VALUE;
  /** {@code {events}:done}: message ids completed by an idempotent subscription. */
  private final byte[] doneKey;
  /** {@code idempotent(ttl)} in ms (group subscriptions that acknowledge), or null. */
  private final Long idempotentTtl;
  private int delivered;
  // The loop's position, on its thread. Group mode: the last own pending id looked at (null: from
  // the start), whether they were all read, the takeover's cursor, when the next takeover is due,
  // whether clientId is current. Without a group: the id read up to.
  private String ownCursor;
  private boolean ownPendingDone;
  private String claimCursor;
  private long nextClaimNanos;
  private boolean knowsClientId;
  private String lastId;

  /** Hears of a new earliest delayed message and ends the blocking read for it. */
  private final dev.brook.redis.internal.Delayed.Wake wake;

  // Per-key limits (group subscriptions that settle; see StreamParking).
  /** How a message's key is found; null without a per-key limit. */
  private final dev.brook.redis.internal.jobs.KeyFunction keyOf;
  /** {@code rateLimitPerKey}: per-key buckets, parked entries woken when a token is due; or null. */
  private final dev.brook.redis.internal.jobs.KeyLimiter keyLimiter;
  /** {@code concurrencyPerKey}: per-key leased slots, parked entries woken by a release; or null. */
  private final dev.brook.redis.internal.jobs.KeySlots keySlots;
  /** {@code concurrencyPerKey}: entry ids holding a slot (running, or nacked and waiting), until their settlement is confirmed. */
  private final Map<String, Slot> held = new ConcurrentHashMap<>();
  /** Key and member pairs of admissions whose reply never came: released at the stop, as {@link #held}. */
  private final List<byte[]> maybeHolding = java.util.Collections.synchronizedList(new ArrayList<>());
  /** Slot members are {@code <instance>:<n>}: unique per run. */
  private final String slotInstance = Long.toHexString(java.util.concurrent.ThreadLocalRandom.current().nextLong());
  private long slotSeq;
  /** Loop thread: ms until the next parked key is due (from the last promotion), -1 when none waits. */
  private long parkedDue = -1;
  /** A settlement released a slot that a parked entry may take: the loop promotes without blocking long. */
  private volatile boolean parkedWoken;

  /** The slot an entry holds, and what its settlement sends to release it. */
  private record Slot(byte[] key, byte[] member, byte[] spec) {}

  /** A consumer with no wake-up for delayed messages (it still promotes them before each read). */
  StreamConsumer(RedisContext context, StreamDestination stream, String subscriptionId, Transport.Sink sink) {
    this(context, stream, subscriptionId, sink, null, null, null);
  }

  /**
   * @param memberName the consumer's name in the group, or null to derive it ({@code ConsumerNames});
   *     a partition's consumer is given its partitioned stream's member name
   * @param shards the shard channel kind the wake-up for delayed messages subscribes with; null for none
   * @param local this broker's delayed publishes, which wake its consumers at once; null for none
   */
  StreamConsumer(RedisContext context, StreamDestination stream, String subscriptionId, Transport.Sink sink,
      String memberName, dev.brook.redis.internal.RedisKind<dev.brook.redis.ShardChannelDestination> shards,
      dev.brook.redis.internal.Delayed.Local local) {
    super(LOG, context.timing(), Backoffs.RETRY, stream.key());
    Duration commandTimeout = context.options().commandTimeout();
    this.context = context;
    this.connections = context.connections();
    this.stream = stream;
    this.doneKey = bytes(dev.brook.redis.internal.Keys.derived(stream.name(), "done"));
    this.idempotentTtl = stream.idempotentTtl() != null && stream.groupName() != null && !stream.noAcks()
        ? stream.idempotentTtl().toMillis() : null;
    this.limiter = stream.rateLimitCount() > 0
        ? new dev.brook.redis.internal.jobs.RateLimiter(stream.name(), stream.rateLimitCount(), stream.rateLimitPeriod().toMillis())
        : null;
    this.subscriptionId = subscriptionId;
    this.sink = sink;
    this.commandTimeout = commandTimeout;
    this.key = bytes(stream.name());
    this.group = stream.groupName() == null ? null : bytes(stream.groupName());
    String explicit = stream.consumerName().equals(dev.brook.redis.Redis.defaultConsumerName()) ? null : stream.consumerName();
    this.consumerName = memberName != null ? memberName
        : context.consumerNames().name(explicit, stream.key(), subscriptionId);
    this.me = group == null ? null : Consumer.from(group, bytes(consumerName));
    this.claimEveryMillis = Math.max(50, Math.min(2_000, stream.minIdleTime().toMillis() / 2));
    long block = Math.min(2_000, commandTimeout.toMillis() / 2);
    Duration poll = stream.pollIntervalTime();
    this.blockMillis = poll != null ? Math.max(1, poll.toMillis())
        : Math.max(10, group == null ? block : Math.min(block, claimEveryMillis));
    this.settler = group == null ? null : new Settler<>("settlements of " + stream.key(), SETTLE_BATCH, this::send,
        this::confirmed, this::abandoned, context.timing());
    this.retries = new StreamRetries(context.timing(), Backoffs.STREAM_NACK);
    this.promotion = new dev.brook.redis.internal.Delayed.Promotion(context.timing(),
        TimeUnit.MILLISECONDS.toNanos(blockMillis));
    this.wake = new dev.brook.redis.internal.Delayed.Wake(shards, local, stream.name(), subscriptionId, promotion,
        context.connections());
    if (settler != null) {
      // Woken when a settlement stops counting as outstanding, not only when it is confirmed (the
      // count falls after that): a consumer waiting for settlements would otherwise wait out the
      // poll interval of that wait.
      settler.afterDone(this::wake);
    }
    this.tooManyUnconfirmed = () -> settler.outstanding() >= MAX_UNCONFIRMED;
    this.keyOf = stream.perKey() == null || !settles() ? null
        : new dev.brook.redis.internal.jobs.KeyFunction(stream.perKey(), LOG, stream.key());
    String prefix = group == null ? null : StreamParking.prefix(stream.name(), stream.groupName());
    this.keyLimiter = keyOf == null || stream.rateLimitPerKeyCount() == 0 ? null
        : new dev.brook.redis.internal.jobs.KeyLimiter(prefix, stream.rateLimitPerKeyCount(),
            stream.rateLimitPerKeyPeriod().toMillis(), StreamParking.RATE_ADMIT, StreamParking.RATE_PROMOTE);
    // A slot's lease: renewed every claimEveryMillis while held; a crashed consumer's slots free
    // themselves when its entries may be taken over (minIdle).
    this.keySlots = keyOf == null || stream.concurrencyPerKeyCount() == 0 ? null
        : new dev.brook.redis.internal.jobs.KeySlots(prefix, stream.concurrencyPerKeyCount(),
            Math.max(stream.minIdleTime().toMillis(), 3 * claimEveryMillis), StreamParking.SLOTS_ADMIT,
            StreamParking.SLOTS_PROMOTE, StreamParking.SLOTS_RELEASE_ALL);
  }

  String streamName() {
    return stream.name();
  }

  boolean grouped() {
    return group != null;
  }

  /** A group that keeps pending entries (not {@code noAck()}): its entries are settled. */
  boolean settles() {
    return group != null && !stream.noAcks();
  }

  /** When a missing group (declare(false)) may be reported again; one ERROR a minute. */
  private long nextMissingGroupReport = Long.MIN_VALUE;

  /** The missing group (or stream), an ERROR at most once a minute: what is missing and the fix. */
  private void reportMissingGroup() {
    long now = timing.nanoTime();
    if (nextMissingGroupReport != Long.MIN_VALUE && now - nextMissingGroupReport < 0) {
      LOG.debug("Consumer group '{}' of stream {} is still missing", stream.groupName(), stream.name());
      return;
    }
    nextMissingGroupReport = now + TimeUnit.MINUTES.toNanos(1);
    LOG.error(missingGroup(stream, subscriptionId));
  }

  /** Warns (once per start) about options that mean nothing without a group, as FastStream does. */
  static void warnGroupOnly(StreamDestination stream, String subscriptionId) {
    if (stream.groupName() == null && (stream.noAcks() || !stream.declares())) {
      LOG.warn("Subscription '{}' sets {} on stream {} without a group: it has no effect there (a reader without a "
          + "group creates nothing and keeps nothing pending). Add group(...) or drop the option.", subscriptionId,
          stream.noAcks() ? "noAck()" : "declare(false)", stream.name());
    }
  }

  /** The text of the missing-group ERROR, also the in-memory model's. */
  static String missingGroup(StreamDestination stream, String subscriptionId) {
    return "Consumer group '" + stream.groupName() + "' of stream '" + stream.name() + "' does not exist (or the "
        + "stream does not), and subscription '" + subscriptionId + "' does not create it (declare(false)). Create "
        + "it (XGROUP CREATE " + stream.name() + " " + stream.groupName() + " $ MKSTREAM), or drop declare(false) to "
        + "let Brook create it; the subscription keeps trying and starts consuming once it exists (this is logged at "
        + "most once a minute).";
  }

  int maxMessageSize() {
    return context.options().maxMessageSize();
  }

  @Override
  @SuppressWarnings("unchecked") // one StreamOffset through Lettuce's generic varargs
  public void start() {
    if (stream.perKey() != null && !settles()) {
      throw new dev.brook.BrookException(stream.key() + " sets rateLimitPerKey or concurrencyPerKey without a group that "
          + "acknowledges (" + (group == null ? "no group" : "noAck()") + "): a per-key limit parks entries in the "
          + "group's pending list. Add group(...) and drop noAck(), or drop the per-key limit.");
    }
    if (grouped()) {
      context.consumerNames().claim(stream.name() + "/" + stream.groupName(), consumerName, subscriptionId);
    }
    boolean started = false;
    try {
      connection = connections.dedicatedConnection(() -> rescan = true);
      running = true;
      redis = connection.sync();
      masterWatch = connections.watchMaster(key, this::masterFailedOver);
      warnGroupOnly(stream, subscriptionId);
      Duration poll = stream.pollIntervalTime();
      if (poll != null && poll.toMillis() * 2 >= commandTimeout.toMillis()) {
        throw new dev.brook.BrookException("pollInterval " + poll + " of " + stream.key() + " must be shorter than half "
            + "the broker's commandTimeout (" + commandTimeout + "), or Redis' answer to a blocked read would time out. "
            + "Shorten pollInterval or raise commandTimeout.");
      }
      if (grouped()) {
        if (stream.declares()) {
          ensureGroup(stream.startId());
        } else if (!groupExists()) {
          reportMissingGroup(); // the loop's reads fail with NOGROUP and back off until an operator creates it
        }
        nextClaimNanos = timing.nanoTime() + TimeUnit.MILLISECONDS.toNanos(claimEveryMillis);
        if (settles()) {
          recoverParked();
        }
      } else {
        lastId = initialReadId();
        if (!StreamDestination.LATEST.equals(stream.startId())) {
          // Lets Redis check the id (and the key's type) now rather than in the loop.
          redis.xread(XReadArgs.Builder.count(1), XReadArgs.StreamOffset.from(key, lastId));
        }
      }
      wake.start(connections.blockedClient(connection, key));
      startLoop("brook-stream:" + stream.name());
      started = true;
      if (settles()) {
        synchronized (touchLock) {
          touching = connections.timer().scheduleAtFixedRate(this::touchRetries, claimEveryMillis, claimEveryMillis,
              TimeUnit.MILLISECONDS);
        }
      }
    } catch (RedisCommandExecutionException e) {
      throw startFailure(e);
    } finally {
      if (!started) {
        running = false;
        connections.unwatch(masterWatch);
        wake.stop();
        if (connection != null) {
          connections.closeDedicated(connection);
          connection = null;
        }
        if (grouped()) {
          context.consumerNames().release(stream.name() + "/" + stream.groupName(), consumerName, subscriptionId);
        }
      }
    }
  }

  /** A start Redis refused, with the stream, the group, what Redis said and the fix. */
  private dev.brook.BrookException startFailure(RedisCommandExecutionException e) {
    String redisSays = String.valueOf(e.getMessage());
    Throwable error = RedisErrors.translate(e);
    String what = grouped()
        ? "Cannot create consumer group '" + stream.groupName() + "' on stream '" + stream.name() + "'"
        : "Cannot read stream '" + stream.name() + "'";
    if (error instanceof RedisErrors.WrongType) {
      String type;
      try {
        type = connections.syncCommands().type(key);
      } catch (RuntimeException unknown) {
        type = "another type";
      }
      return new dev.brook.BrookException(what + ": Redis says " + redisSays + ": the key holds a " + type
          + ", not a stream. Use another stream name or delete the key.", e);
    }
    if (error instanceof RedisErrors.InvalidStreamId) {
      return new dev.brook.BrookException(what + " at '" + stream.startId() + "': Redis says " + redisSays
          + ". startFrom takes StreamDestination.LATEST (\"$\"), StreamDestination.BEGINNING (\"0\") or an entry id "
          + "such as \"1700000000000-0\" (milliseconds-sequence).", e);
    }
    return new dev.brook.BrookException(what + ": Redis says " + redisSays + ". The subscription was not started.", e);
  }

  @Override
  protected void reachedReplica() {
    RedisConnections.Dedicated c = connection;
    if (c != null) {
      connections.reroute(c.connection());
    }
  }

  @Override
  public void stop() {
    synchronized (touchLock) {
      if (touching != null) {
        touching.cancel(false);
        touching = null;
      }
    }
    stopLoop();
    connections.unwatch(masterWatch);
    wake.stop();
    Thread t = loopThread();
    if (t != null && t != Thread.currentThread() && waitingForRoom) {
      t.interrupt();
    }
    if (t != null && t != Thread.currentThread() && grouped()) {
      // End a blocked XREADGROUP without closing its connection: closed mid-reply, the entries it
      // read would stay pending without our knowing, and count one attempt more at the next start.
      long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(blockMillis + commandTimeout.toMillis());
      try {
        while (t.isAlive() && System.nanoTime() < deadline && !unblockFailed) {
          unblock();
          t.join(Duration.ofMillis(50));
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
    RedisConnections.Dedicated c = connection;
    if (c != null) {
      // Ends a read in progress (or hung); entries it had read stay pending for redelivery.
      connections.closeDedicated(c);
    }
    joinLoop(Duration.ofSeconds(10));
    connection = null;
  }

  private void unblock() {
    RedisConnections.Blocked id = clientId;
    if (id != null) {
      try {
        connections.unblock(id).whenComplete((n, e) -> {
          if (e != null) {
            // Not allowed (ACL) or not known: stop by closing the connection, as before Redis 5.
            unblockFailed = true;
            LOG.debug("CLIENT UNBLOCK failed", e);
          }
        });
      } catch (RuntimeException e) {
        unblockFailed = true;
        LOG.debug("CLIENT UNBLOCK failed", e);
      }
    }
  }

  /**
   * After {@link #stop()}, while the subscription goes on (a partition handed to another member):
   * waits until no entry this consumer delivered is unsettled — acknowledged or dead-lettered and
   * confirmed by Redis, nacked or given back — so the next owner of the stream never holds one of
   * them while it is still handled here. False when the deadline passed first.
   */
  boolean awaitDelivered(long deadlineNanos) throws InterruptedException {
    while (!inFlight.isEmpty()) {
      if (System.nanoTime() - deadlineNanos >= 0) {
        return false;
      }
      Thread.sleep(5);
    }
    return true;
  }

  /** How many delivered entries are not settled yet (for log lines). */
  int unsettled() {
    return inFlight.size();
  }

  @Override
  public void afterDrain() {
    if (grouped()) {
      try {
        // A replacement takes over our name and pending entries when we return: what we settled
        // must be settled in Redis by then, or it would deliver it again.
        if (!settler.awaitIdle(System.nanoTime() + commandTimeout.toNanos() * 2)) {
          LOG.warn("Redis did not confirm {} settlement(s) of {} within {} while stopping; those entries stay pending "
              + "and are delivered again.", settler.outstanding(), stream.key(), commandTimeout.multipliedBy(2));
        }
      } finally {
        settler.close();
        releaseSlots();
        context.consumerNames().release(stream.name() + "/" + stream.groupName(), consumerName, subscriptionId);
      }
    }
  }

  /** XGROUP CREATE ... MKSTREAM (FastStream's default {@code declare=True}); an existing group stays as it is. */
  private void ensureGroup(String from) {
    try {
      redis.xgroupCreate(XReadArgs.StreamOffset.from(key, from), group, XGroupCreateArgs.Builder.mkstream(true));
      LOG.info("Created consumer group '{}' on stream {} at {}.", stream.groupName(), stream.name(), from);
    } catch (RedisCommandExecutionException e) {
      if (!(RedisErrors.translate(e) instanceof RedisErrors.BusyGroup)) {
        throw e;
      }
    }
  }

  /**
   * declare(false): whether the group exists (XINFO GROUPS, which creates nothing); a key of
   * another type fails here, at start, as XGROUP CREATE would.
   */
  private boolean groupExists() {
    try {
      for (Object info : redis.xinfoGroups(key)) {
        if (info instanceof Map<?, ?> fields) { // RESP3
          for (Map.Entry<?, ?> f : fields.entrySet()) {
            if ("name".equals(text(f.getKey())) && stream.groupName().equals(text(f.getValue()))) {
              return true;
            }
          }
        } else if (info instanceof List<?> fields) { // RESP2: name, value, name, value...
          for (int i = 0; i + 1 < fields.size(); i += 2) {
            if ("name".equals(text(fields.get(i))) && stream.groupName().equals(text(fields.get(i + 1)))) {
              return true;
            }
          }
        }
      }
      return false;
    } catch (RedisCommandExecutionException e) {
      if (String.valueOf(e.getMessage()).contains("no such key")) {
        return false;
      }
      throw e;
    }
  }

  private static String text(Object value) {
    return value instanceof byte[] b ? new String(b, StandardCharsets.UTF_8) : String.valueOf(value);
  }

  /** With {@code $}, the id of the newest entry now, so nothing added between reads is missed. */
  private String initialReadId() {
    if (!StreamDestination.LATEST.equals(stream.startId())) {
      return stream.startId();
    }
    List<StreamMessage<byte[], byte[]>> last = redis.xrevrange(key, Range.create("-", "+"), Limit.from(1));
    return last.isEmpty() ? "0-0" : last.get(0).getId();
  }

  // ---- group mode ---------------------------------------------------------------------------

  @Override
  protected boolean awaitRoom() throws InterruptedException {
    return awaitSinkRoom() && (!grouped() || awaitSettlements());
  }

  @Override
  protected void rescanned() {
    ownCursor = null;
    ownPendingDone = false;
    knowsClientId = false; // a reconnect gives the connection a new id
  }


  @Override
  protected void round() {
    if (promotion.due()) {
      long mark = promotion.mark();
      List<Long> answer = dev.brook.redis.internal.Delayed.promote(redis, stream.name(), 's', stream.maxLength());
      promotion.promoted(answer, mark);
      wake.promoted(answer);
    }
    if (limiter == null) {
      if (grouped()) {
        groupRound();
      } else {
        readRound();
      }
      return;
    }
    // Tokens first, then read (or claim) at most that many: nothing is read that may not run now.
    long granted = limiter.take(redis, room());
    if (granted < 0) {
      sleepWhileRunning(-granted);
      return;
    }
    tokens = (int) granted;
    delivered = 0;
    try {
      if (grouped()) {
        groupRound();
      } else {
        readRound();
      }
    } finally {
      tokens = Integer.MAX_VALUE;
      try {
        limiter.refund(redis, (int) granted - delivered);
      } catch (RuntimeException e) {
        LOG.debug("Could not give back unused tokens of {}", stream.key(), e);
      }
    }
  }

  /**
   * NOGROUP: the group is gone; UNBLOCKED: Redis 7 ends a blocked read when the key is deleted (or,
   * on a cluster, migrated to another node: then the stream still exists there and is read again).
   * Either way the group is created again, without a back-off unless that fails too — except with
   * declare(false): nothing is created, the missing group is reported and the loop backs off until
   * an operator creates it.
   */
  @Override
  protected boolean onFailure(RuntimeException e) {
    String node = failedOverTo;
    if (node != null && e instanceof java.util.concurrent.CancellationException) {
      failedOverTo = null;
      knowsClientId = false;
      LOG.info("The master of {} failed and {} took over: reading there{}.", stream.key(), node,
          grouped() ? ", after re-reading this consumer's pending entries" : "");
      return true; // rescan is set: a group consumer looks at its pending entries first
    }
    if (!grouped() || !(e instanceof RedisErrors.NoGroup || e instanceof RedisErrors.Unblocked)) {
      return super.onFailure(e);
    }
    ownCursor = null;
    ownPendingDone = false;
    claimCursor = null;
    if (e instanceof RedisErrors.Unblocked && movedAway()) {
      // A reshard migrated the stream (MIGRATE deletes it on the old owner, which ends a blocked read
      // like a DEL): its group went with it. Read again at once; the cluster connection follows MOVED.
      knowsClientId = false;
      LOG.debug("Stream {} moved to another node of the cluster; reading it there", stream.name(), e);
      return true;
    }
    if (!stream.declares()) {
      reportMissingGroup();
      return false;
    }
    failed("Consumer group '" + stream.groupName() + "' of stream " + stream.name()
        + " is gone (the stream was deleted, or Redis restarted without persistence); creating it again", e);
    try {
      // The stream is new, so everything in it is new: read it from the start.
      ensureGroup("0");
      return true;
    } catch (RuntimeException again) {
      LOG.debug("Recreating group failed", again);
      return false;
    }
  }

  /** On a cluster: whether the stream still exists (on the node that serves its slot now). */
  private boolean movedAway() {
    if (!connections.isCluster()) {
      return false;
    }
    try {
      return connections.syncCommands().exists(key) == 1;
    } catch (RuntimeException e) {
      LOG.debug("Could not look for stream {} after UNBLOCKED", stream.name(), e);
      return false;
    }
  }

  private void groupRound() {
    if (!knowsClientId) {
      // On a cluster: the node connection the read on this key goes to, asked again after a failure.
      clientId = connections.blockedClient(connection, key);
      knowsClientId = clientId != null;
      wake.blocked(clientId);
    }
    int room = room();
    if (stream.noAcks()) {
      // NOACK: Redis keeps nothing pending, so there is nothing of ours to claim or retry
      List<StreamMessage<byte[], byte[]>> fresh = readGroup(XReadArgs.Builder.count(room).block(promotion.blockMillis(blockMillis)).noack(true));
      if (!fresh.isEmpty()) {
        List<StreamInbound> batch = new ArrayList<>(fresh.size());
        for (StreamMessage<byte[], byte[]> m : fresh) {
          batch.add(new StreamInbound(this, m.getId(), m.getBody(), 1));
        }
        delivered += batch.size();
        sink.acceptAll(batch);
      }
      return;
    }
    if (timing.nanoTime() - nextClaimNanos >= 0) {
      claimCursor = takeOver(claimCursor, room);
      nextClaimNanos = timing.nanoTime() + TimeUnit.MILLISECONDS.toNanos(claimEveryMillis);
      room = room();
    }
    if (keyOf != null && promoteParked(room)) {
      return; // parked entries whose key has room again went first
    }
    List<String> due = retries.takeDue(room);
    if (!due.isEmpty()) {
      claim(due, 0, false);
    } else if (!ownPendingDone) {
      List<PendingMessage> mine = redis.xpending(key, me, ownCursor == null ? Range.create("-", "+")
          : Range.from(Range.Boundary.excluding(ownCursor), Range.Boundary.unbounded()), Limit.from(room));
      if (!mine.isEmpty()) {
        ownCursor = mine.get(mine.size() - 1).getId();
        List<String> ids = new ArrayList<>(mine.size());
        for (PendingMessage p : mine) {
          // Held by the subscription, or nacked and waiting for its back-off: not to deliver now.
          if (!inFlight.contains(p.getId()) && !retries.contains(p.getId())) {
            ids.add(p.getId());
          }
        }
        if (!ids.isEmpty()) {
          claim(ids, 0, true);
        }
      }
      if (mine.size() < room) {
        ownPendingDone = true;
        firstPendingRead = false;
      }
    } else {
      List<StreamMessage<byte[], byte[]>> fresh = readGroup(XReadArgs.Builder.count(room).block(blockFor()));
      if (!fresh.isEmpty()) {
        List<StreamInbound> batch = new ArrayList<>(fresh.size());
        for (StreamMessage<byte[], byte[]> m : fresh) {
          batch.add(new StreamInbound(this, m.getId(), m.getBody(), 1));
        }
        deliver(batch);
      }
    }
  }

  /**
   * Waits until the subscription has room for one more; false when stopping. A stop interrupts this
   * wait (and only this one: an interrupted Redis command could lose its reply).
   */
  private boolean awaitSinkRoom() {
    if (sink.room() > 0) {
      return running;
    }
    boolean ok;
    waitingForRoom = true;
    try {
      ok = running && sink.awaitCapacity(1);
    } catch (InterruptedException e) {
      ok = false;
    } finally {
      waitingForRoom = false;
    }
    if (Thread.interrupted()) {
      ok = false; // the stop's interrupt arrived as the wait ended
    }
    return ok && running;
  }

  private int room() {
    int cap = limiter == null ? MAX_FETCH : Math.min(MAX_FETCH, tokens - delivered);
    return Math.max(1, Math.min(cap, sink.room()));
  }

  /**
   * Flow control: waits while more settlements than {@link #MAX_UNCONFIRMED} are on their way, so
   * acknowledgements cannot pile up faster than Redis confirms them; false when stopping.
   */
  private boolean awaitSettlements() throws InterruptedException {
    return waitWhile(tooManyUnconfirmed, 50);
  }

  /** How long a new-entry read may block: shorter while entries are out (one may be nacked) or a retry is due. */
  private long blockFor() {
    long block = inFlight.isEmpty() && parkedDue < 0 ? blockMillis : Math.min(blockMillis, BUSY_BLOCK_MILLIS);
    if (parkedDue >= 0) {
      // Parked entries wait: read no longer than until their key is due. While any wait, at most
      // BUSY_BLOCK_MILLIS: a release by another process's consumer marks its key due at once.
      block = parkedWoken ? 1 : Math.max(1, Math.min(block, parkedDue));
      parkedWoken = false;
    }
    return promotion.blockMillis(retries.blockMillis(block));
  }

  /**
   * Takes over one page of other consumers' entries idle longer than {@code minIdle} (and our own
   * that we do not hold: read while a reply was lost); returns the next cursor, null to start over.
   */
  private String takeOver(String cursor, int count) {
    List<PendingMessage> idle = redis.xpending(key, new XPendingArgs<byte[]>().group(group)
        .idle(stream.minIdleTime()).limit(Limit.from(count))
        .range(cursor == null ? Range.create("-", "+")
            : Range.from(Range.Boundary.excluding(cursor), Range.Boundary.unbounded())));
    List<String> ids = new ArrayList<>(idle.size());
    for (PendingMessage p : idle) {
      // Ours in flight or waiting for a retry: held, not idle. Claiming them would count an attempt.
      // Parked for a per-key limit: waiting for their key, not idle (the CLAIM script checks too).
      if (!inFlight.contains(p.getId()) && !retries.contains(p.getId())
          && !String.valueOf(p.getConsumer()).startsWith(StreamParking.PARKED)) {
        ids.add(p.getId());
      }
    }
    if (!ids.isEmpty()) {
      claim(ids, Math.max(1, stream.minIdleTime().toMillis()), false);
    }
    return idle.size() < count ? null : idle.get(idle.size() - 1).getId();
  }

  /**
   * Claims pending entries with {@link StreamScripts#CLAIM} and delivers them (counted: the attempt
   * they are), or dead-letters those that already had maxDeliveries attempts.
   *
   * @param minIdleMillis 0 for our own entries (claimed only if still ours), else other consumers' idle ones
   */
  private void claim(List<String> ids, long minIdleMillis, boolean ownScan) {
    byte[][] args = new byte[4 + ids.size()][];
    args[0] = group;
    args[1] = bytes(consumerName);
    args[2] = bytes(Long.toString(minIdleMillis));
    args[3] = bytes(Integer.toString(stream.maxDeliveryCount()));
    for (int i = 0; i < ids.size(); i++) {
      args[4 + i] = bytes(ids.get(i));
    }
    List<Object> out = StreamScripts.CLAIM.call(redis, ScriptOutputType.MULTI, new byte[][] {key}, args);
    List<StreamInbound> deliver = new ArrayList<>(out.size());
    for (Object o : out) {
      List<?> e = (List<?>) o;
      String id = new String((byte[]) e.get(0), StandardCharsets.UTF_8);
      long attempts = (Long) e.get(1);
      StreamInbound in = new StreamInbound(this, id, fields((List<?>) e.get(2)), attempts);
      if ((Long) e.get(3) == 1L) {
        String lastError = lastErrors.get(id);
        inFlight.add(id);
        deadLetter(in, "delivered " + attempts + (attempts == 1 ? " time" : " times") + " without being settled "
            + "(maxDeliveries " + stream.maxDeliveryCount() + ")" + (lastError != null ? "; last error: " + lastError : ""));
      } else {
        deliver.add(in);
      }
    }
    deliver.sort((a, b) -> StreamRetries.compareIds(a.id(), b.id()));
    if (ownScan && !deliver.isEmpty() && !firstPendingRead) {
      LOG.warn("Found {} pending entr{} of {} that this consumer did not hold (Redis handed them out while a reply was "
          + "lost); delivering them again.", deliver.size(), deliver.size() == 1 ? "y" : "ies", stream.key());
    }
    if (minIdleMillis > 0 && LOG.isDebugEnabled() && !deliver.isEmpty()) {
      LOG.debug("Took over {} idle entries of {}", deliver.size(), stream.key());
    }
    deliver(deliver);
  }

  private static Map<byte[], byte[]> fields(List<?> flat) {
    Map<byte[], byte[]> body = new LinkedHashMap<>();
    for (int i = 0; i + 1 < flat.size(); i += 2) {
      body.put((byte[]) flat.get(i), (byte[]) flat.get(i + 1));
    }
    return body;
  }

  private void deliver(List<StreamInbound> batch) {
    if (idempotentTtl != null && !batch.isEmpty()) {
      batch = skipDone(batch);
    }
    if (keyOf != null && !batch.isEmpty()) {
      batch = admitByKey(batch);
    }
    if (batch.isEmpty()) {
      return;
    }
    for (StreamInbound in : batch) {
      inFlight.add(in.id());
    }
    delivered += batch.size();
    sink.acceptAll(batch);
  }

  /** A blocking XREADGROUP: on one node through the sync API; on a cluster async, so that a failover can end it. */
  @SuppressWarnings("unchecked") // one StreamOffset through Lettuce's generic varargs
  private List<StreamMessage<byte[], byte[]>> readGroup(XReadArgs args) {
    return masterWatch == null ? redis.xreadgroup(me, args, XReadArgs.StreamOffset.lastConsumed(key))
        : awaitRead(connection.async().xreadgroup(me, args, XReadArgs.StreamOffset.lastConsumed(key)));
  }

  /** Waits for a blocking read as the sync API would, leaving it in {@code reading} for {@link #masterFailedOver}. */
  private <T> T awaitRead(io.lettuce.core.RedisFuture<T> read) {
    java.util.concurrent.CompletableFuture<T> f = read.toCompletableFuture();
    reading = f;
    try {
      return f.get();
    } catch (java.util.concurrent.ExecutionException e) {
      Throwable cause = e.getCause() != null ? e.getCause() : e;
      throw cause instanceof RuntimeException r ? r : new io.lettuce.core.RedisException(cause);
    } catch (InterruptedException e) {
      f.cancel(false);
      Thread.currentThread().interrupt();
      throw new io.lettuce.core.RedisCommandInterruptedException(e);
    } finally {
      reading = null;
    }
  }

  /**
   * On {@code brook-timer}, cluster only: the master of the stream's slot failed and {@code node}
   * took over. A read in flight on the dead master would wait out the command timeout (Lettuce keeps
   * it on the reconnecting node connection): cancel it; the loop reads again on the new master, a
   * group consumer after re-reading its pending entries (what the cut-off read may have taken).
   */
  private void masterFailedOver(String node) {
    java.util.concurrent.CompletableFuture<?> f = reading;
    if (f == null || !running) {
      return; // between reads: the next one is routed to the new master
    }
    failedOverTo = node;
    f.cancel(false);
  }

  // ---- per-key limits (see StreamParking) ---------------------------------------------------

  /** The settlement op that releases a slot ({@link StreamScripts#SETTLE}). */
  private static final byte[] RELEASE_OP = {'s'};

  /**
   * Claims parked entries of due keys to this consumer as their next attempt (at most {@code
   * room}) and delivers them through the admission, which decides again whether they run. Notes
   * when the next key is due, for the read's block time. Whether it delivered any.
   */
  private boolean promoteParked(int room) {
    byte[] me = bytes(consumerName);
    List<Object> answer = keyLimiter != null ? keyLimiter.promote(redis, key, group, me, room)
        : keySlots.promote(redis, key, group, me, room);
    parkedDue = dev.brook.redis.internal.jobs.KeyLimiter.nextDue(answer);
    if (answer.size() <= 1) {
      return false;
    }
    List<StreamInbound> woken = new ArrayList<>(answer.size() - 1);
    for (int i = 1; i < answer.size(); i++) {
      List<?> e = (List<?>) answer.get(i);
      woken.add(new StreamInbound(this, new String((byte[]) e.get(0), StandardCharsets.UTF_8), fields((List<?>) e.get(2)),
          (Long) e.get(1)));
    }
    deliver(woken);
    return true;
  }

  /**
   * Per-key limits: entries whose key has no token left ({@code rateLimitPerKey}) or no free slot
   * ({@code concurrencyPerKey}) are parked (claimed to the key's parking consumer, their attempt
   * undone, by the same script) instead of being delivered. A nacked entry claimed for its retry
   * keeps the slot it holds.
   */
  private List<StreamInbound> admitByKey(List<StreamInbound> batch) {
    List<StreamInbound> keyed = new ArrayList<>();
    List<byte[]> keys = new ArrayList<>();
    List<byte[]> ids = new ArrayList<>();
    List<byte[]> members = keySlots == null ? null : new ArrayList<>();
    for (StreamInbound e : batch) {
      if (keySlots != null && held.containsKey(e.id())) {
        continue;
      }
      String k = e.unreadable() != null ? null : keyOf.of(e.frame().headers());
      if (k != null) {
        keyed.add(e);
        keys.add(bytes(k));
        ids.add(bytes(e.id()));
        if (members != null) {
          members.add(bytes(slotInstance + ":" + (++slotSeq)));
        }
      }
    }
    if (keyed.isEmpty()) {
      return batch;
    }
    byte[] me = bytes(consumerName);
    int[] codes;
    try {
      codes = keySlots != null ? keySlots.admit(redis, key, group, me, keys, ids, members)
          : keyLimiter.admit(redis, key, group, me, keys, ids);
    } catch (RuntimeException e) {
      if (keySlots != null) {
        for (int i = 0; i < keyed.size(); i++) {
          maybeHolding.add(keys.get(i));
          maybeHolding.add(members.get(i));
        }
      }
      throw e; // a rescan delivers what is still pending for us
    }
    java.util.Set<StreamInbound> out = java.util.Collections.newSetFromMap(new java.util.IdentityHashMap<>());
    for (int i = 0; i < keyed.size(); i++) {
      StreamInbound e = keyed.get(i);
      if (codes[i] != 1) {
        out.add(e); // parked (0), or no longer ours (2: acknowledged, deleted or taken meanwhile)
        lastErrors.remove(e.id());
      } else if (keySlots != null) {
        held.put(e.id(), new Slot(keys.get(i), members.get(i), keySlots.releaseSpec(keys.get(i), members.get(i))));
      }
    }
    if (out.isEmpty()) {
      return batch;
    }
    List<StreamInbound> keep = new ArrayList<>(batch.size() - out.size());
    for (StreamInbound e : batch) {
      if (!out.contains(e)) {
        keep.add(e);
      }
    }
    return keep;
  }

  /** On the settler's I/O thread: a settlement made a parked entry's key due; the loop reads briefly and promotes. */
  private void parkedWoken() {
    parkedWoken = true;
    unblock();
  }

  /** On the touch timer: the leases of the slots held move forward. */
  private void renewSlots() {
    List<byte[]> pairs = new ArrayList<>();
    for (Slot slot : held.values()) {
      pairs.add(slot.key());
      pairs.add(slot.member());
    }
    if (!pairs.isEmpty()) {
      keySlots.renew(connections.commands(), pairs).whenComplete((ok, e) -> {
        if (e != null) {
          connections.failed(e);
          LOG.debug("Could not renew the key slots of {} on {}", consumerName, stream.key(), e);
        }
      });
    }
  }

  /**
   * At the stop, after the last settlement: the slots still held (nacked entries waiting for their
   * retry, given back, or held by a handler that ignored the interrupt) are released; whoever
   * delivers those entries next admits them again.
   */
  private void releaseSlots() {
    if (keySlots == null || held.isEmpty() && maybeHolding.isEmpty()) {
      return;
    }
    List<byte[]> pairs = new ArrayList<>();
    for (Slot slot : held.values()) {
      pairs.add(slot.key());
      pairs.add(slot.member());
    }
    synchronized (maybeHolding) {
      pairs.addAll(maybeHolding);
    }
    try {
      keySlots.releaseAll(connections.syncCommands(), key, group, bytes(consumerName), pairs);
      held.clear();
      maybeHolding.clear();
    } catch (RuntimeException e) {
      LOG.warn("Could not release {} key slot(s) of {}: {}. They free themselves when their lease ends ({}).",
          pairs.size() / 2, stream.key(), e.toString(), stream.minIdleTime());
    }
  }

  /**
   * At start: parking consumers of the group that hold entries. With a per-key limit their keys are
   * looked at at once (the waiting set lost them, or the limit changed kind); without one (the limit
   * was removed) their entries are claimed back to this consumer, keeping their count, and delivered
   * with its own pending entries. One XINFO CONSUMERS.
   */
  private void recoverParked() {
    List<Object> consumers;
    try {
      consumers = redis.xinfoConsumers(key, group);
    } catch (RedisCommandExecutionException e) {
      return; // no stream or no group yet: nothing parked
    }
    for (Object c : consumers) {
      byte[] name = null;
      long pending = 0;
      List<Object> fields = new ArrayList<>();
      if (c instanceof Map<?, ?> map) { // RESP3
        map.forEach((f, v) -> {
          fields.add(f);
          fields.add(v);
        });
      } else if (c instanceof List<?> flat) { // RESP2: name, value, name, value...
        fields.addAll(flat);
      }
      for (int i = 0; i + 1 < fields.size(); i += 2) {
        String f = text(fields.get(i));
        if ("name".equals(f) && fields.get(i + 1) instanceof byte[] b) {
          name = b;
        } else if ("pending".equals(f) && fields.get(i + 1) instanceof Long n) {
          pending = n;
        }
      }
      if (pending == 0 || !StreamParking.isParking(name)) {
        continue;
      }
      byte[] k = java.util.Arrays.copyOfRange(name, StreamParking.PARKED_BYTES.length, name.length);
      if (keyOf != null) {
        redis.zadd(keyLimiter != null ? keyLimiter.waitingKey() : keySlots.slotwaitKey(),
            io.lettuce.core.ZAddArgs.Builder.nx(), 0, k);
        continue;
      }
      long back = StreamScripts.UNPARK_ALL.call(redis, ScriptOutputType.INTEGER, new byte[][] {key}, group, name,
          bytes(consumerName));
      LOG.warn("Claimed {} entr{} of {} parked for key '{}' back to '{}': this subscription has no per-key limit "
          + "(removed?), so nothing else would wake them.", back, back == 1 ? "y" : "ies", stream.key(),
          dev.brook.internal.LogText.escape(new String(k, StandardCharsets.UTF_8)), consumerName);
    }
  }

  // ---- no group -----------------------------------------------------------------------------

  private void readRound() {
    XReadArgs args = XReadArgs.Builder.count(room()).block(promotion.blockMillis(blockMillis));
    List<StreamMessage<byte[], byte[]>> read = masterWatch == null
        ? redis.xread(args, XReadArgs.StreamOffset.from(key, lastId))
        : awaitRead(connection.async().xread(args, XReadArgs.StreamOffset.from(key, lastId)));
    if (!read.isEmpty()) {
      List<StreamInbound> batch = new ArrayList<>(read.size());
      for (StreamMessage<byte[], byte[]> m : read) {
        batch.add(new StreamInbound(this, m.getId(), m.getBody(), 1));
      }
      lastId = read.get(read.size() - 1).getId();
      delivered += batch.size();
      sink.acceptAll(batch);
    }
  }

  // ---- settlement (any thread; through the settler, on the shared connection) ----------------

  /** XDEL of one entry on the command connection, confirmed (the handler's {@code ctx.delete()}). */
  void delete(StreamInbound entry) {
    try {
      connections.commands().xdel(key, entry.id()).get(commandTimeout.toMillis(), TimeUnit.MILLISECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new dev.brook.BrookException("Interrupted while deleting entry " + entry.id() + " of stream " + stream.name()
          + ".", e);
    } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
      throw new dev.brook.BrookException("Could not delete entry " + entry.id() + " of stream " + stream.name() + ": "
          + (e.getCause() != null ? e.getCause() : e) + ".", e);
    }
  }

  void ack(List<StreamInbound> entries) {
    if (!settles() || entries.isEmpty()) {
      return;
    }
    List<Settlement> batch = new ArrayList<>(entries.size());
    for (StreamInbound e : entries) {
      lastErrors.remove(e.id());
      batch.add(ackSettlement(e));
    }
    settler.submitAll(batch);
  }

  /** A plain ack, or with {@code idempotent(ttl)} one that records the message id as done, in the same script. */
  private Settlement ackSettlement(StreamInbound e) {
    if (idempotentTtl != null) {
      String messageId = e.frame().headers().get("message_id");
      if (messageId != null) {
        return new Settlement('i', e.id(), e.deliveryCount(), bytes(idempotentTtl + ":" + messageId));
      }
    }
    return new Settlement('a', e.id(), e.deliveryCount(), null);
  }

  /**
   * Idempotent subscriptions: entries whose message id was completed within the window are
   * acknowledged without reaching the handler. One script call per read.
   */
  private List<StreamInbound> skipDone(List<StreamInbound> batch) {
    java.util.Set<StreamInbound> skip = dev.brook.redis.internal.jobs.Idempotency.completed(redis, doneKey, batch,
        StreamInbound::frame);
    if (skip.isEmpty()) {
      return batch;
    }
    List<StreamInbound> keep = new ArrayList<>(batch.size());
    for (StreamInbound e : batch) {
      if (skip.contains(e)) {
        inFlight.add(e.id());
        settler.submit(new Settlement('a', e.id(), e.deliveryCount(), null));
        LOG.debug("Skipped entry {} of {}: message already completed (idempotent)", e.id(), stream.key());
      } else {
        keep.add(e);
      }
    }
    return keep;
  }

  /**
   * The handler failed (or nacked): claimed again after the back-off, or dead-lettered when this
   * was attempt maxDeliveries.
   */
  void nacked(StreamInbound entry, String reason, Duration delay) {
    if (!settles()) {
      return;
    }
    String lastError = reason != null ? reason : lastErrors.get(entry.id());
    if (entry.deliveryCount() >= stream.maxDeliveryCount()) {
      deadLetter(entry, "failed " + entry.deliveryCount() + (entry.deliveryCount() == 1 ? " time" : " times")
          + " (maxDeliveries " + stream.maxDeliveryCount() + ")" + (lastError != null ? "; last error: " + lastError : ""));
      return;
    }
    if (reason != null && lastErrors.size() < LAST_ERRORS) {
      lastErrors.put(entry.id(), reason);
    }
    // Into retries before out of inFlight: the loop must always see it in one of them.
    if (delay != null) {
      retries.schedule(entry.id(), delay);
    } else {
      retries.schedule(entry.id(), entry.deliveryCount());
    }
    inFlight.remove(entry.id());
  }

  /**
   * On the timer: resets the idle time of the entries waiting for their back-off (see {@link
   * #touching}). Asynchronous, must not block or throw; a failure is retried at the next beat, and
   * an entry that went idle meanwhile is at worst taken over early, as before.
   */
  private void touchRetries() {
    if (keySlots != null) {
      renewSlots();
    }
    try {
      List<String> waiting = retries.waiting();
      for (int from = 0; from < waiting.size(); from += 1000) {
        List<String> part = waiting.subList(from, Math.min(waiting.size(), from + 1000));
        byte[][] args = new byte[2 + part.size()][];
        args[0] = group;
        args[1] = bytes(consumerName);
        for (int i = 0; i < part.size(); i++) {
          args[2 + i] = bytes(part.get(i));
        }
        synchronized (touchLock) {
          if (touching == null) {
            return; // stopped: a replacement under our name claims them itself
          }
          StreamScripts.TOUCH.call(connections.commands(), ScriptOutputType.INTEGER, new byte[][] {key}, args)
              .whenComplete((n, e) -> {
                if (e != null) {
                  connections.failed(e);
                  LOG.debug("Could not keep the retries of {} on {} from going idle", consumerName, stream.key(), e);
                }
              });
        }
      }
    } catch (RuntimeException e) {
      LOG.debug("Could not keep the retries of {} on {} from going idle", consumerName, stream.key(), e);
    }
  }

  /** Given back unstarted (or interrupted by a stop): the attempt is undone; it stays pending. */
  void released(List<StreamInbound> entries) {
    if (!settles() || entries.isEmpty()) {
      return;
    }
    List<Settlement> batch = new ArrayList<>(entries.size());
    for (StreamInbound e : entries) {
      batch.add(new Settlement('r', e.id(), e.deliveryCount(), null));
    }
    settler.submitAll(batch);
  }

  void deadLetter(StreamInbound entry, String reason) {
    if (!settles()) {
      return;
    }
    Map<String, String> extra = new LinkedHashMap<>();
    extra.put(DeadLetter.ERROR, reason);
    extra.put(DeadLetter.ORIGINAL, stream.name());
    extra.put(DeadLetter.ORIGINAL_ID, entry.id());
    extra.put(DeadLetter.GROUP, stream.groupName());
    extra.put(DeadLetter.DELIVERIES, Long.toString(entry.deliveryCount()));
    byte[] value = DeadLetter.envelope(entry.deadLetterFrame(), extra);
    lastErrors.remove(entry.id());
    settler.submit(new Settlement('d', entry.id(), entry.deliveryCount(), value));
    long suppressed = deadLetterWarnings.acquire();
    if (suppressed > 0) {
      LOG.warn("{} more entries of {} went to the dead-letter stream {} in the last minute (logged at DEBUG only).",
          suppressed, stream.key(), stream.deadLetterKey());
    }
    if (suppressed >= 0) {
      LOG.warn("Entry {} of {} went to the dead-letter stream {}: {}", entry.id(), stream.key(), stream.deadLetterKey(),
          dev.brook.internal.LogText.escape(reason));
    } else {
      LOG.debug("Entry {} of {} went to the dead-letter stream {}: {}", entry.id(), stream.key(), stream.deadLetterKey(),
          dev.brook.internal.LogText.escape(reason));
    }
  }

  /** Sends one batch of settlements as one {@link StreamScripts#SETTLE} script call. */
  private CompletionStage<?> send(List<Settlement> batch) {
    List<byte[]> args = new ArrayList<>(4 + batch.size() * 3);
    args.add(group);
    args.add(bytes(consumerName));
    args.add(bytes(stream.deletesOnAck() ? "1" : "0"));
    args.add(bytes(Long.toString(stream.minIdleTime().toMillis())));
    for (Settlement s : batch) {
      Slot slot = keySlots == null ? null : held.get(s.id());
      if (slot != null) {
        args.add(RELEASE_OP);
        args.add(slot.spec());
      }
      args.add(new byte[] {(byte) s.op()});
      args.add(bytes(s.id()));
      switch (s.op()) {
        case 'd', 'i' -> args.add(s.value());
        case 'r' -> args.add(bytes(Long.toString(s.attempt())));
        default -> { }
      }
    }
    CompletionStage<Long> sent = StreamScripts.SETTLE.call(connections.commands(), ScriptOutputType.INTEGER,
        new byte[][] {key, bytes(stream.deadLetterKey()), doneKey, keySlots != null ? keySlots.slotwaitKey() : doneKey},
        args.toArray(new byte[0][]));
    sent = sent.whenComplete((answer, e) -> {
      connections.failed(e);
      if (answer != null && answer < 0) {
        parkedWoken(); // a released slot may run a parked entry now
      }
    });
    // On a cluster, a failover of the stream's master cancels it at once (the settler retries on the new master).
    connections.trackPublish(key, sent.toCompletableFuture());
    return sent;
  }

  /** On the I/O thread: Redis settled these; they may be delivered again only if they come back. */
  private void confirmed(List<Settlement> batch) {
    for (Settlement s : batch) {
      inFlight.remove(s.id());
      if (keySlots != null) {
        held.remove(s.id());
      }
    }
    wake();
  }

  /** After close: these stay pending in Redis, for the next start or another consumer. */
  private void abandoned(List<Settlement> batch) {
    for (Settlement s : batch) {
      inFlight.remove(s.id());
    }
    rescan = true;
    LOG.warn("Could not settle {} entr{} of {} before the consumer stopped; they stay pending and are delivered again "
        + "(by this consumer's next start, else by another after minIdle).", batch.size(), batch.size() == 1 ? "y" : "ies",
        stream.key());
  }

  static byte[] bytes(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }
}
