package dev.brook.tests.behaviour;

import static org.awaitility.Awaitility.await;

import dev.brook.spi.Frame;
import dev.brook.redis.RedisBroker;
import dev.brook.redis.internal.Envelope;
import dev.brook.testing.RedisCluster;
import dev.brook.testing.RedisServer;
import dev.brook.testing.TestRedisBroker;
import dev.brook.tests.TestResources;
import io.lettuce.core.Limit;
import io.lettuce.core.Range;
import io.lettuce.core.StreamMessage;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.sync.RedisCommands;
import io.lettuce.core.cluster.api.sync.RedisClusterCommands;
import io.lettuce.core.models.stream.PendingMessage;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

/**
 * Where a behaviour test runs: a private redis-server ({@link #redis}), a private Redis Cluster
 * ({@link #cluster}) or the in-memory Redis of {@link TestRedisBroker} in its default synchronous
 * mode ({@link #memory}). A test makes its
 * brokers here, starts them here, reads Redis' state here and lets time pass here; everything
 * else it does through the broker's public API, the same on both.
 *
 * <p>One per test (the test class creates it in its constructor and closes it after each test);
 * it closes every broker it made. Not thread-safe: for the test's own thread.
 */
abstract class Backend implements AutoCloseable {

  /** A value as stored in Redis (a list item or stream entry), unwrapped from its envelope. */
  record Stored(Map<String, String> headers, byte[] body) {

    String text() {
      return new String(body, StandardCharsets.UTF_8);
    }

    String header(String name) {
      return headers.get(name);
    }
  }

  private final TestResources resources = new TestResources();

  static Backend redis(RedisServer server) {
    return new OnRedis(server);
  }

  static Backend cluster(RedisCluster cluster) {
    return new OnCluster(cluster);
  }

  static Backend memory() {
    return new InMemory();
  }

  /** "redis", "cluster" or "memory", for messages. */
  abstract String name();

  /** Whether this is a real Redis (a server or a cluster), not the in-memory one. */
  final boolean real() {
    return !name().equals("memory");
  }

  /** The URL brokers are built with. */
  abstract String url();

  /** A broker on this backend, not started; closed after the test. */
  final RedisBroker broker() {
    return broker(b -> {});
  }

  final RedisBroker broker(Consumer<RedisBroker.Builder> options) {
    return resources.broker(url(), options);
  }

  /**
   * Starts the broker: {@code broker.start()} on Redis, {@code TestRedisBroker.of(broker)} in memory.
   * Call it before the broker's first publish (in memory a broker publishes nowhere before).
   */
  abstract void start(RedisBroker broker);

  /** A broker with these options, started. */
  final RedisBroker started(Consumer<RedisBroker.Builder> options) {
    RedisBroker broker = broker(options);
    start(broker);
    return broker;
  }

  final RedisBroker started() {
    return started(b -> {});
  }

  /** The items of a list key (a queue, {@code {q}:processing:<consumer>}, {@code {q}:dlq}), head first. */
  abstract List<Stored> list(String key);

  /** The entries of a stream (or of a dead-letter stream {@code {s}:dlq}), oldest first. */
  abstract List<Stored> stream(String name);

  /** The pending entries of a consumer group, oldest first: entry id → delivery count. */
  abstract Map<String, Long> pending(String stream, String group);

  /** Lets time pass: on Redis by waiting that long, in memory by moving the test broker's clock. */
  abstract void pass(Duration duration);

  /**
   * A raw command from another client (an operator, a producer that is not Brook): on Redis {@link
   * RedisServer#command}, in memory {@link TestRedisBroker#command} (XGROUP CREATE, XADD, RPUSH,
   * PUBLISH, DEL). Values are stored as they are, not in Brook's envelope.
   */
  abstract Object command(String... args);

  /**
   * Runs something that makes handlers fail on purpose (a publish, time passing). In memory a
   * synchronous publish rethrows the handler's exception to its caller, which this ignores; on
   * Redis the caller never sees it. Either way the test then asserts what the failure did.
   */
  abstract void despiteFailures(Runnable action);

  void closeLater(AutoCloseable resource) {
    resources.closeLater(resource);
  }

  /** A raw Lettuce connection to {@code url}, closed with the backend. */
  final StatefulRedisConnection<byte[], byte[]> raw(String url) {
    return resources.raw(url);
  }

  /** A raw Lettuce cluster connection to the cluster of a {@code redis-cluster://} URL, closed with the backend. */
  final io.lettuce.core.cluster.api.StatefulRedisClusterConnection<byte[], byte[]> rawCluster(String url) {
    return resources.rawCluster(url);
  }

  @Override
  public void close() throws Exception {
    resources.close();
  }

  @Override
  public String toString() {
    return name();
  }

  // ---- a private redis-server -------------------------------------------------------------------

  private static final class OnRedis extends Real {
    private final RedisServer server;
    private RedisCommands<byte[], byte[]> raw;

    OnRedis(RedisServer server) {
      this.server = server;
    }

    @Override
    String name() {
      return "redis";
    }

    @Override
    String url() {
      return server.url();
    }

    @Override
    RedisClusterCommands<byte[], byte[]> raw() {
      if (raw == null) {
        raw = raw(server.url()).sync();
      }
      return raw;
    }

    @Override
    Object command(String... args) {
      return server.command(args);
    }
  }

  // ---- a private Redis Cluster ------------------------------------------------------------------

  private static final class OnCluster extends Real {
    private final RedisCluster cluster;
    private RedisClusterCommands<byte[], byte[]> raw;

    OnCluster(RedisCluster cluster) {
      this.cluster = cluster;
    }

    @Override
    String name() {
      return "cluster";
    }

    @Override
    String url() {
      return cluster.url();
    }

    /** Through a Lettuce cluster connection, which routes each read to the node of its key. */
    @Override
    RedisClusterCommands<byte[], byte[]> raw() {
      if (raw == null) {
        raw = rawCluster(cluster.url()).sync();
      }
      return raw;
    }

    /** To the master of the command's key ({@link RedisCluster#command}). */
    @Override
    Object command(String... args) {
      return cluster.command(args);
    }
  }

  // ---- what a server and a cluster share --------------------------------------------------------

  private abstract static class Real extends Backend {
    private static final byte[] DATA = "__data__".getBytes(StandardCharsets.UTF_8);

    @Override
    void start(RedisBroker broker) {
      broker.start();
    }

    /** A Lettuce connection for reading what Brook stored, byte for byte. */
    abstract RedisClusterCommands<byte[], byte[]> raw();

    @Override
    List<Stored> list(String key) {
      List<Stored> out = new ArrayList<>();
      for (byte[] value : raw().lrange(utf8(key), 0, -1)) {
        out.add(stored(Envelope.decode(value)));
      }
      return out;
    }

    @Override
    List<Stored> stream(String name) {
      List<Stored> out = new ArrayList<>();
      for (StreamMessage<byte[], byte[]> m : raw().xrange(utf8(name), Range.create("-", "+"))) {
        byte[] data = m.getBody().entrySet().stream().filter(e -> Arrays.equals(e.getKey(), DATA))
            .map(Map.Entry::getValue).findFirst().orElseThrow(() -> new AssertionError("no __data__ in " + m));
        out.add(stored(Envelope.decode(data)));
      }
      return out;
    }

    @Override
    Map<String, Long> pending(String stream, String group) {
      Map<String, Long> out = new LinkedHashMap<>();
      if (raw().exists(utf8(stream)) == 0) {
        return out;
      }
      try {
        for (PendingMessage p : raw().xpending(utf8(stream), utf8(group), Range.create("-", "+"), Limit.from(10_000))) {
          out.put(p.getId(), p.getRedeliveryCount());
        }
      } catch (io.lettuce.core.RedisCommandExecutionException e) {
        if (!String.valueOf(e.getMessage()).startsWith("NOGROUP")) {
          throw e;
        }
      }
      return out;
    }

    @Override
    void pass(Duration duration) {
      await().pollDelay(duration).atMost(duration.plusSeconds(5)).until(() -> true);
    }

    @Override
    void despiteFailures(Runnable action) {
      action.run();
    }
  }

  // ---- TestRedisBroker -------------------------------------------------------------------------

  private static final class InMemory extends Backend {
    private TestRedisBroker test;
    /** The brokers running on the in-memory Redis of {@code test}. */
    private final java.util.Set<RedisBroker> started = java.util.Collections.newSetFromMap(new java.util.IdentityHashMap<>());

    @Override
    String name() {
      return "memory";
    }

    @Override
    public void close() throws Exception {
      super.close();
      test = null; // a test may close the backend and go on with a fresh broker
      started.clear();
    }

    @Override
    String url() {
      return "redis://127.0.0.1:1"; // never connected: the test broker replaces the transport first
    }

    @Override
    void start(RedisBroker broker) {
      if (test == null) {
        test = TestRedisBroker.of(broker);
        closeLater(test);
        started.add(broker);
      } else if (started.contains(broker)) {
        broker.start();
      } else {
        // Another broker of the test: on the same in-memory Redis, as two brokers on one server.
        closeLater(test.with(broker));
        started.add(broker);
      }
    }

    private TestRedisBroker test() {
      if (test == null) {
        throw new IllegalStateException("Start the broker (backend.start) before reading the in-memory Redis.");
      }
      return test;
    }

    @Override
    List<Stored> list(String key) {
      return test().list(key).stream().map(p -> new Stored(p.headers(), p.body())).toList();
    }

    @Override
    List<Stored> stream(String name) {
      return test().stream(name).stream().map(p -> new Stored(p.headers(), p.body())).toList();
    }

    @Override
    Map<String, Long> pending(String stream, String group) {
      return test().pending(stream, group);
    }

    @Override
    void pass(Duration duration) {
      test().advance(duration);
    }

    @Override
    Object command(String... args) {
      return test().command(args);
    }

    @Override
    void despiteFailures(Runnable action) {
      try {
        action.run();
      } catch (RuntimeException handlerFailure) {
        // Rethrown by the synchronous test broker; what it did is asserted by the test.
      }
    }
  }

  private static Stored stored(Frame frame) {
    return new Stored(frame.headers(), frame.payload());
  }

  static byte[] utf8(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }
}
