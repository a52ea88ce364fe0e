package dev.brook.redis.internal;

import dev.brook.BrookException;
import io.lettuce.core.RedisChannelHandler;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisConnectionException;
import io.lettuce.core.RedisConnectionStateListener;
import io.lettuce.core.RedisURI;
import io.lettuce.core.api.StatefulConnection;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.cluster.SlotHash;
import io.lettuce.core.cluster.event.ClusterTopologyChangedEvent;
import io.lettuce.core.cluster.api.StatefulRedisClusterConnection;
import io.lettuce.core.cluster.api.async.RedisClusterAsyncCommands;
import io.lettuce.core.cluster.api.sync.RedisClusterCommands;
import io.lettuce.core.cluster.models.partitions.RedisClusterNode;
import io.lettuce.core.UnblockType;
import io.lettuce.core.codec.ByteArrayCodec;
import io.lettuce.core.codec.StringCodec;
import io.lettuce.core.pubsub.StatefulRedisPubSubConnection;
import io.lettuce.core.resource.ClientResources;
import java.net.ConnectException;
import java.net.SocketAddress;
import java.net.UnknownHostException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReentrantLock;
import javax.net.ssl.SSLException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The connection lifecycle of one Redis transport: the Lettuce client and its resources, the
 * command connection (publishing, settlement, heartbeats), the connections the destination kinds
 * open for themselves (the shared Pub/Sub one, one per List or Stream consumer), the reconnect
 * listener, the DNS resolver and the platform timer.
 *
 * <p>Ownership: unless the user passed them ({@link TransportOptions#clientResources()}, {@link
 * TransportOptions#redisClient()}), it creates its own {@link ClientResources} (event loops named
 * {@code brook-...}) and {@link RedisClient} ({@link LettuceClient}) and shuts both down in {@link
 * #close()}, so a closed broker leaves no thread, connection or socket behind (its DNS resolver
 * included). What the user passed is used and never shut down: close closes only the connections
 * opened here. Connecting is lazy, idempotent and thread-safe; a failed connect releases what it
 * created.
 *
 * <p>Locking: {@code lock} guards the fields and is never held across I/O. The first {@link
 * #connect()} connects while concurrent callers wait on its future; other connections are opened
 * concurrently and registered ({@link #adopt}) afterwards. {@link #close()} first stops intake
 * (nothing is registered after it), so a connection that was being opened meanwhile is closed by
 * whoever opened it, who then gets the same "closed" error; and closing shuts the client down,
 * which ends a connect in progress instead of waiting for its timeout.
 *
 * <p>Faults: every connection reconnects on its own (back-off from 10 ms doubling to 1 s, so a
 * Redis that is back is found within about a second). While a connection is down its commands wait
 * in a queue bounded by {@code requestQueueSize}, each at most {@code commandTimeout}. The owner of
 * an adopted connection hears of its losses ({@link Events}): the Pub/Sub hub reports gaps, the
 * at-least-once consumers look again for messages Redis handed them while the reply was lost.
 *
 * <p>Redis Cluster ({@code redis-cluster://}): the client is a {@code RedisClusterClient} and every
 * connection a cluster connection, which routes each command by its key's slot (hand-built ones by
 * their first key) and follows failovers through Lettuce's topology refresh; the command and blocking
 * APIs are typed by what single-node and cluster APIs share ({@link RedisClusterAsyncCommands},
 * {@link RedisClusterCommands}), so the kinds run unchanged on both. A consumer's own connection is a
 * cluster connection of its own (its blocking reads hold one node connection of it, no one else's).
 */
public final class RedisConnections {

  private static final Logger LOG = LoggerFactory.getLogger("dev.brook.redis.Connection");

  /** What the owner of an adopted connection hears; called on Lettuce I/O threads, so only sets flags. */
  public interface Events {
    /** The connection dropped; Lettuce reconnects it. */
    default void disconnected() {}

    /** The connection is back after a loss (Lettuce has subscribed its channels again). */
    void reconnected();
  }

  /** The single node's URI; for a cluster the first seed (settings only). */
  private final RedisURI uri;
  /** The seed nodes of a cluster URL, or null for a single node. */
  private final List<RedisURI> clusterSeeds;
  private final String masked;
  private final TransportOptions options;
  private final Duration connectTimeout;
  private final Duration commandTimeout;
  private final ConnectionLog listener = new ConnectionLog();

  /** Guards the fields below; never held across I/O. */
  private final ReentrantLock lock = new ReentrantLock();
  private volatile boolean connected;
  private volatile boolean closed;
  /** The connect in progress or done; null before the first and after a failed one (the next retries). */
  private CompletableFuture<Void> connecting;
  /** The client and what came with it; null before connecting and after close. */
  private LettuceClient owned;
  private volatile StatefulConnection<byte[], byte[]> connection;
  private volatile RedisClusterAsyncCommands<byte[], byte[]> async;
  private volatile RedisClusterCommands<byte[], byte[]> sync;
  /** Connections the kinds opened (Pub/Sub, blocking consumers), with whom to tell of their losses; closed with the transport. */
  private final Map<StatefulConnection<?, ?>, Events> adopted = new ConcurrentHashMap<>();
  /** Connections of Brook's own (not Lettuce's: the standalone Pub/Sub reader); closed with the transport. */
  private final java.util.Set<AutoCloseable> own = ConcurrentHashMap.newKeySet();
  /** Waits for connections being opened ({@link #connectEndedByClose}); close() ends them. */
  private final java.util.Set<CompletableFuture<?>> connectWaits = ConcurrentHashMap.newKeySet();
  /** When {@link #reroute} last ended a connection that had reached a replica (System.nanoTime()). */
  private final Map<StatefulConnection<?, ?>, Long> rerouted = new ConcurrentHashMap<>();
  private volatile long lastRerouteWarning;
  /** {@link #durableConnection}: opened at first use, closed with the adopted ones. */
  private volatile StatefulRedisConnection<byte[], byte[]> durable;
  /** {@link #durableConnection} on a cluster: opened at first use, closed with the adopted ones. */
  private volatile StatefulRedisClusterConnection<byte[], byte[]> durableCluster;
  /** When a durable write's MOVED last asked for the topology (System.nanoTime()), 0 never. */
  private volatile long lastDurableRefresh;
  private final Object durableLock = new Object();
  private volatile boolean disconnectLogged;
  /** Losses of any of the broker's connections (metrics); counted on Lettuce I/O threads. */
  private final java.util.concurrent.atomic.LongAdder losses = new java.util.concurrent.atomic.LongAdder();
  /** Cluster: consumers to tell when the master of their key's slot failed and another took over. */
  private final java.util.Set<MasterWatch> masterWatches = ConcurrentHashMap.newKeySet();
  /** Cluster: the subscription to Lettuce's topology events; disposed by close. */
  private volatile reactor.core.Disposable topologyEvents;
  /** The commandTimeout of tracked publishes (see {@link PublishDeadlines}); its sweep runs on {@link #timer()}. */
  private final PublishDeadlines publishDeadlines;
  /** {@link #timer()}: created at first use, shut down by close. */
  private ScheduledThreadPoolExecutor timer;
  private boolean timerStopped;

  public RedisConnections(RedisURI uri, String maskedUrl, TransportOptions options) {
    this(uri, null, maskedUrl, options);
  }

  /** For a Redis Cluster: the seed nodes of a {@code redis-cluster://} URL ({@link RedisUrls#parseCluster}). */
  public RedisConnections(List<RedisURI> clusterSeeds, String maskedUrl, TransportOptions options) {
    this(clusterSeeds.get(0), List.copyOf(clusterSeeds), maskedUrl, options);
  }

  private RedisConnections(RedisURI uri, List<RedisURI> clusterSeeds, String maskedUrl, TransportOptions options) {
    this.uri = uri;
    this.clusterSeeds = clusterSeeds;
    this.masked = maskedUrl;
    this.options = options;
    this.publishDeadlines = new PublishDeadlines(options.commandTimeout(), this::timer);
    this.connectTimeout = options.connectTimeout();
    this.commandTimeout = options.commandTimeout();
    for (RedisURI u : clusterSeeds == null ? List.of(uri) : clusterSeeds) {
      u.setClientName(options.clientName());
      u.setTimeout(commandTimeout);
    }
  }

  /** Whether this transport talks to a Redis Cluster. */
  public boolean isCluster() {
    return clusterSeeds != null;
  }

  /** The server's URL with any password masked, for messages. */
  public String masked() {
    return masked;
  }

  /** Whether the URL names sentinels ({@code redis-sentinel://}): Lettuce then asks them for the primary at each connect. */
  public boolean sentinel() {
    return !uri.getSentinels().isEmpty();
  }

  public TransportOptions options() {
    return options;
  }

  public void connect() {
    if (connected) {
      return;
    }
    CompletableFuture<Void> attempt;
    boolean mine;
    lock.lock();
    try {
      if (closed) {
        throw closedError();
      }
      mine = connecting == null;
      if (mine) {
        connecting = new CompletableFuture<>();
      }
      attempt = connecting;
    } finally {
      lock.unlock();
    }
    if (!mine) {
      await(attempt); // the first caller's connect, not the lock: bounded by connectTimeout, ended by close()
      return;
    }
    try {
      open();
      attempt.complete(null);
    } catch (RuntimeException | Error e) {
      lock.lock();
      try {
        if (connecting == attempt) {
          connecting = null;
        }
      } finally {
        lock.unlock();
      }
      attempt.completeExceptionally(e);
      throw e;
    }
  }

  /**
   * Creates (or takes the user's) client, no I/O ({@link LettuceClient}), registers it so {@link
   * #close()} can release it, then connects outside the lock.
   */
  private void open() {
    LettuceClient created = LettuceClient.create(options, listener, masked, clusterSeeds);
    boolean accepted;
    lock.lock();
    try {
      accepted = !closed;
      if (accepted) {
        owned = created;
      }
    } finally {
      lock.unlock();
    }
    if (!accepted) {
      created.release(masked);
      throw closedError();
    }
    StatefulConnection<byte[], byte[]> opened;
    try {
      opened = connectCommandConnection(created);
    } catch (RuntimeException e) {
      if (closed) {
        throw closedError(); // close() shut the client down under this connect, and released it
      }
      BrookException failure = connectFailure(e, created);
      LettuceClient mine = null;
      lock.lock();
      try {
        if (owned == created) {
          mine = owned;
          owned = null;
        }
      } finally {
        lock.unlock();
      }
      if (mine != null) {
        mine.release(masked);
      }
      throw failure;
    }
    register(opened, () -> {
      if (opened instanceof StatefulRedisClusterConnection<byte[], byte[]> c) {
        async = c.async();
        sync = c.sync();
      } else {
        StatefulRedisConnection<byte[], byte[]> c = (StatefulRedisConnection<byte[], byte[]>) opened;
        async = c.async();
        sync = c.sync();
      }
      connection = opened;
      connected = true;
    });
    if (created.cluster() != null) {
      // Lettuce publishes a ClusterTopologyChangedEvent when a refresh finds another topology (and
      // before it applies it): the one place a promoted replica shows up as such.
      topologyEvents = created.cluster().getResources().eventBus().get()
          .filter(ClusterTopologyChangedEvent.class::isInstance)
          .subscribe(e -> topologyChanged((ClusterTopologyChangedEvent) e));
    }
  }

  /**
   * A consumer's wish to hear that the master of {@code key}'s slot failed and a replica took over
   * ({@link #watchMaster}); {@code failedOver} gets the new master's address, on {@code brook-timer},
   * once Lettuce routes the slot there.
   */
  public static final class MasterWatch {
    final int slot;
    final java.util.function.Consumer<String> failedOver;

    MasterWatch(int slot, java.util.function.Consumer<String> failedOver) {
      this.slot = slot;
      this.failedOver = failedOver;
    }
  }

  /**
   * Cluster only (null on one node): calls {@code failedOver} when the master of {@code key}'s slot
   * fails and another node takes its slots over, so that a consumer can end a read in flight on the
   * dead master at once instead of when it times out (Lettuce keeps a command in flight on a node
   * connection that is reconnecting, and does not move it). Not for a reshard or a manual failover:
   * the old master is alive then and Redis itself redirects or unblocks what was blocked on it.
   */
  public MasterWatch watchMaster(byte[] key, java.util.function.Consumer<String> failedOver) {
    if (!isCluster()) {
      return null;
    }
    MasterWatch w = new MasterWatch(SlotHash.getSlot(key), failedOver);
    masterWatches.add(w);
    return w;
  }

  /** Ends a {@link #watchMaster}; null is ignored. */
  public void unwatch(MasterWatch w) {
    if (w != null) {
      masterWatches.remove(w);
    }
  }

  /** Cluster: publishes in flight on slot-routed commands (list, stream, shard channel), by their slot; see {@link #trackPublish}. */
  private final Map<CompletableFuture<?>, Integer> publishesInFlight = new ConcurrentHashMap<>();

  /**
   * Cluster only: remembers a publish in flight to {@code key}'s slot until it completes, so that a
   * failover of that slot's master cancels it at once ({@link RedisProducer#failure} then says what
   * happened) instead of leaving it to wait out the command timeout on the dead master.
   */
  public void trackPublish(byte[] key, CompletableFuture<?> sent) {
    if (!isCluster() || sent.isDone()) {
      return;
    }
    publishesInFlight.put(sent, SlotHash.getSlot(key));
    sent.whenComplete((ok, e) -> publishesInFlight.remove(sent));
  }

  /** On Lettuce's event thread: finds the watched slots and publishes whose master failed and was replaced. */
  private void topologyChanged(ClusterTopologyChangedEvent event) {
    nodesRecovered(event.after()); // a dead node's slots went to its replica: that loss is over
    if (closed || masterWatches.isEmpty() && publishesInFlight.isEmpty()) {
      return;
    }
    Map<Integer, java.util.Optional<RedisClusterNode>> bySlot = new java.util.HashMap<>();
    java.util.function.IntFunction<RedisClusterNode> failedOverTo = slot -> bySlot.computeIfAbsent(slot,
        x -> java.util.Optional.ofNullable(failedOverTo(event, slot))).orElse(null);
    Map<MasterWatch, RedisClusterNode> due = new java.util.HashMap<>();
    for (MasterWatch w : masterWatches) {
      RedisClusterNode after = failedOverTo.apply(w.slot);
      if (after != null) {
        due.put(w, after);
      }
    }
    List<CompletableFuture<?>> publishes = new ArrayList<>();
    publishesInFlight.forEach((f, slot) -> {
      if (failedOverTo.apply(slot) != null) {
        publishes.add(f);
      }
    });
    Map<Integer, RedisClusterNode> slots = new java.util.HashMap<>();
    bySlot.forEach((slot, node) -> node.ifPresent(n -> slots.put(slot, n)));
    if (!slots.isEmpty()) {
      try {
        timer().execute(() -> afterReload(slots, due, publishes, 0));
      } catch (RuntimeException closing) {
        LOG.debug("Not telling consumers of a failover of {}: closing", masked, closing);
      }
    }
  }

  /**
   * The new master of {@code slot} when the event shows its master failed and another took its
   * slots; null otherwise — also for a reshard or a manual failover: the old master is alive then
   * and Redis itself redirects or unblocks what was sent to it.
   */
  private static RedisClusterNode failedOverTo(ClusterTopologyChangedEvent event, int slot) {
    RedisClusterNode before = masterOf(event.before(), slot);
    RedisClusterNode after = masterOf(event.after(), slot);
    if (before == null || after == null || before.getNodeId().equals(after.getNodeId())) {
      return null;
    }
    RedisClusterNode old = event.after().stream().filter(n -> n.getNodeId().equals(before.getNodeId())).findFirst()
        .orElse(null);
    if (old != null && !old.is(RedisClusterNode.NodeFlag.FAIL) && !old.is(RedisClusterNode.NodeFlag.EVENTUAL_FAIL)) {
      return null;
    }
    return after;
  }

  /**
   * Lettuce publishes the event before it applies the new topology: waits (10 ms steps, at most a
   * second) until its partitions route each slot to the new master, so a read or publish issued
   * again goes there, then tells the watchers and cancels the publishes in flight to the dead one.
   */
  private void afterReload(Map<Integer, RedisClusterNode> slots, Map<MasterWatch, RedisClusterNode> due,
      List<CompletableFuture<?>> publishes, int attempt) {
    LettuceClient c = owned;
    if (closed || c == null || c.cluster() == null) {
      return;
    }
    io.lettuce.core.cluster.models.partitions.Partitions partitions = c.cluster().getPartitions();
    boolean applied = slots.entrySet().stream().allMatch(e -> {
      RedisClusterNode now = partitions.getMasterBySlot(e.getKey());
      return now != null && now.getNodeId().equals(e.getValue().getNodeId());
    });
    if (!applied && attempt < 100) {
      try {
        timer().schedule(() -> afterReload(slots, due, publishes, attempt + 1), 10, TimeUnit.MILLISECONDS);
      } catch (RuntimeException closing) {
        LOG.debug("Not telling consumers of a failover of {}: closing", masked, closing);
      }
      return;
    }
    for (CompletableFuture<?> f : publishes) {
      f.cancel(false); // RedisProducer.failure says the master failed while it was in flight
    }
    due.forEach((w, node) -> {
      if (masterWatches.contains(w)) {
        try {
          w.failedOver.accept(node.getUri().getHost() + ":" + node.getUri().getPort());
        } catch (RuntimeException e) {
          LOG.warn("Telling a consumer of {} that its master failed over failed: {}", masked, e.toString(), e);
        }
      }
    });
  }

  private static RedisClusterNode masterOf(List<RedisClusterNode> nodes, int slot) {
    for (RedisClusterNode n : nodes) {
      if (n.is(RedisClusterNode.NodeFlag.UPSTREAM) && n.hasSlot(slot)) {
        return n;
      }
    }
    return null;
  }

  /**
   * Runs {@code publish} under the lock unless the transport was closed meanwhile; then closes the
   * connection just opened (close() did not see it) and throws the "closed" error.
   */
  private void register(AutoCloseable opened, Runnable publish) {
    boolean late;
    lock.lock();
    try {
      late = closed;
      if (!late) {
        publish.run();
      }
    } finally {
      lock.unlock();
    }
    if (late) {
      try {
        opened.close();
      } catch (Exception e) {
        LOG.debug("Closing a connection to {} opened during close failed", masked, e);
      }
      throw closedError();
    }
  }

  public IllegalStateException closedError() {
    return new IllegalStateException("Broker " + masked + " is closed; create a new one.");
  }

  public boolean isClosed() {
    return closed;
  }

  /** The client, once connected; throws the "closed" error after close(). */
  private LettuceClient connectedClient() {
    connect();
    lock.lock();
    try {
      if (closed || owned == null) {
        throw closedError();
      }
      return owned;
    } finally {
      lock.unlock();
    }
  }

  /**
   * Waits for another thread's connect attempt and throws what it threw. The attempt is bounded by
   * the connect and command timeouts (and ended by close()); the wait is bounded too, so a waiter
   * never hangs on an attempt that could not finish.
   */
  public <T> T await(CompletableFuture<T> attempt) {
    Duration bound = connectTimeout.plus(commandTimeout.multipliedBy(2));
    try {
      return attempt.get(bound.toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS);
    } catch (java.util.concurrent.ExecutionException | CompletionException e) {
      throw e.getCause() instanceof RuntimeException r ? r : new BrookException("Connecting to " + masked + " failed: "
          + e.getCause(), e.getCause());
    } catch (java.util.concurrent.TimeoutException e) {
      throw new BrookException("Connecting to " + masked + " did not finish within " + bound.toMillis() + " ms "
          + "(connectTimeout plus twice commandTimeout) while another thread was connecting. Check that Redis answers there.", e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new BrookException("Interrupted while waiting for the connection to " + masked + ".", e);
    }
  }

  /**
   * Whether a connection of this transport was lost and is not back yet (for health). On a cluster:
   * a node connection that dropped and is not back, to a node that still serves slots (one whose
   * slots a replica took over is no longer needed, though Lettuce keeps trying it).
   */
  public boolean reconnecting() {
    if (closed) {
      return false;
    }
    if (!isCluster()) {
      return disconnectLogged;
    }
    LettuceClient c = owned;
    return c != null && c.cluster() != null && !relevantDownNodes(c.cluster().getPartitions().getPartitions()).isEmpty();
  }

  /** Cluster: node connections that dropped and are not back, with the address they had. */
  private final Map<RedisChannelHandler<?, ?>, SocketAddress> downNodes = new ConcurrentHashMap<>();
  /** Cluster: where each node connection last connected. */
  private final Map<RedisChannelHandler<?, ?>, SocketAddress> nodeAddresses =
      java.util.Collections.synchronizedMap(new java.util.WeakHashMap<>());

  /** Cluster: whether one of the broker's connections to {@code node} dropped and is not back (for health). */
  public boolean nodeConnectionDown(RedisURI node) {
    downNodes.keySet().removeIf(RedisChannelHandler::isClosed);
    return downNodes.values().stream().anyMatch(a -> sameAddress(a, node));
  }

  /** The addresses of the down node connections whose node still serves slots in {@code nodes}. */
  private List<SocketAddress> relevantDownNodes(Iterable<RedisClusterNode> nodes) {
    downNodes.keySet().removeIf(RedisChannelHandler::isClosed); // Lettuce gave up on them (node left the cluster)
    List<SocketAddress> relevant = new ArrayList<>();
    for (SocketAddress a : downNodes.values()) {
      for (RedisClusterNode n : nodes) {
        if (!n.hasNoSlots() && sameAddress(a, n.getUri())) {
          relevant.add(a);
          break;
        }
      }
    }
    return relevant;
  }

  private static boolean sameAddress(SocketAddress a, RedisURI node) {
    if (!(a instanceof java.net.InetSocketAddress isa) || isa.getPort() != node.getPort()) {
      return false;
    }
    return node.getHost().equals(isa.getHostString())
        || isa.getAddress() != null && node.getHost().equals(isa.getAddress().getHostAddress());
  }

  /** Cluster: the INFO of the WARN/INFO pair once no node connection that matters is down. */
  private void nodesRecovered(Iterable<RedisClusterNode> nodes) {
    if (disconnectLogged && !closed && relevantDownNodes(nodes).isEmpty()) {
      disconnectLogged = false;
      LOG.info("Reconnected to {}: every node that serves slots is connected again (a node whose slots its replica took "
          + "over is retried in the background).", masked);
    }
  }

  /** Whether {@link #connect()} has succeeded. */
  public boolean isConnected() {
    return connected;
  }

  /**
   * The shared command connection (a cluster connection for a cluster: {@code dispatch} routes each
   * hand-built command by its first key); null before {@link #connect()}.
   */
  public StatefulConnection<byte[], byte[]> commandConnection() {
    return connection;
  }

  /** The deadlines of publishes sent without a Lettuce timer each ({@link RedisProducer#tracked}). */
  PublishDeadlines publishDeadlines() {
    return publishDeadlines;
  }

  /**
   * Whether Redis answers a PING on the command connection within {@code timeout}; false before
   * the connection is opened, after close, and when the PING fails or is late (it is then
   * cancelled, so a PING queued for a reconnect does not linger). Never throws.
   */
  public boolean ping(Duration timeout) {
    StatefulConnection<byte[], byte[]> c = connection;
    RedisClusterAsyncCommands<byte[], byte[]> commands = async;
    if (c == null || commands == null || closed || !c.isOpen()) {
      return false;
    }
    java.util.concurrent.Future<String> reply = commands.ping();
    try {
      return "PONG".equals(reply.get(Math.max(1, timeout.toMillis()), TimeUnit.MILLISECONDS));
    } catch (InterruptedException e) {
      reply.cancel(true);
      Thread.currentThread().interrupt();
      return false;
    } catch (Exception e) {
      reply.cancel(true);
      LOG.debug("PING to {} failed", masked, e);
      return false;
    }
  }

  /** The shared command connection's async API (publishing, settlement, heartbeats); non-blocking commands only. */
  public RedisClusterAsyncCommands<byte[], byte[]> commands() {
    return async;
  }

  /** The shared command connection's sync API; non-blocking commands only. */
  public RedisClusterCommands<byte[], byte[]> syncCommands() {
    return sync;
  }

  /** A new Pub/Sub connection, not yet {@link #adopt adopted}: the caller builds its listener first. */
  public StatefulRedisPubSubConnection<byte[], byte[]> connectPubSub() {
    LettuceClient c = connectedClient();
    try {
      // outside the lock: opened concurrently. On a cluster Lettuce subscribes on one node (PUBLISH
      // reaches every node) and, when that node fails, reconnects to another and subscribes again.
      if (c.cluster() != null) {
        return connectEndedByClose(c, c.cluster().connectPubSubAsync(ByteArrayCodec.INSTANCE));
      }
      return connectEndedByClose(c, c.client().connectPubSubAsync(ByteArrayCodec.INSTANCE, uri).toCompletableFuture());
    } catch (RuntimeException e) {
      throw closed ? closedError() : connectFailure(e, c);
    }
  }

  /**
   * Waits for a connection being opened, but not past {@link #close()}: Lettuce's blocking
   * {@code connect} waits without a bound of its own, and a connect whose handshake was under way
   * when close() shut the client down could then block its caller for good (seen in
   * RedisTransportRaceTest: 2 of 40 consumer connects never returned). close() ends every wait
   * registered here with the "closed" error; a connection that arrives after that is closed at once.
   * The wait is also bounded by the connect timeout plus twice the command timeout.
   */
  private <C extends StatefulConnection<?, ?>> C connectEndedByClose(LettuceClient c, CompletableFuture<C> opening) {
    CompletableFuture<C> waiter = new CompletableFuture<>();
    connectWaits.add(waiter);
    opening.whenComplete((opened, error) -> {
      if (error != null) {
        waiter.completeExceptionally(error);
      } else if (!waiter.complete(opened)) {
        closeQuietly(opened); // close() or the bound ended the wait: nobody will adopt it
      }
    });
    if (closed) {
      waiter.completeExceptionally(closedError()); // close() may have run before the add above
    }
    Duration bound = connectTimeout.plus(commandTimeout.multipliedBy(2));
    try {
      return waiter.get(bound.toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS);
    } catch (java.util.concurrent.ExecutionException e) {
      Throwable cause = e.getCause() instanceof CompletionException ce && ce.getCause() != null ? ce.getCause() : e.getCause();
      throw cause instanceof RuntimeException r ? r : new io.lettuce.core.RedisConnectionException(String.valueOf(cause), cause);
    } catch (java.util.concurrent.TimeoutException e) {
      if (!waiter.completeExceptionally(e)) {
        return waiter.join(); // it arrived just now
      }
      throw connectFailure(new io.lettuce.core.RedisConnectionException("Connecting did not finish within "
          + bound.toMillis() + " ms (connectTimeout plus twice commandTimeout)", e), c);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      waiter.completeExceptionally(e);
      throw new BrookException("Interrupted while connecting to " + masked + ".", e);
    } finally {
      connectWaits.remove(waiter);
    }
  }

  private void closeQuietly(StatefulConnection<?, ?> opened) {
    try {
      opened.closeAsync();
    } catch (RuntimeException e) {
      LOG.debug("Closing a connection to {} that arrived after its wait ended failed", masked, e);
    }
  }

  /**
   * Takes a connection the caller opened into the transport's care: {@link #close()} closes it and
   * {@code events} hears of its losses. Throws the "closed" error, after closing it, when the
   * transport was closed meanwhile.
   */
  public void adopt(StatefulConnection<?, ?> opened, Events events) {
    register(opened, () -> adopted.put(opened, events));
  }

  /**
   * Takes a connection of Brook's own (not a Lettuce one) into the transport's care: {@link #close()}
   * closes it. Returns what its owner tells of its losses, so that they are counted ({@link #losses()})
   * and logged (one WARN, one INFO when back) and show in {@link #reconnecting()} as Lettuce's are.
   * Throws the "closed" error, after closing it, when the transport was closed meanwhile.
   */
  public Events adoptOwn(AutoCloseable opened) {
    register(opened, () -> own.add(opened));
    return ownEvents;
  }

  /** Forgets a connection of {@link #adoptOwn}, which its owner closes. */
  public void disown(AutoCloseable opened) {
    own.remove(opened);
  }

  private final Events ownEvents = new Events() {
    @Override
    public void disconnected() {
      if (closed) {
        return;
      }
      losses.increment();
      if (!disconnectLogged) {
        disconnectLogged = true;
        LOG.warn("Lost the connection to {}; reconnecting in the background.", masked);
      }
    }

    @Override
    public void reconnected() {
      if (disconnectLogged && !closed) {
        disconnectLogged = false;
        LOG.info("Reconnected to {}; channels and patterns are subscribed again.", masked);
      }
    }
  };

  /**
   * The single node's URI when Brook may read Pub/Sub on a socket of its own: a {@code redis://} or
   * {@code rediss://} URL to one host and port, with a client of Brook's own (a client the user passed
   * may carry TLS or other settings Brook cannot read); null for a cluster, Sentinel, a Unix socket or
   * STARTTLS, which keep Lettuce's Pub/Sub connection.
   */
  public RedisURI standaloneUri() {
    if (isCluster() || sentinel() || uri.getSocket() != null || uri.isStartTls() || options.redisClient() != null) {
      return null;
    }
    return uri;
  }

  /**
   * A new connection for one consumer's blocking reads; close it with {@link #closeDedicated}.
   *
   * @param onReconnect runs on a Lettuce I/O thread each time the connection is back after a loss;
   *     it must only set a flag
   */
  public Dedicated dedicatedConnection(Runnable onReconnect) {
    LettuceClient c = connectedClient();
    Dedicated opened;
    try {
      // outside the lock: consumers connect concurrently
      if (c.cluster() != null) {
        StatefulRedisClusterConnection<byte[], byte[]> cc = connectEndedByClose(c, c.cluster().connectAsync(ByteArrayCodec.INSTANCE));
        opened = new Dedicated(cc, cc.sync(), cc.async());
      } else {
        StatefulRedisConnection<byte[], byte[]> sc = connectEndedByClose(c,
            c.client().connectAsync(ByteArrayCodec.INSTANCE, uri).toCompletableFuture());
        opened = new Dedicated(sc, sc.sync(), sc.async());
      }
    } catch (RuntimeException e) {
      throw closed ? closedError() : connectFailure(e, c);
    }
    adopt(opened.connection(), onReconnect::run);
    return opened;
  }

  /**
   * The connection durable publishes of {@code key} go on: the write and its {@code WAIT} must
   * share one, since WAIT counts the replicas that have every earlier write <em>of its
   * connection</em>, and WAIT blocks the connection it runs on until they answer, so it is not the
   * command connection (acknowledgements and heartbeats would wait behind it). On one node and
   * through Sentinel, one connection for every key, opened at first use, reconnecting (through the
   * sentinels) like the others, closed with the transport. This is the one place that knows which
   * node a key lives on: on Redis Cluster it must be a connection to the master of the key's slot,
   * whose replicas WAIT then counts.
   */
  public StatefulRedisConnection<byte[], byte[]> durableConnection(byte[] key) {
    if (isCluster()) {
      return durableNodeConnection(key);
    }
    StatefulRedisConnection<byte[], byte[]> c = durable;
    if (c != null) {
      return c;
    }
    synchronized (durableLock) {
      if (durable == null) {
        // No reconnect hook: a durable publish in flight when the connection drops fails and says so.
        durable = (StatefulRedisConnection<byte[], byte[]>) dedicatedConnection(() -> {}).connection();
      }
      return durable;
    }
  }

  /**
   * {@link #durableConnection} on a Redis Cluster: the connection to the master of {@code key}'s slot
   * within a cluster connection of the durable publishes' own (opened at first use, closed with the
   * transport), so that the write and its WAIT reach that master, which counts its replicas, on one
   * connection, and WAIT blocks neither the command connection nor another master. Which node serves
   * the slot comes from Lettuce's view of the cluster, refreshed on failovers and redirects; a write
   * that still lands on a node that gave the slot away fails with MOVED and is retried
   * ({@link RedisProducer#sendDurable}).
   */
  @SuppressWarnings("unchecked")
  private StatefulRedisConnection<byte[], byte[]> durableNodeConnection(byte[] key) {
    StatefulRedisClusterConnection<byte[], byte[]> cc = durableCluster;
    if (cc == null) {
      synchronized (durableLock) {
        if (durableCluster == null) {
          durableCluster = (StatefulRedisClusterConnection<byte[], byte[]>) dedicatedConnection(() -> {}).connection();
        }
        cc = durableCluster;
      }
    }
    int slot = SlotHash.getSlot(key);
    RedisClusterNode master = cc.getPartitions().getMasterBySlot(slot);
    if (master == null) {
      throw new BrookException("No master of " + masked + " serves hash slot " + slot + " now (a failover or a reshard "
          + "is under way); the durable publish was not sent. Publish again.");
    }
    return cc.getConnection(master.getUri().getHost(), master.getUri().getPort());
  }

  /**
   * Cluster: the durable publishes' connection to the node at {@code host:port}, where a MOVED or ASK
   * sent a durable write ({@link RedisProducer#sendDurable}); Lettuce refuses a node its view of the
   * cluster does not know.
   */
  public CompletableFuture<StatefulRedisConnection<byte[], byte[]>> durableNodeConnection(String host, int port) {
    StatefulRedisClusterConnection<byte[], byte[]> cc = durableCluster;
    if (cc == null || closed) {
      return CompletableFuture.failedFuture(closedError());
    }
    return cc.getConnectionAsync(host, port);
  }

  /** Whether Redis answered MOVED or ASK, anywhere in the chain (a publish's error wraps Redis' reply). */
  private static boolean redirected(Throwable error) {
    for (Throwable t = error; t != null; t = t.getCause() == t ? null : t.getCause()) {
      String text = String.valueOf(t.getMessage());
      if (text.startsWith("MOVED ") || text.startsWith("ASK ")) {
        return true;
      }
    }
    return false;
  }

  /**
   * The durable publishes' cluster connection saw a write answered MOVED or ASK: its view of the
   * cluster is behind. Asks Lettuce for the topology again (at most what its adaptive refresh would).
   */
  private void durableRedirected() {
    long now = System.nanoTime();
    long last = lastDurableRefresh;
    if (last != 0 && now - last < TimeUnit.SECONDS.toNanos(1)) {
      return; // at most once a second, as Lettuce's adaptive refresh
    }
    lastDurableRefresh = now;
    LettuceClient c = owned;
    if (c != null && c.cluster() != null) {
      c.cluster().refreshPartitionsAsync();
    }
  }

  /**
   * A consumer's own connection with its APIs, typed by what single-node and cluster connections
   * share. Blocking reads on it hold up no one else's commands.
   */
  public record Dedicated(StatefulConnection<byte[], byte[]> connection, RedisClusterCommands<byte[], byte[]> sync,
      RedisClusterAsyncCommands<byte[], byte[]> async) {}

  /** Closes an adopted connection before the transport closes (a stopped consumer's). */
  public void closeDedicated(Dedicated c) {
    rerouted.remove(c.connection());
    if (adopted.remove(c.connection()) != null) {
      c.connection().closeAsync();
    }
  }

  /**
   * Where a consumer's blocking read on {@code key} runs: the node and the connection's {@code
   * CLIENT ID} there, for {@link #unblock}. On a single node the dedicated connection's id; on a
   * cluster the id of the node connection the cluster connection routes {@code key}'s slot to (CLIENT
   * ID on the cluster connection itself would go to an arbitrary node).
   */
  public Blocked blockedClient(Dedicated d, byte[] key) {
    if (!(d.connection() instanceof StatefulRedisClusterConnection<byte[], byte[]> cc)) {
      return new Blocked(null, 0, d.sync().clientId());
    }
    RedisClusterNode master = cc.getPartitions().getMasterBySlot(SlotHash.getSlot(key));
    if (master == null) {
      return null; // no node serves the slot now: the read fails and the id is asked for again
    }
    RedisURI node = master.getUri();
    return new Blocked(node.getHost(), node.getPort(), cc.getConnection(node.getHost(), node.getPort()).sync().clientId());
  }

  /** A connection blocked in a read: its node (host null on a single node) and its CLIENT ID there. */
  public record Blocked(String host, int port, long id) {}

  /**
   * {@code CLIENT UNBLOCK id TIMEOUT} on the node the read is blocked on, from the command
   * connection. On a cluster whose slot moved meanwhile (a failover) it reaches the old node and
   * unblocks nothing, or fails at once when that node is down; the caller then closes the connection
   * under the read (what it had read stays pending and is delivered again).
   */
  public java.util.concurrent.CompletionStage<Long> unblock(Blocked blocked) {
    if (blocked.host() == null || !(connection instanceof StatefulRedisClusterConnection<byte[], byte[]> cc)) {
      return async.clientUnblock(blocked.id(), UnblockType.TIMEOUT);
    }
    // A node that is down (a failover under way) would queue the command until commandTimeout: fail
    // at once instead, and the caller ends the read by closing its connection.
    return cc.getConnectionAsync(blocked.host(), blocked.port()).thenCompose(node -> node.isOpen()
        ? node.async().clientUnblock(blocked.id(), UnblockType.TIMEOUT)
        : CompletableFuture.failedFuture(new RedisConnectionException("The connection to " + blocked.host() + ":"
            + blocked.port() + " is down")));
  }

  /**
   * A command on the command connection failed with {@code error}: when it says the connection
   * reached a replica ({@link RedisErrors.ReadOnly}), {@link #reroute} it. For the places that see
   * the command connection's failures (publishes, settlements, heartbeats); cheap otherwise.
   */
  public void failed(Throwable error) {
    failed(connection, error);
  }

  /** {@link #failed(Throwable)} for one of the connections the kinds opened (a consumer's). */
  public void failed(StatefulConnection<?, ?> c, Throwable error) {
    if (isCluster() && error != null && c != connection && redirected(error)) {
      durableRedirected(); // a durable write sent to a node that no longer serves its slot
      return;
    }
    if (c != null && error != null && RedisErrors.translate(error) instanceof RedisErrors.ReadOnly) {
      reroute(c);
    }
  }

  /**
   * Sends a connection that reached a replica to the primary again. Through Sentinel, Lettuce asks
   * the sentinels for the primary whenever it (re)connects, but never while a connection stays
   * open: one that reconnected while a sentinel still named the old primary — now a replica —
   * would answer READONLY for good. So Brook closes it from the server side ({@code CLIENT KILL ID}
   * of its own id, a Redis command, as Lettuce has no reconnect call): Lettuce sees the loss and
   * reconnects through the sentinels. At most once per second per connection; with a plain {@code
   * redis://} URL there is nobody to ask, so nothing is done (the error tells the user).
   */
  public void reroute(StatefulConnection<?, ?> connection) {
    if (uri.getSentinels().isEmpty() || closed || !connection.isOpen()
        || !(connection instanceof StatefulRedisConnection<?, ?> c)) {
      return; // a cluster connection follows its masters itself
    }
    long now = System.nanoTime();
    boolean[] due = {false};
    rerouted.compute(c, (k, last) -> {
      due[0] = last == null || now - last >= TimeUnit.SECONDS.toNanos(1);
      return due[0] ? now : last;
    });
    if (!due[0]) {
      return;
    }
    if (now - lastRerouteWarning > TimeUnit.SECONDS.toNanos(10) || lastRerouteWarning == 0) {
      lastRerouteWarning = now;
      LOG.warn("A connection to {} reached a replica (READONLY): a sentinel named it as primary while a failover was "
          + "going on. Reconnecting it, which asks the sentinels for the primary again (more within 10 s at DEBUG).", masked);
    } else {
      LOG.debug("Another connection to {} reached a replica; reconnecting it", masked);
    }
    @SuppressWarnings("unchecked")
    io.lettuce.core.api.async.RedisAsyncCommands<Object, Object> commands =
        (io.lettuce.core.api.async.RedisAsyncCommands<Object, Object>) c.async();
    commands.clientId()
        .thenCompose(id -> commands.clientKill(io.lettuce.core.KillArgs.Builder.id(id).skipme(false)))
        .whenComplete((killed, e) -> {
          if (e != null) {
            LOG.debug("Could not end the connection to the replica of {}", masked, e);
          }
        });
  }

  /**
   * One platform thread ({@code brook-timer}, daemon) for this broker's periodic and delayed work —
   * List heartbeats, the back-off of nacked List items. A platform thread, so CPU-bound handlers
   * that keep every virtual-thread carrier busy cannot delay a heartbeat until its key expires.
   * Tasks must be short and must not block (they send asynchronous commands). Created at first use;
   * {@link #close()} shuts it down.
   */
  public synchronized ScheduledExecutorService timer() {
    if (timer == null) {
      if (timerStopped) {
        throw closedError();
      }
      timer = new ScheduledThreadPoolExecutor(1, Thread.ofPlatform().name("brook-timer").daemon(true).factory());
      timer.setRemoveOnCancelPolicy(true);
      timer.setExecuteExistingDelayedTasksAfterShutdownPolicy(false);
    }
    return timer;
  }

  private void stopTimer() {
    ScheduledThreadPoolExecutor t;
    synchronized (this) {
      t = timer;
      timer = null;
      timerStopped = true;
    }
    if (t != null) {
      t.shutdownNow();
      try {
        t.awaitTermination(2, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }

  /**
   * Once, in order: stops intake (nothing is registered after this; connections opened meanwhile
   * are closed by their openers), flushes the command connection, then closes the connections, the
   * DNS resolver, the client and the resources (those Brook created), all outside the lock.
   */
  public void close() {
    lock.lock();
    try {
      if (closed) {
        return;
      }
      closed = true;
      connected = false;
    } finally {
      lock.unlock();
    }
    for (CompletableFuture<?> waiter : connectWaits) {
      waiter.completeExceptionally(closedError());
    }
    try {
      closeConnections();
    } finally {
      stopTimer();
    }
  }

  private void closeConnections() {
    reactor.core.Disposable events = topologyEvents;
    topologyEvents = null;
    if (events != null) {
      events.dispose();
    }
    masterWatches.clear();
    publishesInFlight.clear();
    flush();
    List<AutoCloseable> connections = new ArrayList<>();
    LettuceClient mine;
    lock.lock();
    try {
      connections.addAll(adopted.keySet());
      adopted.clear();
      connections.addAll(own);
      own.clear();
      if (connection != null) {
        connections.add(connection);
      }
      connection = null;
      durable = null;
      durableCluster = null;
      async = null;
      sync = null;
      mine = owned;
      owned = null;
    } finally {
      lock.unlock();
    }
    for (AutoCloseable c : connections) {
      try {
        c.close();
      } catch (Exception e) {
        LOG.debug("Closing a connection to {} failed", masked, e);
      }
    }
    if (mine != null) {
      mine.release(masked);
    }
  }

  /**
   * Waits (at most a second) until Redis has answered every command sent so far on the command
   * connection — acknowledgements and give-backs of the subscriptions just stopped — by sending a
   * PING behind them: replies come in order. Closing without it could cut them off.
   */
  private void flush() {
    StatefulConnection<byte[], byte[]> c = connection;
    if (c == null || !c.isOpen()) {
      return;
    }
    try {
      async.ping().get(Math.min(1_000, commandTimeout.toMillis()), TimeUnit.MILLISECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (Exception e) {
      LOG.debug("Flushing the command connection to {} before closing failed", masked, e);
    }
  }

  private StatefulConnection<byte[], byte[]> connectCommandConnection(LettuceClient created) {
    if (created.cluster() != null) {
      // Reads the topology from the seeds first; fails when none of them answers as a cluster node.
      return created.cluster().connect(ByteArrayCodec.INSTANCE);
    }
    RedisClient client = created.client();
    try {
      return client.connect(ByteArrayCodec.INSTANCE, uri);
    } catch (RuntimeException first) {
      if (!handshakeRace(first) || closed) {
        throw first;
      }
      // Lettuce lost the channel before its handshake handler was in place (seen under heavy load):
      // that says nothing about the server, so one more attempt tells what the server really answers.
      LOG.debug("Connecting to {} failed before the handshake began; trying once more", masked, first);
      return client.connect(ByteArrayCodec.INSTANCE, uri);
    }
  }

  /** Whether a connect failed in Lettuce's own set-up ("RedisHandshakeHandler not registered"), not at the server. */
  private static boolean handshakeRace(Throwable e) {
    for (Throwable t = e; t != null; t = t.getCause() == t ? null : t.getCause()) {
      if (String.valueOf(t.getMessage()).contains("HandshakeHandler not registered")) {
        return true;
      }
    }
    return false;
  }

  /** A failed connect as a {@link BrookException} naming the server, the reason and the fix. */
  private BrookException connectFailure(RuntimeException e, LettuceClient c) {
    Throwable root = e;
    Throwable refused = null;
    Throwable unknownHost = null;
    Throwable tls = null;
    while (true) {
      if (root instanceof ConnectException && refused == null) {
        refused = root;
      } else if (root instanceof UnknownHostException && unknownHost == null) {
        unknownHost = root;
      } else if (root instanceof SSLException && tls == null) {
        tls = root;
      }
      if (root.getCause() == null || root.getCause() == root) {
        break;
      }
      root = root.getCause();
    }
    String text = String.valueOf(root.getMessage());
    if (!uri.getSentinels().isEmpty()) {
      BrookException sentinel = sentinelFailure(e, c.client());
      if (sentinel != null) {
        return sentinel;
      }
    }
    Throwable typed = RedisErrors.translate(root);
    if (typed instanceof RedisErrors.NoSuchDatabase && c.cluster() == null) {
      return noSuchDatabase(text, c.client(), e);
    }
    if (c.cluster() != null) {
      BrookException cluster = clusterConnectFailure(e);
      if (cluster != null) {
        return cluster;
      }
    }
    if (typed instanceof RedisErrors.WrongPass) {
      return new BrookException("Redis at " + masked + " rejected the credentials (" + text
          + "). Check the user and password in the URL: redis://user:password@host:port.", e);
    }
    if (typed instanceof RedisErrors.NoAuth) {
      return new BrookException("Redis at " + masked + " requires authentication (" + text
          + "). Put the user and password in the URL: redis://user:password@host:port.", e);
    }
    if (typed instanceof RedisErrors.NoPerm) {
      return new BrookException("Redis at " + masked + " refused a command Brook needs to connect (" + text
          + "). Grant the URL's user the commands it uses, e.g. ACL SETUSER <user> +@all ~* &*.", e);
    }
    String reason;
    String fix = "Start redis-server there or pass another URL.";
    if (tls != null) {
      reason = "TLS handshake failed: " + tls.getMessage();
      fix = "Check that the server speaks TLS on that port (rediss://) and that its certificate is signed by a CA you "
          + "trust: RedisBroker.builder().caCertificate(Path) takes the CA's PEM file.";
    } else if (refused != null) {
      reason = "connection refused";
    } else if (unknownHost != null) {
      reason = "unknown host";
      fix = "Check the host name in the URL.";
    } else if (root.getClass().getSimpleName().contains("Timeout") || text.contains("timed out")) {
      reason = "no answer within " + connectTimeout.toMillis() + " ms";
    } else if (!(e instanceof RedisConnectionException)) {
      reason = e.getClass().getSimpleName() + ": " + text;
    } else {
      reason = text;
    }
    return new BrookException("No Redis at " + masked + " (" + reason + "). " + fix, e);
  }

  /**
   * A cluster connect that failed before any node could be used: credentials refused, not a cluster
   * node (cluster support disabled), or no seed answered. Null for a TLS failure, which the
   * single-node text describes as well.
   */
  private BrookException clusterConnectFailure(RuntimeException e) {
    StringBuilder all = new StringBuilder();
    boolean tlsFailed = false;
    java.util.Set<Throwable> seen = java.util.Collections.newSetFromMap(new java.util.IdentityHashMap<>());
    java.util.ArrayDeque<Throwable> todo = new java.util.ArrayDeque<>(List.of(e));
    while (!todo.isEmpty()) {
      Throwable t = todo.poll();
      if (!seen.add(t)) {
        continue;
      }
      all.append(' ').append(t.getMessage());
      if (t instanceof SSLException) {
        tlsFailed = true; // the TLS text of a single node says what to do
      }
      if (t.getCause() != null) {
        todo.add(t.getCause());
      }
      todo.addAll(List.of(t.getSuppressed()));
    }
    String text = all.toString();
    if (text.contains("WRONGPASS")) {
      return new BrookException("Redis Cluster at " + masked + " rejected the credentials (WRONGPASS invalid "
          + "username-password pair or user is disabled). Check the user and password in the URL: "
          + "redis-cluster://user:password@host:port,host:port; a cluster does not share ACL users, so every node "
          + "needs the user.", e);
    }
    if (text.contains("NOAUTH")) {
      return new BrookException("Redis Cluster at " + masked + " requires authentication. Put the user and password "
          + "in the URL: redis-cluster://user:password@host:port,host:port.", e);
    }
    if (text.contains("cluster support disabled")) {
      return new BrookException("Redis at " + masked + " is not a Redis Cluster node (it runs with cluster support "
          + "disabled). Use a redis://host:port URL for a single Redis, or list the nodes of your cluster in the "
          + "redis-cluster:// URL.", e);
    }
    if (tlsFailed) {
      return null;
    }
    return new BrookException("No Redis Cluster at " + masked + ": none of the nodes in the URL answered within "
        + connectTimeout.toMillis() + " ms (" + RedisUrls.scrub(String.valueOf(e.getMessage()), masked) + "). Check "
        + "that the cluster runs and that at least one node in the URL is reachable from here; any one is enough, "
        + "the rest is discovered.", e);
  }

  /**
   * A connect through Sentinel that failed at the sentinels, not at the primary: none answered, or
   * none knows the URL's master name (then the names they do monitor, asked with {@code SENTINEL
   * MASTERS}, go in the message); null when the sentinels named a primary and the failure is there.
   */
  private BrookException sentinelFailure(RuntimeException e, RedisClient c) {
    String chain = chainText(e);
    String name = uri.getSentinelMasterId();
    if (chain.contains("Cannot connect to a Redis Sentinel") || chain.contains("Cannot connect Redis Sentinel")) {
      return new BrookException("No sentinel at " + masked + " answered (" + (chain.contains("Connection refused")
          ? "connection refused" : "no answer within " + connectTimeout.toMillis() + " ms") + "). Start the sentinels there, "
          + "or list sentinels that run in the URL: redis-sentinel://host1:26379,host2:26379/0#" + name + ".", e);
    }
    if (!chain.contains("using sentinel for masterId")) {
      return null;
    }
    List<String> known = new ArrayList<>();
    for (RedisURI sentinel : uri.getSentinels()) {
      RedisURI address = RedisURI.builder(sentinel).withTimeout(connectTimeout).build();
      try (var probe = c.connectSentinel(StringCodec.UTF8, address)) {
        probe.sync().masters().forEach(m -> known.add(m.get("name")));
        break;
      } catch (RuntimeException notTold) {
        LOG.debug("Could not ask the sentinel {} which masters it monitors", address, notTold);
      }
    }
    String example = known.isEmpty() ? "" : ", e.g. " + masked.substring(0, masked.lastIndexOf('#') + 1) + known.get(0);
    return new BrookException("The sentinels at " + masked + " know no master named '" + name + "'"
        + (known.isEmpty() ? "" : " (they monitor " + String.join(", ", known) + ")") + ". Put the name they monitor "
        + "(sentinel monitor <name> ... in sentinel.conf; SENTINEL MASTERS lists them) after the # of the URL" + example + ".", e);
  }

  /** The messages of an exception, its causes and what they suppressed, for recognising Lettuce's texts. */
  private static String chainText(Throwable e) {
    StringBuilder sb = new StringBuilder();
    java.util.Set<Throwable> seen = java.util.Collections.newSetFromMap(new java.util.IdentityHashMap<>());
    java.util.ArrayDeque<Throwable> todo = new java.util.ArrayDeque<>(List.of(e));
    while (!todo.isEmpty()) {
      Throwable t = todo.pop();
      if (!seen.add(t)) {
        continue;
      }
      sb.append(t.getMessage()).append('\n');
      if (t.getCause() != null) {
        todo.push(t.getCause());
      }
      for (Throwable s : t.getSuppressed()) {
        todo.push(s);
      }
    }
    return sb.toString();
  }

  /**
   * Redis refused the URL's database number: says so with how many databases it has, asked on
   * database 0 ({@code CONFIG GET databases}); without that count when Redis does not tell.
   */
  private BrookException noSuchDatabase(String redisSays, RedisClient c, RuntimeException e) {
    int db = uri.getDatabase();
    String count = null;
    try (StatefulRedisConnection<String, String> probe = c.connect(StringCodec.UTF8,
        RedisURI.builder(uri).withDatabase(0).build())) {
      count = probe.sync().configGet("databases").get("databases");
    } catch (RuntimeException notTold) {
      LOG.debug("Could not ask {} how many databases it has", masked, notTold);
    }
    if (count != null && count.matches("\\d+")) {
      int n = Integer.parseInt(count);
      return new BrookException("Redis at " + masked + " has no database " + db + " (it has " + n + " databases: 0.."
          + (n - 1) + "); use a database number below " + n + " in the URL, or raise `databases` in redis.conf.", e);
    }
    return new BrookException("Redis at " + masked + " has no database " + db + " (Redis says: " + redisSays
        + "); use a lower database number in the URL, or raise `databases` in redis.conf.", e);
  }

  /** Times one of the broker's connections (commands, Pub/Sub, a consumer's) dropped while open; each reconnects. */
  public long losses() {
    return losses.sum();
  }

  /**
   * One WARN when a connection drops, one INFO when it is back; Lettuce reconnects and
   * resubscribes. Tells the owners of adopted connections about their own connection's losses. Runs
   * on Lettuce I/O threads: only logs and sets flags. On a client the user passed, it hears of the
   * user's connections too, and ignores them.
   */
  /** Cluster only: node connections seen connected, so that a second connect is known as a reconnect. */
  private final Map<RedisChannelHandler<?, ?>, Boolean> nodeConnections =
      java.util.Collections.synchronizedMap(new java.util.WeakHashMap<>());

  /**
   * False the first time a node connection connects (a new one, or a topology refresh's probe),
   * true for every later connect: a reconnect.
   */
  private boolean firstConnect(RedisChannelHandler<?, ?> c) {
    return nodeConnections.put(c, Boolean.TRUE) == null;
  }

  private final class ConnectionLog implements RedisConnectionStateListener {
    @Override
    public void onRedisConnected(RedisChannelHandler<?, ?> c, SocketAddress address) {
      Events events = adopted.get(c);
      if (events != null) {
        events.reconnected();
      } else if (clusterSeeds != null && c != connection && !firstConnect(c)) {
        // A cluster connection reads through node connections Lettuce opens under it, and this
        // listener hears of those, not of the cluster connection: a node connection that is back
        // may be a consumer's, whose read may have run without its reply. No owner is known, so
        // every consumer looks again (one LRANGE or XPENDING each; reconnects are rare).
        adopted.values().forEach(Events::reconnected);
      }
      if (clusterSeeds != null && events == null && c != connection) {
        nodeAddresses.put(c, address);
        if (downNodes.remove(c) != null) {
          LettuceClient client = owned;
          if (client != null && client.cluster() != null) {
            nodesRecovered(client.cluster().getPartitions().getPartitions());
          }
        }
        return;
      }
      if (disconnectLogged && (events != null || c == connection)) {
        disconnectLogged = false;
        LOG.info("Reconnected to {}; channels and patterns are subscribed again.", masked);
      }
    }

    @Override
    public void onRedisDisconnected(RedisChannelHandler<?, ?> c) {
      // Lettuce reports every disconnect with isOpen() false. One Brook closes on purpose (a stopped
      // List/Stream consumer, or everything at close) is no longer registered here when it goes.
      Events events = adopted.get(c);
      boolean ours = events != null || c == connection;
      if (!closed && !ours && clusterSeeds != null && !c.isClosed()) {
        // A node connection under one of our cluster connections dropped (closed on purpose, as a stopped
        // consumer's or a topology refresh's probe, it says isClosed). Lettuce reconnects it.
        SocketAddress address = nodeAddresses.get(c);
        if (address != null) {
          losses.increment();
          downNodes.put(c, address);
          if (!disconnectLogged) {
            disconnectLogged = true;
            LOG.warn("Lost the connection to {} (a node of {}); reconnecting in the background.", address, masked);
          } else {
            LOG.debug("Lost another connection to {} (a node of {})", address, masked);
          }
        }
        return;
      }
      if (closed || !ours) {
        return;
      }
      losses.increment();
      if (events != null) {
        events.disconnected();
      }
      if (!disconnectLogged) {
        disconnectLogged = true;
        LOG.warn("Lost the connection to {}; reconnecting in the background.", masked);
      }
    }
  }

}
