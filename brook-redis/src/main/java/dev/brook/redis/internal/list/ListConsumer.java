package dev.brook.redis.internal.list;

import dev.brook.spi.Inbound;
import dev.brook.spi.Transport;
import dev.brook.internal.WarnLimit;
import dev.brook.redis.ListDestination;
import dev.brook.redis.internal.Backoffs;
import dev.brook.redis.internal.ConsumeLoop;
import dev.brook.redis.internal.DeadLetter;
import dev.brook.redis.internal.Keys;
import dev.brook.redis.internal.RedisConnections;
import dev.brook.redis.internal.RedisContext;
import dev.brook.redis.internal.Settler;
import io.lettuce.core.LMoveArgs;
import io.lettuce.core.ScanArgs;
import io.lettuce.core.ScanCursor;
import io.lettuce.core.ScriptOutputType;
import io.lettuce.core.cluster.api.async.RedisClusterAsyncCommands;
import io.lettuce.core.cluster.api.sync.RedisClusterCommands;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reads one List for one subscription, on its own connection and virtual thread ({@code
 * brook-list:<name>}).
 *
 * <p>Reliable mode: each item moves atomically from the queue into this consumer's processing list
 * (named per subscription, see {@link dev.brook.redis.internal.ConsumerNames}), so an item is
 * always in Redis until it is settled. A read is one round trip: {@code BLMOVE} for the head item pipelined with a Lua move of
 * what else fits ({@code MOVE_N}), which Redis runs right after the BLMOVE returns — so items pushed
 * together reach the subscription together ({@link Transport.Sink#acceptAll}), also when the consumer
 * was idle. A {@link Heartbeat} key with a TTL says the consumer is alive. Between
 * reads, every TTL, the loop looks for processing lists whose owner's heartbeat expired and moves
 * their items back to the head of the queue, so a crashed process loses nothing. On start it first
 * hands out what its own processing list still holds (what a previous run under the same name left).
 * At-most-once mode: BLPOP pipelined with LPOP of a count.
 *
 * <p>Settlement goes through a {@link Settler}: acks, drops, dead letters and requeues of one
 * consumer travel in batches, one Lua script per batch ({@code SETTLE}, which trims acknowledged
 * items off the processing list's head when they are there, as they usually are), one batch in
 * flight at a time, retried until Redis confirms. The loop fetches nothing while settlements and
 * back-offs outstanding reach the subscription's buffer size, so Redis never holds more unconfirmed
 * work than the buffer, and acknowledgements cannot pile up on the shared connection.
 *
 * <p>Nack: the settlement script moves the item from the processing list to the List's delayed set
 * ({@link dev.brook.redis.internal.Delayed}), re-encoded with its delivery count and last error, due
 * after the subscription's retry back-off or {@link ListDeliveries}' default; the consumers promote
 * it to the tail of the queue when due. The nack of its {@code maxDeliveries}-th delivery
 * dead-letters it instead. Before each read the consumer promotes due delayed items (when one may be
 * due) and bounds the read by the next due time.
 *
 * <p>Stop: give-backs (buffered messages, interrupted handlers) are collected and, once the drain is over, moved back together with what Redis moved
 * for a read the stop cut off: one script puts the processing list back at the head of the queue in
 * the order it was fetched, so a stop never reorders the queue.
 *
 * <p>Faults: when the connection drops while Redis moves an item for us, Redis may hold items in our
 * processing list that this consumer never received. After every reconnect of its connection, and
 * after a failed read, the loop compares the processing list with the items it holds ({@code
 * inFlight}: handed to the subscription and not yet confirmed settled) and delivers the difference,
 * so nothing Redis kept waits for a restart of this consumer.
 */
final class ListConsumer extends ConsumeLoop {

  private static final Logger LOG = LoggerFactory.getLogger("dev.brook.redis.List");
  private static final int MAX_FETCH = 100;
  /** Settlements per SETTLE call: three arguments each. */
  private static final int MAX_SETTLE_BATCH = 1_000;
  private static final byte[] EMPTY = new byte[0];

  /** One settlement for the SETTLE script; {@code message} leaves {@code inFlight} once Redis confirmed it. */
  record Op(byte kind, ListInbound message, byte[] value, byte[] replacement) {
    static final byte ACK = 'A';
    static final byte ACK_DONE = 'I';
    static final byte REQUEUE = 'Q';
    static final byte DEAD = 'D';
    static final byte DROP = 'X';
    /** To the delayed set: the replacement is {@code <delay ms>:<member>} (see {@link ListScripts#SETTLE}). */
    static final byte RETRY = 'R';
  }

  private final RedisContext context;
  private final RedisConnections connections;
  private final ListDestination list;
  private final String subscriptionId;
  /** This consumer's name in Redis: its processing list and heartbeat carry it (see ConsumerNames). */
  private final String consumerName;
  private final Transport.Sink sink;
  private final byte[] queueKey;
  private final byte[] processingKey;
  private final byte[] deadKey;
  private final byte[] delayedKey;
  private final String heartbeatPrefix;
  private final String processingPrefix;
  private final double blockSeconds;

  /** Reliable mode: items handed to the subscription whose settlement Redis has not confirmed yet. */
  private final Set<ListInbound> inFlight = ConcurrentHashMap.newKeySet();
  /** Reliable mode: acks, requeues, dead letters on their way; null in at-most-once mode. */
  private final Settler<Op> settler;
  /** Given back during the stop; the give-back after the drain moves them, in the order fetched. */
  private final Set<ListInbound> released = ConcurrentHashMap.newKeySet();
  /** Guards {@code stopping}/{@code gaveBack} against releases and nacks racing the give-back. */
  private final Object giveBackLock = new Object();
  private boolean stopping;
  private boolean gaveBack;
  /** The subscription's buffer size: outstanding settlements and back-offs never exceed it. */
  private int capacity = 1;
  /** Unconfirmed settlements fill the buffer size: the loop waits (one instance, no allocation per round). */
  private final java.util.function.BooleanSupplier settlementsFull;
  /** At most 10 WARN lines a minute for dropped items; the rest at DEBUG, with a count. */
  private final WarnLimit dropWarnings = WarnLimit.perMinute(WarnLimit.DECODE_WARNINGS_PER_MINUTE);
  /** Reliable mode: renewed while the consumer runs, deleted after its drain; null in at-most-once mode. */
  private final Heartbeat heartbeat;
  private long nextRecoveryNanos;
  /** {@code {jobs}:done}: ids completed by an idempotent subscription (see {@link dev.brook.redis.internal.jobs.Idempotency}). */
  private final byte[] doneKey;
  /** {@code idempotent(ttl)} in ms, or null. */
  private final Long idempotentTtl;
  /** {@code rateLimit}: the shared token bucket, or null. */
  private final dev.brook.redis.internal.jobs.RateLimiter limiter;
  /** {@code rateLimitPerKey}: per-key buckets and waiting lists, or null. */
  private final dev.brook.redis.internal.jobs.KeyLimiter keyLimiter;
  /** {@code concurrencyPerKey}: per-key leased slots and waiting lists, or null. */
  private final dev.brook.redis.internal.jobs.KeySlots keySlots;
  /** How a message's key is found (a header or the user's function); null without a per-key limit. */
  private final dev.brook.redis.internal.jobs.KeyFunction keyOf;
  /** {@code concurrencyPerKey}: the messages holding a slot, until their settlement is confirmed. */
  private final Set<ListInbound> holding = ConcurrentHashMap.newKeySet();
  /**
   * Key and member pairs of admissions whose reply never came: the script may have taken the slots
   * (the stop closes the loop's connection to end a blocking read, and an admission in flight on it
   * loses its reply). Released with {@link #holding} at the stop, so the next consumer of those keys
   * does not wait out their leases (the heartbeat TTL). Releasing a slot never taken is harmless.
   */
  private final List<byte[]> maybeHolding = java.util.Collections.synchronizedList(new ArrayList<>());
  /** Slot members are {@code <instance>:<n>}: unique per run, so a restart under the same name never takes over stale slots. */
  private final String slotInstance = Long.toHexString(java.util.concurrent.ThreadLocalRandom.current().nextLong());
  private long slotSeq;
  private final byte[] slotwaitKey;
  private static final String MESSAGE_ID = "message_id";
  /**
   * When to look at the delayed set next ({@link dev.brook.redis.internal.Delayed}): at once, then
   * when its next member is due, and at least once per blocking read for members published meanwhile.
   */
  private final dev.brook.redis.internal.Delayed.Promotion promotion;
  private RedisConnections.Dedicated connection;
  private RedisClusterCommands<byte[], byte[]> redis;
  private RedisClusterAsyncCommands<byte[], byte[]> async;
  /** The read in flight (its two commands), for {@link #masterFailedOver}; null between reads. */
  private volatile CompletionStage<?> readingFirst;
  private volatile CompletionStage<?> readingRest;
  /** Cluster: set when a failover ended the read in flight: where the slot went, for the log line. */
  private volatile String failedOverTo;
  /** Cluster: the failover watch of the queue's slot; null on one node. */
  private RedisConnections.MasterWatch masterWatch;

  /** Hears of a new earliest delayed message and ends the blocking read for it. */
  private final dev.brook.redis.internal.Delayed.Wake wake;

  ListConsumer(RedisContext context, ListDestination list, String subscriptionId, Transport.Sink sink,
      dev.brook.redis.internal.RedisKind<dev.brook.redis.ShardChannelDestination> shards,
      dev.brook.redis.internal.Delayed.Local local) {
    super(LOG, context.timing(), Backoffs.RETRY, list.key());
    Duration commandTimeout = context.options().commandTimeout();
    this.context = context;
    this.connections = context.connections();
    this.list = list;
    this.subscriptionId = subscriptionId;
    this.sink = sink;
    this.consumerName = context.consumerNames().name(explicitConsumer(list), list.key(), subscriptionId);
    this.queueKey = bytes(list.name());
    this.processingPrefix = Keys.derived(list.name(), "processing:");
    this.processingKey = bytes(processingPrefix + consumerName);
    this.heartbeatPrefix = Keys.derived(list.name(), "heartbeat:");
    this.doneKey = bytes(Keys.derived(list.name(), "done"));
    this.idempotentTtl = list.idempotentTtl() != null && !list.isAtMostOnce() ? list.idempotentTtl().toMillis() : null;
    this.limiter = list.rateLimitCount() > 0
        ? new dev.brook.redis.internal.jobs.RateLimiter(list.name(), list.rateLimitCount(), list.rateLimitPeriod().toMillis())
        : null;
    this.keyOf = list.isAtMostOnce() || list.perKey() == null ? null
        : new dev.brook.redis.internal.jobs.KeyFunction(list.perKey(), LOG, list.key());
    this.keyLimiter = keyOf == null || list.rateLimitPerKeyCount() == 0 ? null
        : new dev.brook.redis.internal.jobs.KeyLimiter(list.name(), list.rateLimitPerKeyCount(), list.rateLimitPerKeyPeriod().toMillis());
    this.keySlots = keyOf == null || list.concurrencyPerKeyCount() == 0 ? null
        : new dev.brook.redis.internal.jobs.KeySlots(list.name(), list.concurrencyPerKeyCount(), list.heartbeatTtl().toMillis());
    this.slotwaitKey = bytes(dev.brook.redis.internal.jobs.KeySlots.slotwaitKey(list.name()));
    this.delayedKey = bytes(dev.brook.redis.internal.Delayed.key(list.name()));
    this.deadKey = bytes(list.deadLetterKey() != null ? list.deadLetterKey() : Keys.derived(list.name(), "dlq"));
    this.blockSeconds = list.pollIntervalTime() != null ? Math.max(0.01, list.pollIntervalTime().toMillis() / 1000.0)
        : Math.max(0.1, Math.min(2.0, commandTimeout.toMillis() / 2000.0));
    this.promotion = new dev.brook.redis.internal.Delayed.Promotion(context.timing(), (long) (blockSeconds * 1e9));
    this.wake = new dev.brook.redis.internal.Delayed.Wake(shards, local, list.name(), subscriptionId, promotion, connections);
    this.settler = list.isAtMostOnce() ? null
        : new Settler<>("settlements of " + list.key(), MAX_SETTLE_BATCH, this::send, this::confirmed, this::abandoned,
            context.timing());
    if (settler != null) {
      // Woken when a settlement stops counting as outstanding, not only when it is confirmed (the
      // count falls after that): with room for one (a pull) each message would otherwise wait up to
      // the poll interval of the wait for settlements.
      settler.afterDone(this::wake);
    }
    this.settlementsFull = () -> settler.outstanding() >= capacity;
    this.heartbeat = list.isAtMostOnce() ? null
        : new Heartbeat(connections, context.timing(), list, consumerName, bytes(heartbeatPrefix + consumerName),
            keySlots == null ? null : this::renewSlots);
  }

  /** On the heartbeat's timer: the leases of the slots held move forward with the heartbeat. */
  private void renewSlots() {
    List<byte[]> pairs = new ArrayList<>();
    for (ListInbound m : holding) {
      pairs.add(m.slotKey);
      pairs.add(m.slotMember);
    }
    if (!pairs.isEmpty()) {
      keySlots.renew(connections.commands(), pairs).whenComplete((ok, e) -> {
        if (e != null) {
          connections.failed(e);
          LOG.debug("Could not renew the key slots of {} on {}", consumerName, list.key(), e);
        }
      });
    }
  }

  String listName() {
    return list.name();
  }

  /** The destination's consumer(...) name, or null when it uses the default. */
  static String explicitConsumer(ListDestination list) {
    String name = list.consumerName();
    return name.equals(dev.brook.redis.Redis.defaultConsumerName()) ? null : name;
  }

  boolean reliable() {
    return !list.isAtMostOnce();
  }

  int maxMessageSize() {
    return context.options().maxMessageSize();
  }

  @Override
  public void start() {
    Duration poll = list.pollIntervalTime();
    if (poll != null && poll.toMillis() * 2 >= context.options().commandTimeout().toMillis()) {
      throw new dev.brook.BrookException("pollInterval " + poll + " of " + list.key() + " must be shorter than half the "
          + "broker's commandTimeout (" + context.options().commandTimeout() + "), or Redis' answer to a blocked read "
          + "would time out. Shorten pollInterval or raise commandTimeout.");
    }
    if (!reliable() && list.perKey() != null) {
      throw new dev.brook.BrookException(list.key() + " is at-most-once but sets rateLimitPerKey or concurrencyPerKey: "
          + "a per-key limit parks messages in Redis, which needs a reliable list. Drop atMostOnce() or the per-key limit.");
    }
    if (reliable()) {
      context.consumerNames().claim(list.key(), consumerName, subscriptionId);
    }
    try {
      connection = connections.dedicatedConnection(() -> rescan = true);
      running = true;
      redis = connection.sync();
      async = connection.async();
      masterWatch = connections.watchMaster(queueKey, this::masterFailedOver);
      wake.start(connections.blockedClient(connection, queueKey));
      String type = redis.type(queueKey);
      if (!"list".equals(type) && !"none".equals(type)) {
        throw new dev.brook.BrookException("Cannot consume list '" + list.name() + "': the key holds a " + type
            + ", not a list. Use another list name or delete the key.");
      }
      if (reliable()) {
        // The mailbox is new and empty: its room is the subscription's buffer size.
        capacity = Math.max(1, sink.room());
        heartbeat.start(redis);
        recoverAbandoned();
        nextRecoveryNanos = timing.nanoTime() + list.heartbeatTtl().toNanos();
      }
    } catch (RuntimeException e) {
      running = false;
      connections.unwatch(masterWatch);
      wake.stop();
      if (heartbeat != null) {
        heartbeat.stop(false);
      }
      if (connection != null) {
        connections.closeDedicated(connection);
        connection = null;
      }
      if (reliable()) {
        context.consumerNames().release(list.key(), consumerName, subscriptionId);
      }
      if (e instanceof io.lettuce.core.RedisCommandExecutionException) {
        throw new dev.brook.BrookException("Cannot consume list '" + list.name() + "': Redis says " + e.getMessage()
            + ". The subscription was not started.", e);
      }
      throw e;
    }
    startLoop("brook-list:" + list.name());
  }

  /**
   * On {@code brook-timer}, cluster only: the master of the queue's slot failed and {@code node} took
   * over. A read in flight on the dead master would wait out the command timeout (Lettuce keeps it
   * on the reconnecting node connection): cancel it, and the loop looks in the processing list for
   * what that read may have moved (as after any lost reply) and reads again, on the new master.
   */
  private void masterFailedOver(String node) {
    CompletionStage<?> first = readingFirst;
    CompletionStage<?> rest = readingRest;
    if (first == null || !running) {
      return; // between reads: the next one is routed to the new master
    }
    failedOverTo = node;
    first.toCompletableFuture().cancel(false);
    if (rest != null) {
      rest.toCompletableFuture().cancel(false);
    }
  }

  @Override
  protected boolean onFailure(RuntimeException e) {
    String node = failedOverTo;
    if (node != null && e instanceof java.util.concurrent.CancellationException) {
      failedOverTo = null;
      LOG.info("The master of {} failed and {} took over: reading there, after looking for what the read cut off may "
          + "have moved.", list.key(), node);
      return true; // rescan is set: the loop looks in the processing list first
    }
    return super.onFailure(e);
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
    synchronized (giveBackLock) {
      stopping = true;
    }
    stopLoop();
    connections.unwatch(masterWatch);
    wake.stop();
    RedisConnections.Dedicated c = connection;
    if (c != null) {
      // Ends a BLMOVE/BLPOP in progress. An item Redis moved just before is in our processing
      // list and goes back with the give-back after the drain: nothing is lost.
      connections.closeDedicated(c);
    }
    joinLoop(Duration.ofSeconds(10));
    connection = null;
  }

  @Override
  public void afterDrain() {
    if (reliable()) {
      try {
        giveBack();
      } finally {
        settler.close();
        releaseSlots();
        // Gone now: whatever our processing list still holds is recovered by the others at once.
        heartbeat.stop(true);
      }
    }
    context.consumerNames().release(list.key(), consumerName, subscriptionId);
  }

  // ---- the consume loop ---------------------------------------------------------------------

  /** Reliable mode: first what our processing list still holds (a previous run under this name left it). */
  @Override
  protected void beforeRounds() {
    if (reliable()) {
      try {
        deliverAll(redis.lrange(processingKey, 0, -1));
      } catch (RuntimeException e) {
        if (running) {
          LOG.warn("Could not read the processing list of {}: {}", list.key(), e.toString());
          rescan = true;
        }
      }
    }
  }

  @Override
  protected boolean awaitRoom() throws InterruptedException {
    return sink.awaitCapacity(1) && (!reliable() || awaitSettlements());
  }

  @Override
  protected void rescanned() {
    if (reliable()) {
      deliverOrphans();
    }
  }

  @Override
  protected void round() throws InterruptedException {
    if (reliable() && timing.nanoTime() - nextRecoveryNanos >= 0) {
      nextRecoveryNanos = timing.nanoTime() + list.heartbeatTtl().toNanos();
      recoverAbandoned();
    }
    double block = promote();
    int room = Math.max(1, Math.min(MAX_FETCH, sink.room()));
    // Tokens first, then read at most that many: nothing is read that may not run now.
    int granted = room;
    if (limiter != null) {
      long got = limiter.take(redis, room);
      if (got < 0) {
        sleepWhileRunning(-got);
        return;
      }
      granted = (int) got;
    }
    long nextDue = -1;
    if (keyLimiter != null) {
      // Parked messages whose key has tokens again come straight to this consumer, their tokens taken
      // in the same script (no other message can take them first and send them back to the end).
      // On the command connection, as the admission: the stop closes the loop's own connection to end a
      // read, and a promotion or admission whose reply it cut off would leave messages with their token
      // taken in the processing list, unknown to this consumer, to go back to the queue head behind
      // nothing, ahead of older parked ones.
      dev.brook.redis.internal.jobs.KeyLimiter.Promoted p = keyLimiter.promote(connections.syncCommands(), processingKey,
          granted);
      nextDue = p.nextDue();
      if (!p.items().isEmpty()) {
        if (limiter != null) {
          limiter.refund(redis, granted - p.items().size());
        }
        deliverAll(p.items(), true);
        return;
      }
    } else if (keySlots != null) {
      // Parked messages whose key has a free slot again (its leases ran out) go back to the head first.
      nextDue = keySlots.promote(redis, queueKey);
    }
    if (nextDue >= 0) {
      // The read waits no longer than until the next key is due, so no thread or poll is needed for them.
      block = Math.max(0.01, Math.min(block, nextDue / 1000.0));
    }
    List<byte[]> values = fetch(granted, block);
    if (limiter != null) {
      limiter.refund(redis, granted - values.size());
    }
    deliverAll(values);
  }

  /**
   * Moves due delayed messages into the list when one may be due (one script, before the read, so
   * the read finds them), and returns how long the read may block: no longer than until the next
   * delayed message is due.
   */
  private double promote() throws InterruptedException {
    if (promotion.due()) {
      long mark = promotion.mark();
      List<Long> answer = await(dev.brook.redis.internal.Delayed.promote(async, list.name(), 'l', 0));
      promotion.promoted(answer, mark);
      wake.promoted(answer);
    }
    return promotion.blockMillis(Math.round(blockSeconds * 1000)) / 1000.0;
  }


  /**
   * One round trip: a blocking pop of the head item pipelined with a non-blocking one of up to
   * {@code room - 1} more. Redis runs the second command of a blocked client as soon as the first
   * returns, so the second takes what arrived together with the item that woke the first.
   */
  private List<byte[]> fetch(int room, double blockSeconds) throws InterruptedException {
    RedisClusterAsyncCommands<byte[], byte[]> redis = async;
    CompletionStage<byte[]> first;
    CompletionStage<List<byte[]>> rest = null;
    if (reliable()) {
      first = redis.blmove(queueKey, processingKey, LMoveArgs.Builder.leftRight(), blockSeconds);
      if (room > 1) {
        rest = ListScripts.MOVE_N.call(redis, ScriptOutputType.MULTI, new byte[][] {queueKey, processingKey}, bytes(Integer.toString(room - 1)));
      }
    } else {
      first = redis.blpop(blockSeconds, queueKey).thenApply(kv -> kv == null || !kv.hasValue() ? null : kv.getValue());
      if (room > 1) {
        rest = redis.lpop(queueKey, room - 1);
      }
    }
    readingRest = rest;
    readingFirst = first;
    byte[] one;
    List<byte[]> more;
    try {
      one = await(first);
      more = rest == null ? null : await(rest);
    } finally {
      readingFirst = null;
      readingRest = null;
    }
    if (more == null || more.isEmpty()) {
      return one == null ? List.of() : List.of(one);
    }
    if (one == null) {
      return more;
    }
    List<byte[]> all = new ArrayList<>(more.size() + 1);
    all.add(one);
    all.addAll(more);
    return all;
  }

  private static <T> T await(CompletionStage<T> stage) throws InterruptedException {
    try {
      return stage.toCompletableFuture().get();
    } catch (ExecutionException e) {
      Throwable cause = e.getCause() != null ? e.getCause() : e;
      throw cause instanceof RuntimeException r ? r : new IllegalStateException(cause);
    }
  }

  private void deliverAll(List<byte[]> values) {
    deliverAll(values, false);
  }

  /** @param promoted moved from a waiting list by {@code rateLimitPerKey}'s promotion, their tokens taken: no admission */
  private void deliverAll(List<byte[]> values, boolean promoted) {
    if (values == null || values.isEmpty()) {
      return;
    }
    List<ListInbound> messages = new ArrayList<>(values.size());
    for (byte[] v : values) {
      ListInbound m = new ListInbound(this, v);
      if (promoted) {
        String k = keyOf(m);
        m.rateKey = k == null ? null : bytes(k);
      }
      messages.add(m);
    }
    if (idempotentTtl != null) {
      messages = skipDone(messages);
      if (messages.isEmpty()) {
        return;
      }
    }
    if (keyOf != null && !promoted) {
      messages = admitByKey(messages);
      if (messages.isEmpty()) {
        return;
      }
    }
    if (reliable()) {
      inFlight.addAll(messages);
    }
    if (messages.size() == 1) {
      sink.accept(messages.get(0));
    } else {
      sink.acceptAll(messages);
    }
  }

  /**
   * Per-key limits: messages whose key has no token left ({@code rateLimitPerKey}) or no free slot
   * ({@code concurrencyPerKey}) are parked in their key's waiting list (moved there from the
   * processing list by the same script) instead of being delivered.
   */
  private List<ListInbound> admitByKey(List<ListInbound> messages) {
    List<ListInbound> keyed = new ArrayList<>();
    List<byte[]> keys = new ArrayList<>();
    List<byte[]> raws = new ArrayList<>();
    List<byte[]> members = keySlots == null ? null : new ArrayList<>();
    for (ListInbound m : messages) {
      String k = keyOf(m);
      if (k != null) {
        keyed.add(m);
        keys.add(bytes(k));
        raws.add(m.raw());
        if (members != null) {
          members.add(bytes(slotInstance + ":" + (++slotSeq)));
        }
      }
    }
    if (keyed.isEmpty()) {
      return messages;
    }
    boolean[] admitted;
    try {
      admitted = keySlots != null ? keySlots.admit(redis, processingKey, keys, raws, members)
          : keyLimiter.admit(connections.syncCommands(), processingKey, keys, raws); // not cut off by a stop: see round()
    } catch (RuntimeException e) {
      if (keySlots != null) {
        for (int i = 0; i < keyed.size(); i++) {
          maybeHolding.add(keys.get(i));
          maybeHolding.add(members.get(i));
        }
      }
      throw e;
    }
    java.util.Set<ListInbound> parked = java.util.Collections.newSetFromMap(new java.util.IdentityHashMap<>());
    for (int i = 0; i < keyed.size(); i++) {
      if (!admitted[i]) {
        parked.add(keyed.get(i));
      } else if (keySlots == null) {
        keyed.get(i).rateKey = keys.get(i);
      } else {
        ListInbound m = keyed.get(i);
        m.slotKey = keys.get(i);
        m.slotMember = members.get(i);
        m.slotSpec = keySlots.releaseSpec(m.slotKey, m.slotMember);
        holding.add(m);
      }
    }
    if (parked.isEmpty()) {
      return messages;
    }
    List<ListInbound> keep = new ArrayList<>(messages.size() - parked.size());
    for (ListInbound m : messages) {
      if (!parked.contains(m)) {
        keep.add(m);
      }
    }
    return keep;
  }

  /** The message's key for a per-key limit; null (not limited by key) when it has none or the user's function failed. */
  private String keyOf(ListInbound m) {
    return m.unreadable() != null ? null : keyOf.of(m.frame().headers());
  }

  /** At the stop: the slots still held (given back, or held by a handler that ignored the interrupt) are released. */
  private void releaseSlots() {
    if (keySlots == null || holding.isEmpty() && maybeHolding.isEmpty()) {
      return;
    }
    List<byte[]> pairs = new ArrayList<>();
    for (ListInbound m : holding) {
      pairs.add(m.slotKey);
      pairs.add(m.slotMember);
    }
    synchronized (maybeHolding) {
      pairs.addAll(maybeHolding);
    }
    try {
      keySlots.releaseAll(connections.syncCommands(), queueKey, pairs);
      holding.clear();
      maybeHolding.clear();
    } catch (RuntimeException e) {
      LOG.warn("Could not release {} key slot(s) of {}: {}. They free themselves when their lease ends (the heartbeat "
          + "TTL, {}).", pairs.size() / 2, list.key(), e.toString(), list.heartbeatTtl());
    }
  }

  /**
   * Idempotent subscriptions: messages whose id was completed within the window are acknowledged
   * (a plain ack: their id stays recorded) without reaching the handler. One script call per read.
   */
  private List<ListInbound> skipDone(List<ListInbound> messages) {
    java.util.Set<ListInbound> skip = dev.brook.redis.internal.jobs.Idempotency.completed(redis, doneKey, messages,
        ListInbound::frame);
    if (skip.isEmpty()) {
      return messages;
    }
    List<ListInbound> keep = new ArrayList<>(messages.size());
    for (ListInbound m : messages) {
      if (skip.contains(m)) {
        inFlight.add(m);
        settler.submit(new Op(Op.ACK, m, m.raw(), null));
        LOG.debug("Skipped message {} of {}: already completed (idempotent)", m.frame().headers().get(MESSAGE_ID), list.key());
      } else {
        keep.add(m);
      }
    }
    return keep;
  }

  /**
   * Waits while the settlements not yet confirmed and the nacked items waiting for their back-off
   * fill the subscription's buffer size: then Redis is slower than the handlers, and fetching more
   * would only grow the backlog of unconfirmed work. False when the consumer stops meanwhile.
   */
  private boolean awaitSettlements() throws InterruptedException {
    return waitWhile(settlementsFull, 100);
  }

  /**
   * Delivers what our processing list holds beyond the items in flight: moved by Redis while the
   * reply was lost. The in-flight items are counted before the list is read, and an item leaves
   * {@code inFlight} only once its settlement completed in Redis, so an item settled meanwhile is
   * neither in the list nor delivered twice.
   */
  private void deliverOrphans() {
    Map<ByteBuffer, Integer> held = new HashMap<>();
    for (ListInbound m : inFlight) {
      held.merge(ByteBuffer.wrap(m.raw()), 1, Integer::sum);
    }
    List<byte[]> orphans = new ArrayList<>();
    for (byte[] v : redis.lrange(processingKey, 0, -1)) {
      ByteBuffer k = ByteBuffer.wrap(v);
      Integer count = held.get(k);
      if (count != null && count > 0) {
        held.put(k, count - 1);
        continue;
      }
      orphans.add(v);
    }
    if (!orphans.isEmpty()) {
      LOG.warn("Found {} item(s) of {} in the processing list of '{}' that this consumer did not hold (Redis moved them "
          + "while a reply was lost); delivering them.", orphans.size(), list.key(), consumerName);
      deliverAll(orphans);
    }
  }

  // ---- recovery ------------------------------------------------------------------------------

  /** Moves back the items of every processing list whose owner's heartbeat has expired. */
  private void recoverAbandoned() {
    String me = consumerName;
    ScanCursor cursor = ScanCursor.INITIAL;
    ScanArgs match = ScanArgs.Builder.matches(globEscape(processingPrefix) + "*").limit(500);
    do {
      var page = redis.scan(cursor, match);
      for (byte[] key : page.getKeys()) {
        String name = new String(key, StandardCharsets.UTF_8);
        String owner = name.substring(processingPrefix.length());
        if (owner.equals(me) || redis.exists(bytes(heartbeatPrefix + owner)) > 0) {
          continue;
        }
        Long moved = ListScripts.RECOVER.call(redis, ScriptOutputType.INTEGER, new byte[][] {key, queueKey});
        if (moved != null && moved > 0) {
          LOG.warn("Recovered {} item(s) of {} from consumer '{}', whose heartbeat expired; they are queued again.",
              moved, list.key(), dev.brook.internal.LogText.escape(owner));
        }
      }
      cursor = page;
    } while (!cursor.isFinished());
  }

  private static String globEscape(String s) {
    StringBuilder b = new StringBuilder(s.length() + 4);
    for (char c : s.toCharArray()) {
      if (c == '*' || c == '?' || c == '[' || c == ']' || c == '\\') {
        b.append('\\');
      }
      b.append(c);
    }
    return b.toString();
  }

  // ---- settlement (any thread) ----------------------------------------------------------------

  private CompletionStage<?> send(List<Op> batch) {
    byte[][] args = new byte[batch.size() * 3][];
    int i = 0;
    for (Op op : batch) {
      byte[] slot = op.message() != null ? op.message().slotSpec : null;
      if (slot == null) {
        args[i++] = new byte[] {op.kind()};
      } else {
        byte[] kind = new byte[slot.length + 1];
        kind[0] = op.kind();
        System.arraycopy(slot, 0, kind, 1, slot.length);
        args[i++] = kind;
      }
      args[i++] = op.value();
      args[i++] = op.replacement() != null ? op.replacement() : EMPTY;
    }
    CompletionStage<?> sent = ListScripts.SETTLE.call(connections.commands(), ScriptOutputType.INTEGER,
        new byte[][] {processingKey, queueKey, deadKey, delayedKey, doneKey, slotwaitKey}, args).whenComplete((ok, e) -> connections.failed(e));
    // On a cluster, a failover of the list's master cancels it at once (the settler retries on the new master)
    // rather than letting it wait out commandTimeout while the loop waits for its settlements.
    connections.trackPublish(processingKey, sent.toCompletableFuture());
    return sent;
  }

  /**
   * A batch failed after the stop: what it settled stays in Redis (recovered from the processing
   * list by the others), and the slots it would have released stay held, for the stop's release.
   */
  private void abandoned(List<Op> batch) {
    if (keySlots == null) {
      confirmed(batch);
      return;
    }
    for (Op op : batch) {
      inFlight.remove(op.message());
    }
    wake();
  }

  /** Redis confirmed a batch. */
  private void confirmed(List<Op> batch) {
    boolean retried = false;
    for (Op op : batch) {
      inFlight.remove(op.message());
      if (keySlots != null) {
        holding.remove(op.message());
      }
      retried |= op.kind() == Op.RETRY;
    }
    if (retried) {
      wake.seen(); // promote it when due, rather than at the end of the current read
    }
    wake();
  }

  void ack(ListInbound m) {
    if (reliable()) {
      settler.submit(ackOp(m));
    }
  }

  /** A plain ack, or with {@code idempotent(ttl)} an ack that records the message id as done, in the same script. */
  private Op ackOp(ListInbound m) {
    if (idempotentTtl != null) {
      String id = m.frame().headers().get(MESSAGE_ID);
      if (id != null) {
        return new Op(Op.ACK_DONE, m, m.raw(), bytes(idempotentTtl + ":" + id));
      }
    }
    return new Op(Op.ACK, m, m.raw(), null);
  }

  /** A whole batch, in the order it was fetched. */
  void ackAll(List<? extends Inbound> batch) {
    if (!reliable() || batch.isEmpty()) {
      return;
    }
    List<Op> ops = new ArrayList<>(batch.size());
    for (Inbound m : batch) {
      ListInbound l = (ListInbound) m;
      ops.add(ackOp(l));
    }
    settler.submitAll(ops);
  }

  /**
   * Into the List's delayed set ({@link dev.brook.redis.internal.Delayed}) for the back-off, with one
   * more delivery counted ({@code x-deliveries}) and the error ({@code x-last-error}), in the same
   * script that takes it out of the processing list: a nacked item is always in Redis, in one place.
   * The consumers promote it back to the queue when due. The nack of the last allowed delivery
   * dead-letters it instead.
   *
   * @param delay the subscription's retry back-off for this attempt, or null for the default
   *     ({@link ListDeliveries#backoffMillis})
   */
  void nack(ListInbound m, String reason, Duration delay) {
    if (!reliable()) {
      return;
    }
    long delivery = m.deliveryCount();
    if (delivery >= list.maxDeliveryCount()) {
      deadLetter(m, ListDeliveries.exhausted(delivery, list.maxDeliveryCount(), reason), delivery);
      return;
    }
    byte[] again = m.unreadable() != null ? m.raw()
        : ListDeliveries.requeuedWithin(m.frame(), delivery, reason, maxMessageSize());
    if (again == null) {
      deadLetter(m, "cannot be retried: with its delivery count it would exceed the maxMessageSize of "
          + maxMessageSize() + " bytes (raise RedisBroker.builder().maxMessageSize(...)); last error: " + reason, delivery);
      return;
    }
    long ms = delay != null ? Math.max(0, delay.toMillis()) : ListDeliveries.backoffMillis(delivery);
    byte[] member = dev.brook.redis.internal.Delayed.member(again);
    byte[] prefix = bytes(ms + ":");
    byte[] replacement = new byte[prefix.length + member.length];
    System.arraycopy(prefix, 0, replacement, 0, prefix.length);
    System.arraycopy(member, 0, replacement, prefix.length, member.length);
    settler.submit(new Op(Op.RETRY, m, m.raw(), replacement));
  }

  /**
   * Given back untouched (never started, or interrupted by the stop). During the stop it waits for
   * the give-back after the drain, which keeps the order; afterwards it goes back on its own.
   */
  void release(ListInbound m) {
    if (!reliable()) {
      return;
    }
    synchronized (giveBackLock) {
      if (stopping && !gaveBack) {
        released.add(m);
        return;
      }
    }
    settler.submit(new Op(Op.REQUEUE, m, m.raw(), m.raw()));
  }

  /** Several at once, in the order received: outside a stop one batch, requeued so that the first ends first. */
  void releaseAll(List<? extends Inbound> messages) {
    if (!reliable() || messages.isEmpty()) {
      return;
    }
    synchronized (giveBackLock) {
      if (stopping && !gaveBack) {
        for (Inbound m : messages) {
          released.add((ListInbound) m);
        }
        return;
      }
    }
    List<Op> ops = new ArrayList<>(messages.size());
    for (int i = messages.size() - 1; i >= 0; i--) { // each goes to the head: the last first
      ListInbound l = (ListInbound) messages.get(i);
      ops.add(new Op(Op.REQUEUE, l, l.raw(), l.raw()));
    }
    settler.submitAll(ops);
  }

  void reject(ListInbound m, String reason) {
    if (reliable()) {
      deadLetter(m, reason, m.deliveryCount());
    }
  }

  private void deadLetter(ListInbound m, String reason, long deliveries) {
    String dlq = list.deadLetterKey();
    if (dlq != null) {
      Map<String, String> extra = new LinkedHashMap<>();
      extra.put(DeadLetter.ERROR, reason);
      extra.put(DeadLetter.ORIGINAL, list.name());
      extra.put(DeadLetter.DELIVERIES, Long.toString(deliveries));
      byte[] dead = DeadLetter.envelope(ListDeliveries.withoutCount(m.deadLetterFrame()), extra);
      settler.submit(new Op(Op.DEAD, m, m.raw(), dead));
      return;
    }
    settler.submit(new Op(Op.DROP, m, m.raw(), null));
    long suppressed = dropWarnings.acquire();
    if (suppressed > 0) {
      LOG.warn("Dropped {} more rejected items of {} in the last minute (logged at DEBUG only).", suppressed, list.key());
    }
    if (suppressed >= 0) {
      LOG.warn("Dropped a rejected item of {} ({}); configure list(\"{}\").deadLetter() to keep such items.",
          list.key(), dev.brook.internal.LogText.escape(reason), list.name());
    } else {
      LOG.debug("Dropped a rejected item of {} ({})", list.key(), dev.brook.internal.LogText.escape(reason));
    }
  }

  // ---- the stop's give-back -------------------------------------------------------------------

  /**
   * After the drain: every message this consumer handed out is settled, given back or (a handler
   * that ignored the interrupt) still held. Waits for the settlements on their way, then moves the
   * processing list back to the head of the queue in the order it holds — given-back messages and
   * items Redis moved for a read the stop cut off — leaving only what a handler still holds (nacked
   * ones wait in the delayed set).
   */
  private void giveBack() {
    settler.awaitIdle(System.nanoTime() + TimeUnit.SECONDS.toNanos(2));
    List<ListInbound> back = new ArrayList<>();
    List<byte[]> pairs = new ArrayList<>();
    List<byte[]> keep = new ArrayList<>();
    synchronized (giveBackLock) {
      gaveBack = true;
      back.addAll(released);
      released.clear();
      Set<ListInbound> going = java.util.Collections.newSetFromMap(new java.util.IdentityHashMap<>());
      going.addAll(back);
      for (ListInbound m : inFlight) {
        if (!going.contains(m)) {
          keep.add(m.raw());
        }
      }
    }
    byte[][] args = new byte[1 + pairs.size() + keep.size()][];
    args[0] = bytes(Integer.toString(pairs.size() / 2));
    int i = 1;
    for (byte[] p : pairs) {
      args[i++] = p;
    }
    for (byte[] k : keep) {
      args[i++] = k;
    }
    try {
      long parkedBack = 0;
      if (keyLimiter != null) {
        // a rate-limited key with parked messages: its given-back ones go ahead of them, not to the queue
        List<byte[]> rawsAndKeys = new ArrayList<>();
        for (ListInbound m : back) {
          if (m.rateKey != null) {
            rawsAndKeys.add(m.raw());
            rawsAndKeys.add(m.rateKey);
          }
        }
        parkedBack = keyLimiter.parkBack(connections.syncCommands(), processingKey, rawsAndKeys);
      }
      Long moved = ListScripts.GIVE_BACK.call(connections.syncCommands(), ScriptOutputType.INTEGER, new byte[][] {processingKey, queueKey}, args);
      back.forEach(inFlight::remove);
      long orphans = (moved == null ? 0 : moved) + parkedBack - back.size();
      if (orphans > 0) {
        LOG.info("Gave {} item(s) back to {} that Redis had moved for a read the stop cut off.", orphans, list.key());
      }
      if (!keep.isEmpty()) {
        LOG.warn("{} item(s) of {} stay in the processing list of '{}': a handler that ignored the interrupt still holds "
            + "them, or Redis has not confirmed their settlement yet. Other consumers recover them once the heartbeat is "
            + "gone.", keep.size(), list.key(), consumerName);
      }
    } catch (RuntimeException e) {
      LOG.warn("Could not give back {} item(s) of {}: {}. They stay in the processing list of '{}' and are recovered by "
          + "other consumers once its heartbeat is gone, or by this subscription's next start.", back.size(), list.key(),
          e.toString(), consumerName);
    }
  }

  static byte[] bytes(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }
}
