package dev.brook.redis.internal.pubsub;

import dev.brook.BrookException;
import dev.brook.spi.Transport;
import dev.brook.redis.PatternDestination;
import dev.brook.redis.internal.RedisConnections;
import dev.brook.redis.internal.Timing;
import io.lettuce.core.pubsub.StatefulRedisPubSubConnection;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.locks.ReentrantLock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * All of a broker's Pub/Sub subscriptions on one connection. Each channel or pattern has a route
 * with the sinks of the subscriptions that read it; SUBSCRIBE is sent when a route gets its first
 * sink and UNSUBSCRIBE when it loses its last, so 10,000 subscriptions cost one connection and
 * closing one never disturbs another on the same channel.
 *
 * <p>Threads: messages arrive on the connection's reading thread ({@code brook-pubsub-reader} on a
 * standalone Redis, see {@link SocketPubSub}; a Lettuce I/O thread otherwise, {@link LettucePubSub})
 * and are only handed to the sinks (which buffer them). {@code lock} serializes route changes with sending their SUBSCRIBE/UNSUBSCRIBE so
 * the server's state follows the routes; the confirmation is awaited after the lock is released,
 * so subscriptions started concurrently share round trips (10,000 subscribe in one pipeline, not
 * 10,000 round trips). Delivery reads the routes without locking. After a
 * reconnect the connection subscribes again to every channel and pattern it was subscribed to.
 *
 * <p>Losses: the transport tells the hub when its connection drops and when it is back ({@link
 * #disconnected}, {@link #reconnected}, on the reading thread; times read from the transport's {@link
 * Timing}). Each loss is a gap in every channel and
 * pattern; the hub counts it, measures it, estimates the messages published meanwhile from the rate
 * received just before, and logs one WARN per gap when the connection is back (see {@link
 * dev.brook.redis.PubSubMetrics}).
 *
 * <p>On a Redis Cluster a {@link PubSubProbe} also checks that the connection still hears what is
 * published and, when it does not, ends it ({@link #endDeafConnection}) so that Lettuce reconnects
 * it elsewhere; a cluster's connection is always Lettuce's.
 */
final class PubSubHub implements PubSubConnection.Listener {

  private static final Logger LOG = LoggerFactory.getLogger("dev.brook.redis.PubSub");

  private final PubSubConnection connection;
  /** Brook's check that the connection still hears (cluster only), or null. */
  private volatile PubSubProbe probe;
  private final String server;
  private final int maxMessageSize;
  private final Timing timing;
  /** The transport's "broker is closed" error, or null while it is open. */
  private final java.util.function.Supplier<RuntimeException> closedError;
  private final ConcurrentHashMap<String, Route> channels = new ConcurrentHashMap<>();
  private final ConcurrentHashMap<String, Route> patterns = new ConcurrentHashMap<>();
  private final ReentrantLock lock = new ReentrantLock();

  /** How long one bucket of the receive rate spans; the rate before a loss covers one to two of them. */
  private static final long RATE_BUCKET_NANOS = TimeUnit.SECONDS.toNanos(5);

  // Written by the connection's one I/O thread (message), read by anyone.
  private final AtomicLong received = new AtomicLong();
  private long bucketStart;
  private long bucketCount;
  private long previousBucketStart;
  private long previousBucketCount;

  // Gaps: written on I/O threads under gapLock, read by metrics().
  private final ReentrantLock gapLock = new ReentrantLock();
  private long downSince;
  private double rateBeforeLoss;
  private long disconnects;
  private long downtimeNanos;
  private long estimatedLost;

  PubSubHub(PubSubConnection connection, String server, int maxMessageSize, Timing timing,
      java.util.function.Supplier<RuntimeException> closedError) {
    this.connection = connection;
    this.closedError = closedError;
    this.server = server;
    this.maxMessageSize = maxMessageSize;
    this.timing = timing;
    this.bucketStart = timing.nanoTime();
    this.previousBucketStart = bucketStart;
    connection.listen(this);
  }

  /** The connection dropped: a gap begins. */
  @Override
  public void disconnected() {
    PubSubProbe p = probe;
    if (p != null) {
      p.reset();
    }
    long now = timing.nanoTime();
    gapLock.lock();
    try {
      if (downSince != 0) {
        return;
      }
      downSince = now;
      rateBeforeLoss = rate(now);
    } finally {
      gapLock.unlock();
    }
  }

  /** The connection is back (it subscribes every channel and pattern again): the gap ends. */
  @Override
  public void reconnected() {
    PubSubProbe p = probe;
    if (p != null) {
      p.reset();
    }
    long now = timing.nanoTime();
    long gap;
    long lost;
    gapLock.lock();
    try {
      if (downSince == 0) {
        return; // the first connect, or a loss we did not see begin
      }
      gap = now - downSince;
      downSince = 0;
      lost = Math.round(rateBeforeLoss * gap / 1e9);
      disconnects++;
      downtimeNanos += gap;
      estimatedLost += lost;
    } finally {
      gapLock.unlock();
    }
    LOG.warn("The Pub/Sub connection to {} was lost for {} ms; its {} channel(s) and {} pattern(s) are subscribed again. "
        + "Redis keeps nothing for absent subscribers: about {} message(s) published meanwhile are lost (estimated "
        + "from the rate received before), and so is anything Redis had not yet sent when the connection closed (as when "
        + "a subscriber falls behind its client-output-buffer-limit pubsub). Counted in RedisBroker.pubSubMetrics(); "
        + "use a list or a stream for messages that must not be lost.",
        server, TimeUnit.NANOSECONDS.toMillis(gap), channels.size(), patterns.size(), lost);
  }

  /** Messages per second received in the last one to two buckets. */
  private double rate(long now) {
    long count;
    long since;
    synchronized (this) {
      count = bucketCount + previousBucketCount;
      since = previousBucketStart;
    }
    double seconds = Math.max(0.001, (now - since) / 1e9);
    return count / seconds;
  }

  /** Counts one message; on the I/O thread. */
  private void count() {
    received.incrementAndGet();
    long now = timing.nanoTime();
    synchronized (this) {
      if (now - bucketStart > RATE_BUCKET_NANOS) {
        previousBucketStart = bucketStart;
        previousBucketCount = bucketCount;
        bucketStart = now;
        bucketCount = 0;
      }
      bucketCount++;
    }
  }

  dev.brook.redis.PubSubMetrics metrics() {
    gapLock.lock();
    try {
      long down = downtimeNanos + (downSince != 0 ? timing.nanoTime() - downSince : 0);
      return new dev.brook.redis.internal.PubSubSnapshot(received.get(), disconnects, Duration.ofNanos(down), estimatedLost);
    } finally {
      gapLock.unlock();
    }
  }

  /** The readers of one channel or pattern. */
  private static final class Route {
    final byte[] name;
    final PatternDestination pattern;
    final CopyOnWriteArrayList<Transport.Sink> sinks = new CopyOnWriteArrayList<>();
    /** The SUBSCRIBE or PSUBSCRIBE sent when the route was made; done once Redis confirmed it. */
    CompletableFuture<Void> subscribed;

    Route(String name, PatternDestination pattern) {
      this.name = name.getBytes(StandardCharsets.UTF_8);
      this.pattern = pattern;
    }
  }

  Transport.Consumer channelConsumer(String channel, Transport.Sink sink) {
    return new HubConsumer(channel, null, sink);
  }

  Transport.Consumer patternConsumer(PatternDestination pattern, Transport.Sink sink) {
    return new HubConsumer(pattern.name(), pattern, sink);
  }

  private final class HubConsumer implements Transport.Consumer {
    private final String name;
    private final PatternDestination pattern;
    private final Transport.Sink sink;

    HubConsumer(String name, PatternDestination pattern, Transport.Sink sink) {
      this.name = name;
      this.pattern = pattern;
      this.sink = sink;
    }

    @Override
    public void start() {
      add(name, pattern, sink);
    }

    @Override
    public void stop() {
      remove(name, pattern != null, sink);
    }
  }

  private void add(String name, PatternDestination pattern, Transport.Sink sink) {
    ConcurrentHashMap<String, Route> routes = pattern != null ? patterns : channels;
    String command = pattern != null ? "PSUBSCRIBE " : "SUBSCRIBE ";
    Route route;
    lock.lock();
    try {
      route = routes.get(name);
      if (route == null) {
        route = new Route(name, pattern);
        try {
          route.subscribed = pattern != null ? connection.psubscribe(route.name) : connection.subscribe(route.name);
        } catch (RuntimeException e) {
          throw subscribeFailure(command, name, e);
        }
        routes.put(name, route);
      }
      route.sinks.add(sink);
    } finally {
      lock.unlock();
    }
    // Waited for outside the lock, so concurrent starts (the broker's) pipeline their SUBSCRIBEs
    // instead of paying one round trip each; the order on the connection is still the routes' order.
    try {
      await(route.subscribed);
    } catch (RuntimeException e) {
      lock.lock();
      try {
        route.sinks.remove(sink);
        if (route.sinks.isEmpty() && routes.remove(name, route)) {
          // A SUBSCRIBE that timed out is still sent (it waits for the reconnect) or confirmed late, and
          // the connection subscribes it again after every reconnect: undo it, or the server keeps a
          // subscription no route reads. Not waited for: the start has failed either way.
          try {
            CompletableFuture<Void> undo = pattern != null ? connection.punsubscribe(route.name)
                : connection.unsubscribe(route.name);
            undo.exceptionally(ignored -> null);
          } catch (RuntimeException ignored) {
            // closed: nothing is subscribed any more
          }
        }
      } finally {
        lock.unlock();
      }
      throw subscribeFailure(command, name, e);
    }
  }

  private RuntimeException subscribeFailure(String command, String name, RuntimeException e) {
    RuntimeException closed = closedError.get();
    if (closed != null) {
      // A start racing the broker's close: say that, not which command the closing connection cut off.
      closed.initCause(e);
      return closed;
    }
    return new BrookException(command + name + " failed on " + server + ": " + e.getMessage()
        + ". Check that Redis is reachable; the subscription was not started.", e);
  }

  /** Waits for a (P)(UN)SUBSCRIBE's confirmation as {@code sync()} would: at most the command timeout, then cancels it. */
  private void await(CompletableFuture<Void> command) {
    Duration timeout = connection.timeout();
    try {
      command.get(timeout.toNanos(), TimeUnit.NANOSECONDS);
    } catch (TimeoutException e) {
      command.cancel(true);
      throw new BrookException("Redis did not confirm it within the command timeout of " + timeout.toMillis() + " ms", e);
    } catch (ExecutionException e) {
      Throwable cause = e.getCause();
      throw cause instanceof RuntimeException r ? r : new BrookException(String.valueOf(cause), cause);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      command.cancel(true);
      throw new BrookException("Interrupted while waiting for Redis to confirm it", e);
    } catch (java.util.concurrent.CancellationException e) {
      throw new BrookException("cancelled", e);
    }
  }

  private void remove(String name, boolean isPattern, Transport.Sink sink) {
    ConcurrentHashMap<String, Route> routes = isPattern ? patterns : channels;
    CompletableFuture<Void> unsubscribed;
    lock.lock();
    try {
      Route route = routes.get(name);
      if (route == null || !route.sinks.remove(sink) || !route.sinks.isEmpty()) {
        return;
      }
      routes.remove(name);
      try {
        unsubscribed = isPattern ? connection.punsubscribe(route.name) : connection.unsubscribe(route.name);
      } catch (RuntimeException e) {
        unsubscribeFailed(name, isPattern, e);
        return;
      }
    } finally {
      lock.unlock();
    }
    try {
      await(unsubscribed); // outside the lock, as in add
    } catch (RuntimeException e) {
      unsubscribeFailed(name, isPattern, e);
    }
  }

  /**
   * The route is gone, so nothing is delivered from this name any more; Redis may keep the
   * subscription until the connection is replaced. Stopping must not fail for that.
   */
  private void unsubscribeFailed(String name, boolean isPattern, RuntimeException e) {
    LOG.warn("{} {} failed on {}: {}. No handler receives its messages any more.",
        isPattern ? "PUNSUBSCRIBE" : "UNSUBSCRIBE", name, server, e.getMessage());
  }

  /** Starts Brook's probe of this connection (cluster only): subscribes its channel, then probes every second. */
  void startProbe(RedisConnections connections) {
    PubSubProbe p = new PubSubProbe(this, connections, timing);
    await(connection.psubscribe(p.pattern().getBytes(StandardCharsets.UTF_8)));
    probe = p;
    p.start();
  }

  boolean connectionOpen() {
    return connection.isOpen();
  }

  /**
   * The probe found the connection deaf since {@code deafSince} (open, but its probes do not come back): the gap
   * begins then, not at the disconnect that follows. Then the connection ends itself ({@code CLIENT ID}, {@code
   * CLIENT KILL ID <id> SKIPME no}, which RESP3 allows while subscribed) and Lettuce does what it does after any
   * loss: reconnects, to the next node of the cluster in turn, and subscribes every channel and pattern again; the
   * gap is reported when it is back ({@link #reconnected}). Closing and opening a new connection instead would not
   * do: Lettuce opens it on the node with the fewest clients in its view of the cluster, which still holds the
   * deaf node (its view wins Lettuce's known-majority vote as long as it runs).
   */
  java.util.concurrent.CompletionStage<Long> endDeafConnection(long deafSince) {
    gapLock.lock();
    try {
      if (downSince == 0) {
        downSince = deafSince;
        rateBeforeLoss = rate(timing.nanoTime());
      }
    } finally {
      gapLock.unlock();
    }
    StatefulRedisPubSubConnection<byte[], byte[]> c = ((LettucePubSub) connection).lettuce(); // cluster: always Lettuce's
    return c.async().clientId()
        .thenCompose(id -> c.async().clientKill(io.lettuce.core.KillArgs.Builder.id(id).skipme(false)));
  }

  /** Channels and patterns subscribed now, for tests and diagnostics. */
  int routeCount() {
    return channels.size() + patterns.size();
  }

  /** A channel's name as bytes and as text: {@link #lastChannel}. */
  private record ChannelName(byte[] bytes, String name) {}

  /**
   * The channel of the last message, so that a busy channel's name is not decoded into a new String
   * for every message (issue 21: the hub's share of a Pub/Sub message's allocation). Written on the
   * I/O thread; an immutable pair, checked byte by byte before use, so a stale one is only a miss.
   */
  private ChannelName lastChannel = new ChannelName(new byte[0], "");

  private String channelName(byte[] channel) {
    ChannelName last = lastChannel;
    if (java.util.Arrays.equals(last.bytes(), channel)) {
      return last.name();
    }
    String name = new String(channel, StandardCharsets.UTF_8);
    lastChannel = new ChannelName(channel, name);
    return name;
  }

  @Override
  public void message(byte[] channel, byte[] message) {
    count();
    String name = channelName(channel);
    Route route = channels.get(name);
    if (route != null) {
      for (Transport.Sink sink : route.sinks) {
        sink.accept(new PubSubInbound(name, message, null, maxMessageSize));
      }
    }
  }

  @Override
  public void oversized(byte[] pattern, byte[] channel, long size) {
    Route route = pattern == null ? channels.get(channelName(channel))
        : patterns.get(new String(pattern, StandardCharsets.UTF_8));
    count();
    if (route != null) {
      String name = channelName(channel);
      for (Transport.Sink sink : route.sinks) {
        sink.accept(new PubSubInbound(name, PubSubInbound.SKIPPED, route.pattern, maxMessageSize, size));
      }
    }
  }

  @Override
  public void message(byte[] pattern, byte[] channel, byte[] message) {
    String patternName = new String(pattern, StandardCharsets.UTF_8);
    Route route = patterns.get(patternName);
    if (route == null) {
      PubSubProbe p = probe;
      if (p != null && patternName.equals(p.pattern())) {
        p.heard(message); // not a message of the application's: not counted
        return;
      }
    }
    count();
    if (route != null) {
      String name = channelName(channel);
      for (Transport.Sink sink : route.sinks) {
        sink.accept(new PubSubInbound(name, message, route.pattern, maxMessageSize));
      }
    }
  }
}
