package dev.brook.tests;

import dev.brook.redis.RedisBroker;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.codec.ByteArrayCodec;
import io.lettuce.core.resource.ClientResources;
import io.lettuce.core.resource.DefaultClientResources;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * What one test opens — brokers, raw Lettuce connections, anything else handed to {@link
 * #closeLater} — closed by {@link #close()}, last opened first. The one place the suites make
 * brokers and raw connections: {@link RedisTestBase} closes its after each test, the behaviour
 * suite's {@code Backend} with itself. Thread-safe; close it once, after the test.
 */
public final class TestResources implements AutoCloseable {

  private final Deque<AutoCloseable> toClose = new ArrayDeque<>();

  /** A broker on {@code url} with these options, not started; closed with the rest. */
  public RedisBroker broker(String url, Consumer<RedisBroker.Builder> options) {
    RedisBroker.Builder b = RedisBroker.builder().url(url);
    options.accept(b);
    return closeLater(b.build());
  }

  /**
   * A plain Lettuce connection with {@code byte[]} keys and values, for writing and reading bytes
   * Brook did not make, on client resources of its own; closed with the rest.
   */
  public StatefulRedisConnection<byte[], byte[]> raw(String url) {
    ClientResources resources = DefaultClientResources.builder().ioThreadPoolSize(1).computationThreadPoolSize(1).build();
    RedisClient client = RedisClient.create(resources, RedisURI.create(url));
    StatefulRedisConnection<byte[], byte[]> connection;
    try {
      connection = client.connect(ByteArrayCodec.INSTANCE);
    } catch (RuntimeException e) {
      client.shutdown(0, 2, TimeUnit.SECONDS);
      resources.shutdown(0, 2, TimeUnit.SECONDS);
      throw e;
    }
    closeLater(() -> {
      connection.close();
      client.shutdown(0, 2, TimeUnit.SECONDS);
      resources.shutdown(0, 2, TimeUnit.SECONDS).get();
    });
    return connection;
  }

  /**
   * A Lettuce cluster connection with {@code byte[]} keys and values to the cluster of a {@code
   * redis-cluster://} URL (commands go to the node of their key), on client resources of its own;
   * closed with the rest.
   */
  public io.lettuce.core.cluster.api.StatefulRedisClusterConnection<byte[], byte[]> rawCluster(String url) {
    ClientResources resources = DefaultClientResources.builder().ioThreadPoolSize(1).computationThreadPoolSize(1).build();
    io.lettuce.core.cluster.RedisClusterClient client = io.lettuce.core.cluster.RedisClusterClient.create(resources,
        dev.brook.redis.internal.RedisUrls.parseCluster(url));
    io.lettuce.core.cluster.api.StatefulRedisClusterConnection<byte[], byte[]> connection;
    try {
      connection = client.connect(ByteArrayCodec.INSTANCE);
    } catch (RuntimeException e) {
      client.shutdown(0, 2, TimeUnit.SECONDS);
      resources.shutdown(0, 2, TimeUnit.SECONDS);
      throw e;
    }
    closeLater(() -> {
      connection.close();
      client.shutdown(0, 2, TimeUnit.SECONDS);
      resources.shutdown(0, 2, TimeUnit.SECONDS).get();
    });
    return connection;
  }

  /** Closes {@code resource} with the rest, before what was opened earlier; returns it. */
  public <C extends AutoCloseable> C closeLater(C resource) {
    synchronized (toClose) {
      toClose.push(resource);
    }
    return resource;
  }

  /** Closes everything, last opened first; throws the first failure with the others suppressed. */
  @Override
  public void close() throws Exception {
    Exception first = null;
    while (true) {
      AutoCloseable next;
      synchronized (toClose) {
        next = toClose.poll();
      }
      if (next == null) {
        break;
      }
      try {
        next.close();
      } catch (Exception e) {
        if (first == null) {
          first = e;
        } else {
          first.addSuppressed(e);
        }
      }
    }
    if (first != null) {
      throw first;
    }
  }
}
