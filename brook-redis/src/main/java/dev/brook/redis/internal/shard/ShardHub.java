package dev.brook.redis.internal.shard;

import dev.brook.BrookException;
import dev.brook.redis.PubSubMetrics;
import dev.brook.redis.internal.PubSubSnapshot;
import dev.brook.redis.internal.RedisConnections;
import dev.brook.redis.internal.Timing;
import dev.brook.spi.Transport;
import io.lettuce.core.LettuceFutures;
import io.lettuce.core.RedisFuture;
import io.lettuce.core.cluster.SlotHash;
import io.lettuce.core.cluster.models.partitions.Partitions;
import io.lettuce.core.cluster.models.partitions.RedisClusterNode;
import io.lettuce.core.cluster.pubsub.RedisClusterPubSubAdapter;
import io.lettuce.core.cluster.pubsub.StatefulRedisClusterPubSubConnection;
import io.lettuce.core.pubsub.RedisPubSubAdapter;
import io.lettuce.core.pubsub.StatefulRedisPubSubConnection;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * All of a broker's sharded Pub/Sub subscriptions on one Pub/Sub connection of their own. Each
 * shard channel has a route with the sinks of the subscriptions that read it; SSUBSCRIBE is sent
 * when a route gets its first sink and SUNSUBSCRIBE when it loses its last (ref-counted, as {@code
 * PubSubHub} does for channels), so closing one subscription never disturbs another on the same
 * channel.
 *
 * <p>On one server the connection is a plain Pub/Sub connection, and Lettuce subscribes every shard
 * channel again after a reconnect. On a cluster it is Lettuce's cluster Pub/Sub connection, which
 * sends each SSUBSCRIBE to a connection of the node owning the channel's slot; Lettuce 7.7 then has
 * known gaps — a node connection keeps reconnecting to a dead master instead of subscribing on its
 * promoted replica (lettuce#2356), a slot moved or a shard removed leaves its shard channels
 * unsubscribed (lettuce#3213: Redis sends SUNSUBSCRIBE and nobody subscribes again), and the
 * default connection is dropped on every periodic topology refresh once its node left the cluster
 * (lettuce#2434). Brook therefore keeps its own account, {@link #check()}: each route remembers the
 * node that confirmed it (SSUBSCRIBE's reply), a SUNSUBSCRIBE that Brook did not ask for marks it
 * lost, and a check every {@link #CHECK_PERIOD} on the transport's timer (at once after such a
 * SUNSUBSCRIBE) subscribes again every route that is lost or whose slot now belongs to another master. Every few checks it also asks the
 * owning master whether anyone is subscribed at all ({@code PUBSUB SHARDNUMSUB}); none means the
 * subscription is gone whatever the connection believes, and the route is subscribed again.
 *
 * <p>Threads: messages arrive on Lettuce I/O threads and are only handed to the sinks (which
 * buffer them). {@code lock} serializes route changes with sending their SSUBSCRIBE/SUNSUBSCRIBE;
 * confirmations are awaited outside it, so concurrent starts pipeline their commands. The check
 * runs on the transport's {@code brook-timer} thread and only sends asynchronous commands.
 */
final class ShardHub implements RedisConnections.Events {

  private static final Logger LOG = LoggerFactory.getLogger("dev.brook.redis.PubSub");

  /** How often the cluster check looks at the routes; it sends nothing while all is well. */
  static final Duration CHECK_PERIOD = Duration.ofMillis(500);

  /** Every this many checks, PUBSUB SHARDNUMSUB asks the owners whether the routes are subscribed at all. */
  private static final int COUNT_EVERY = 10;

  private final StatefulRedisPubSubConnection<byte[], byte[]> connection;
  /** The same connection on a cluster; null on one server. */
  private final StatefulRedisClusterPubSubConnection<byte[], byte[]> cluster;
  /** Asks the owning master how many clients subscribe to a shard channel (PUBSUB SHARDNUMSUB); null on one server. */
  /**
   * {@code PUBSUB SHARDNUMSUB} of several channels on one node (by node id): the number of
   * subscribers of each, by channel name. One command per node and count, not per channel.
   */
  private final java.util.function.BiFunction<String, List<byte[]>,
      java.util.concurrent.CompletionStage<Map<String, Long>>> subscribers;
  private final String server;
  private final int maxMessageSize;
  private final Timing timing;
  private final Supplier<RuntimeException> closedError;
  private final ConcurrentHashMap<String, Route> routes = new ConcurrentHashMap<>();
  private final ReentrantLock lock = new ReentrantLock();
  private final AtomicLong received = new AtomicLong();
  private final AtomicLong resubscribed = new AtomicLong();
  /** Resubscriptions that began a gap (the first attempt for a route since Redis last confirmed it). */
  private final AtomicLong gaps = new AtomicLong();
  private int checks;
  /** Runs {@link #check()} soon, off the I/O thread (the transport's timer); set once the check is scheduled. */
  private volatile java.util.concurrent.Executor soon;

  // Gaps of the connection: under gapLock, on I/O threads.
  private final ReentrantLock gapLock = new ReentrantLock();
  private long downSince;
  private long disconnects;
  private long downtimeNanos;

  ShardHub(StatefulRedisPubSubConnection<byte[], byte[]> connection,
      java.util.function.BiFunction<String, List<byte[]>, java.util.concurrent.CompletionStage<Map<String, Long>>> subscribers,
      String server,
      int maxMessageSize, Timing timing, Supplier<RuntimeException> closedError) {
    this.connection = connection;
    this.cluster = connection instanceof StatefulRedisClusterPubSubConnection<byte[], byte[]> c ? c : null;
    this.subscribers = subscribers;
    this.server = server;
    this.maxMessageSize = maxMessageSize;
    this.timing = timing;
    this.closedError = closedError;
    if (cluster != null) {
      // Messages of the default connection and of every node connection come here, each once.
      cluster.addListener(new RedisClusterPubSubAdapter<byte[], byte[]>() {
        @Override
        public void smessage(RedisClusterNode node, byte[] channel, byte[] message) {
          deliver(channel, message);
        }

        @Override
        public void ssubscribed(RedisClusterNode node, byte[] channel, long count) {
          confirmed(node, channel);
        }

        @Override
        public void sunsubscribed(RedisClusterNode node, byte[] channel, long count) {
          dropped(node, channel);
        }
      });
    } else {
      connection.addListener(new RedisPubSubAdapter<byte[], byte[]>() {
        @Override
        public void smessage(byte[] channel, byte[] message) {
          deliver(channel, message);
        }
      });
    }
  }

  /** Where {@link #check()} runs when a SUNSUBSCRIBE from Redis should not wait for the next period. */
  void checkOn(java.util.concurrent.Executor executor) {
    this.soon = executor;
  }

  /** Cluster: whether a node connection of the broker to a node is down ({@code RedisConnections#nodeConnectionDown}), for health. */
  private volatile java.util.function.Predicate<io.lettuce.core.RedisURI> nodeDown;

  void nodeDown(java.util.function.Predicate<io.lettuce.core.RedisURI> test) {
    nodeDown = test;
  }

  /** The hub's Pub/Sub connection (a cluster one on a cluster), for tests and diagnostics. */
  StatefulRedisPubSubConnection<byte[], byte[]> connection() {
    return connection;
  }

  /** Whether this hub runs on a cluster, where {@link #check()} has work to do. */
  boolean clustered() {
    return cluster != null;
  }

  /** The readers of one shard channel. */
  private static final class Route {
    final String name;
    final byte[] bytes;
    final int slot;
    final CopyOnWriteArrayList<Transport.Sink> sinks = new CopyOnWriteArrayList<>();
    /** The SSUBSCRIBE sent when the route was made (or last repaired); done once Redis confirmed it. */
    volatile RedisFuture<Void> subscribed;
    /** The node whose SSUBSCRIBE reply confirmed the route last (cluster only); null before. */
    volatile String nodeId;
    /** Redis said SUNSUBSCRIBE without Brook asking (its slot moved), or nobody is subscribed on the owner. */
    volatile boolean lost;
    /** A resubscription was logged at WARN and not yet confirmed: retries log at DEBUG (no storm in an outage). */
    volatile boolean warned;
    /** Why the last resubscription was made, for health. */
    volatile String why;

    Route(String name) {
      this.name = name;
      this.bytes = name.getBytes(StandardCharsets.UTF_8);
      this.slot = SlotHash.getSlot(bytes);
    }
  }

  Transport.Consumer consumer(String channel, Transport.Sink sink) {
    return new Transport.Consumer() {
      @Override
      public void start() {
        add(channel, sink);
      }

      @Override
      public void stop() {
        remove(channel, sink);
      }

      @Override
      public String problem() {
        Route route = routes.get(channel);
        return route == null ? null : problemOf(route);
      }
    };
  }

  /**
   * For health: why the route hears nothing now, and what Brook does about it; null while it is
   * subscribed on a node that is connected. Never blocks (a node connection not at hand is not asked).
   */
  private String problemOf(Route route) {
    String again = " Brook subscribes it again on the slot's master (checked every " + CHECK_PERIOD.toMillis()
        + " ms); messages published to it meanwhile are lost.";
    RedisFuture<Void> pending = route.subscribed;
    if (route.lost) {
      return "shard channel '" + route.name + "' is not subscribed: Redis dropped the subscription (its slot moved, or "
          + "nobody was subscribed on the slot's master)." + again;
    }
    if (pending != null && pending.toCompletableFuture().isCompletedExceptionally()) {
      return "shard channel '" + route.name + "' is not subscribed: its last SSUBSCRIBE failed." + again;
    }
    if (route.warned) {
      return "shard channel '" + route.name + "' was lost and is being subscribed again (" + route.why + "; not "
          + "confirmed by Redis yet); messages published to it meanwhile are lost.";
    }
    String nodeId = route.nodeId;
    java.util.function.Predicate<io.lettuce.core.RedisURI> down = nodeDown;
    if (cluster != null && nodeId != null && down != null) {
      RedisClusterNode node = cluster.getPartitions().getPartitionByNodeId(nodeId);
      if (node != null && down.test(node.getUri())) {
        return "shard channel '" + route.name + "' is not subscribed: the connection to its node " + node.getUri().getHost()
            + ":" + node.getUri().getPort() + " is down (Lettuce reconnects it; if the node failed, its replica takes the "
            + "slot over)." + again;
      }
    }
    return null;
  }

  private void add(String name, Transport.Sink sink) {
    Route route;
    lock.lock();
    try {
      route = routes.get(name);
      if (route == null) {
        route = new Route(name);
        try {
          route.subscribed = connection.async().ssubscribe(route.bytes);
        } catch (RuntimeException e) {
          throw subscribeFailure(name, e);
        }
        routes.put(name, route);
      }
      route.sinks.add(sink);
    } finally {
      lock.unlock();
    }
    try {
      await(route.subscribed); // outside the lock: concurrent starts pipeline their SSUBSCRIBEs
    } catch (RuntimeException e) {
      lock.lock();
      try {
        route.sinks.remove(sink);
        if (route.sinks.isEmpty()) {
          routes.remove(name, route);
        }
      } finally {
        lock.unlock();
      }
      throw subscribeFailure(name, e);
    }
  }

  private RuntimeException subscribeFailure(String name, RuntimeException e) {
    RuntimeException closed = closedError.get();
    if (closed != null) {
      closed.initCause(e);
      return closed;
    }
    String says = String.valueOf(e.getMessage());
    String fix = says.contains("unknown command") || says.contains("ERR unknown")
        ? ". Sharded Pub/Sub needs Redis 7 or later; use channel(\"" + name + "\") on older servers"
        : ". Check that Redis is reachable; the subscription was not started";
    return new BrookException("SSUBSCRIBE " + name + " failed on " + server + ": " + says + fix + ".", e);
  }

  private void await(RedisFuture<Void> command) {
    LettuceFutures.awaitOrCancel(command, connection.getTimeout().toNanos(), TimeUnit.NANOSECONDS);
  }

  private void remove(String name, Transport.Sink sink) {
    RedisFuture<Void> unsubscribed;
    lock.lock();
    try {
      Route route = routes.get(name);
      if (route == null || !route.sinks.remove(sink) || !route.sinks.isEmpty()) {
        return;
      }
      routes.remove(name);
      try {
        unsubscribed = connection.async().sunsubscribe(route.bytes);
      } catch (RuntimeException e) {
        unsubscribeFailed(name, e);
        return;
      }
    } finally {
      lock.unlock();
    }
    try {
      await(unsubscribed);
    } catch (RuntimeException e) {
      unsubscribeFailed(name, e);
    }
  }

  /** The route is gone, so nothing is delivered from this channel any more; stopping must not fail for that. */
  private void unsubscribeFailed(String name, RuntimeException e) {
    LOG.warn("SUNSUBSCRIBE {} failed on {}: {}. No handler receives its messages any more.", name, server,
        e.getMessage());
  }

  /** On an I/O thread: hands the message to every subscription of its channel. */
  private void deliver(byte[] channel, byte[] message) {
    received.incrementAndGet();
    String name = new String(channel, StandardCharsets.UTF_8);
    Route route = routes.get(name);
    if (route != null) {
      for (Transport.Sink sink : route.sinks) {
        sink.accept(new ShardInbound(name, message, maxMessageSize));
      }
    }
  }

  /** On an I/O thread: a node confirmed SSUBSCRIBE (Brook's, or Lettuce's after a reconnect). */
  private void confirmed(RedisClusterNode node, byte[] channel) {
    Route route = routes.get(new String(channel, StandardCharsets.UTF_8));
    if (route != null) {
      route.nodeId = node != null ? node.getNodeId() : null;
      route.lost = false;
      route.warned = false;
    }
  }

  /**
   * On an I/O thread: a node said SUNSUBSCRIBE. From the node that confirmed a route still wanted,
   * that is Redis dropping the subscription (its slot moved away, lettuce#3213); the next check
   * subscribes it again. A route not confirmed yet is one started again just after its previous one
   * stopped: this is the reply to that stop's SUNSUBSCRIBE.
   */
  private void dropped(RedisClusterNode node, byte[] channel) {
    Route route = routes.get(new String(channel, StandardCharsets.UTF_8));
    if (route != null && node != null && node.getNodeId().equals(route.nodeId)) {
      route.lost = true;
      java.util.concurrent.Executor executor = soon;
      if (executor != null) {
        try {
          executor.execute(this::check); // every message until then is lost: do not wait for the period
        } catch (java.util.concurrent.RejectedExecutionException closing) {
          // the transport is closing
        }
      }
    }
  }

  /**
   * On the timer: subscribes again every route that Redis dropped or whose slot another master owns
   * now; every {@link #COUNT_EVERY} runs, asks the owners whether the routes have a subscriber at
   * all. Never blocks; never throws (a failure is logged and tried again next time).
   */
  synchronized void check() {
    if (cluster == null || routes.isEmpty() || closedError.get() != null) {
      return;
    }
    try {
      Partitions partitions = cluster.getPartitions();
      boolean count = ++checks % COUNT_EVERY == 0;
      Map<String, List<Route>> toCount = count && subscribers != null ? new java.util.HashMap<>() : null;
      for (Route route : routes.values()) {
        RedisFuture<Void> pending = route.subscribed;
        if (pending != null && !pending.isDone()) {
          continue; // a (re)subscription on its way
        }
        RedisClusterNode owner = partitions.getMasterBySlot(route.slot);
        boolean moved = owner != null && route.nodeId != null && !owner.getNodeId().equals(route.nodeId);
        if (route.lost || moved || pending != null && pending.toCompletableFuture().isCompletedExceptionally()) {
          resubscribe(route, route.lost ? "Redis unsubscribed it" : moved ? "its slot " + route.slot + " moved to "
              + owner.getUri().getHost() + ":" + owner.getUri().getPort() : "the last SSUBSCRIBE failed");
        } else if (toCount != null && owner != null) {
          toCount.computeIfAbsent(owner.getNodeId(), id -> new ArrayList<>()).add(route);
        }
      }
      if (toCount != null) {
        toCount.forEach(this::count);
      }
    } catch (RuntimeException e) {
      LOG.debug("Checking the shard channel subscriptions on {} failed; trying again", server, e);
    }
  }

  /** One PUBSUB SHARDNUMSUB on {@code nodeId} for all its routes; a route with no subscriber there is lost. */
  private void count(String nodeId, List<Route> owned) {
    List<byte[]> channels = new ArrayList<>(owned.size());
    owned.forEach(r -> channels.add(r.bytes));
    subscribers.apply(nodeId, channels).whenComplete((counts, error) -> {
      if (error != null || counts == null) {
        LOG.debug("Counting the subscribers of {} shard channel(s) on node {} failed", owned.size(), nodeId, error);
        return;
      }
      for (Route route : owned) {
        Long n = counts.get(route.name);
        if (n != null && n == 0 && routes.get(route.name) == route) {
          route.lost = true; // nobody subscribed on the owner: repaired on the next check
        }
      }
    });
  }

  private void resubscribe(Route route, String why) {
    lock.lock();
    try {
      if (routes.get(route.name) != route) {
        return; // its last subscription stopped meanwhile
      }
      route.lost = false;
      route.nodeId = null;
      route.why = why;
      route.subscribed = connection.async().ssubscribe(route.bytes); // routed to the slot's owner now
    } finally {
      lock.unlock();
    }
    resubscribed.incrementAndGet();
    if (route.warned) {
      LOG.debug("Subscribing to shard channel {} again on {} ({})", route.name, server, why);
    } else {
      route.warned = true;
      gaps.incrementAndGet();
      LOG.warn("Subscribing to shard channel {} again on {} ({}); messages published to it meanwhile are lost "
          + "(Pub/Sub keeps nothing for absent subscribers). Until Redis confirms it, further attempts log at DEBUG.",
          route.name, server, why);
    }
  }

  /** Times {@link #check()} subscribed a shard channel again, for tests and diagnostics. */
  long resubscriptions() {
    return resubscribed.get();
  }

  /** Shard channels subscribed now, by name, with the node that confirmed each (null on one server). */
  Map<String, String> routeNodes() {
    Map<String, String> out = new java.util.TreeMap<>();
    routes.forEach((name, route) -> out.put(name, route.nodeId));
    return out;
  }

  /**
   * The connection dropped. On one server that is a gap in every shard channel; on a cluster it is
   * only the default connection, which carries no shard channel (each lives on a node connection),
   * and Lettuce drops it on every topology refresh once its node left the cluster (lettuce#2434):
   * not a gap, so not counted. A cluster's gaps are the resubscriptions of {@link #check()}.
   */
  @Override
  public void disconnected() {
    if (cluster != null) {
      return;
    }
    gapLock.lock();
    try {
      if (downSince == 0) {
        downSince = timing.nanoTime();
      }
    } finally {
      gapLock.unlock();
    }
  }

  @Override
  public void reconnected() {
    if (cluster != null) {
      return;
    }
    long gap;
    gapLock.lock();
    try {
      if (downSince == 0) {
        return;
      }
      gap = timing.nanoTime() - downSince;
      downSince = 0;
      disconnects++;
      downtimeNanos += gap;
    } finally {
      gapLock.unlock();
    }
    LOG.warn("The sharded Pub/Sub connection to {} was lost for {} ms; its {} shard channel(s) are subscribed again. "
        + "Messages published meanwhile are lost; use a list or a stream for messages that must not be.",
        server, TimeUnit.NANOSECONDS.toMillis(gap), routes.size());
  }

  /**
   * What this connection saw, in the shape of the shared Pub/Sub connection's metrics: on a cluster
   * each shard channel Brook had to subscribe again counts as a loss (retries until Redis confirms
   * do not; its length is unknown); no estimate of the messages lost.
   */
  PubSubMetrics metrics() {
    gapLock.lock();
    try {
      long down = downtimeNanos + (downSince != 0 ? timing.nanoTime() - downSince : 0);
      return new PubSubSnapshot(received.get(), disconnects + gaps.get(), Duration.ofNanos(down), 0);
    } finally {
      gapLock.unlock();
    }
  }
}
