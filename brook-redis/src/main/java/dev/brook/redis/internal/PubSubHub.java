package dev.brook.redis.internal;

import dev.brook.BrookException;
import dev.brook.internal.Transport;
import dev.brook.redis.PatternDestination;
import io.lettuce.core.pubsub.RedisPubSubAdapter;
import io.lettuce.core.pubsub.StatefulRedisPubSubConnection;
import java.nio.charset.StandardCharsets;
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
 * <p>Threads: messages arrive on a Lettuce I/O thread and are only handed to the sinks (which
 * buffer them). {@code lock} serializes route changes with their SUBSCRIBE/UNSUBSCRIBE so the
 * server's state follows the routes; delivery reads the routes without locking. After a
 * reconnect Lettuce subscribes again to every channel and pattern it was subscribed to.
 */
final class PubSubHub extends RedisPubSubAdapter<byte[], byte[]> {

  private static final Logger LOG = LoggerFactory.getLogger("dev.brook.redis.PubSub");

  private final StatefulRedisPubSubConnection<byte[], byte[]> connection;
  private final String server;
  private final ConcurrentHashMap<String, Route> channels = new ConcurrentHashMap<>();
  private final ConcurrentHashMap<String, Route> patterns = new ConcurrentHashMap<>();
  private final ReentrantLock lock = new ReentrantLock();

  PubSubHub(StatefulRedisPubSubConnection<byte[], byte[]> connection, String server) {
    this.connection = connection;
    this.server = server;
    connection.addListener(this);
  }

  /** The readers of one channel or pattern. */
  private static final class Route {
    final byte[] name;
    final PatternDestination pattern;
    final CopyOnWriteArrayList<Transport.Sink> sinks = new CopyOnWriteArrayList<>();

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
    lock.lock();
    try {
      Route route = routes.get(name);
      if (route == null) {
        route = new Route(name, pattern);
        try {
          if (pattern != null) {
            connection.sync().psubscribe(route.name);
          } else {
            connection.sync().subscribe(route.name);
          }
        } catch (RuntimeException e) {
          throw new BrookException((pattern != null ? "PSUBSCRIBE " : "SUBSCRIBE ") + name + " failed on " + server
              + ": " + e.getMessage() + ". Check that Redis is reachable; the subscription was not started.", e);
        }
        routes.put(name, route);
      }
      route.sinks.add(sink);
    } finally {
      lock.unlock();
    }
  }

  private void remove(String name, boolean isPattern, Transport.Sink sink) {
    ConcurrentHashMap<String, Route> routes = isPattern ? patterns : channels;
    lock.lock();
    try {
      Route route = routes.get(name);
      if (route == null || !route.sinks.remove(sink) || !route.sinks.isEmpty()) {
        return;
      }
      routes.remove(name);
      try {
        if (isPattern) {
          connection.sync().punsubscribe(route.name);
        } else {
          connection.sync().unsubscribe(route.name);
        }
      } catch (RuntimeException e) {
        // The route is gone, so nothing is delivered from this name any more; Redis may keep the
        // subscription until the connection is replaced. Stopping must not fail for that.
        LOG.warn("{} {} failed on {}: {}. No handler receives its messages any more.",
            isPattern ? "PUNSUBSCRIBE" : "UNSUBSCRIBE", name, server, e.getMessage());
      }
    } finally {
      lock.unlock();
    }
  }

  /** Channels and patterns subscribed now, for tests and diagnostics. */
  int routeCount() {
    return channels.size() + patterns.size();
  }

  @Override
  public void message(byte[] channel, byte[] message) {
    String name = new String(channel, StandardCharsets.UTF_8);
    Route route = channels.get(name);
    if (route != null) {
      for (Transport.Sink sink : route.sinks) {
        sink.accept(new PubSubInbound(name, message, null));
      }
    }
  }

  @Override
  public void message(byte[] pattern, byte[] channel, byte[] message) {
    Route route = patterns.get(new String(pattern, StandardCharsets.UTF_8));
    if (route != null) {
      String name = new String(channel, StandardCharsets.UTF_8);
      for (Transport.Sink sink : route.sinks) {
        sink.accept(new PubSubInbound(name, message, route.pattern));
      }
    }
  }

  void close() {
    connection.removeListener(this);
    connection.close();
  }
}
