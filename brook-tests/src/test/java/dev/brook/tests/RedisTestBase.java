package dev.brook.tests;

import dev.brook.redis.RedisBroker;
import dev.brook.testing.RedisServer;
import dev.brook.testing.WithRedisServer;
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
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;

/**
 * Gives each test a private redis-server (one per class, flushed between tests), brokers that are
 * closed after the test, and a raw Lettuce connection for writing and reading bytes Brook did not
 * make.
 */
@WithRedisServer
abstract class RedisTestBase {

  protected RedisServer redis;
  private final Deque<AutoCloseable> toClose = new ArrayDeque<>();

  @BeforeEach
  void attach(RedisServer server) {
    this.redis = server;
  }

  @AfterEach
  void closeAll() throws Exception {
    Exception first = null;
    while (!toClose.isEmpty()) {
      try {
        toClose.pop().close();
      } catch (Exception e) {
        if (first == null) first = e;
      }
    }
    if (first != null) throw first;
  }

  /** A broker on the private server; closed after the test. */
  protected RedisBroker broker() {
    return broker(b -> {});
  }

  protected RedisBroker broker(Consumer<RedisBroker.Builder> options) {
    RedisBroker.Builder b = RedisBroker.builder().url(redis.url());
    options.accept(b);
    RedisBroker broker = b.build();
    toClose.push(broker);
    return broker;
  }

  /** A plain Lettuce connection with byte[] keys and values, closed after the test. */
  protected StatefulRedisConnection<byte[], byte[]> raw() {
    ClientResources resources = DefaultClientResources.builder().ioThreadPoolSize(1).computationThreadPoolSize(1).build();
    RedisClient client = RedisClient.create(resources, RedisURI.create(redis.url()));
    StatefulRedisConnection<byte[], byte[]> connection = client.connect(ByteArrayCodec.INSTANCE);
    toClose.push(() -> {
      connection.close();
      client.shutdown(0, 2, TimeUnit.SECONDS);
      resources.shutdown(0, 2, TimeUnit.SECONDS).get();
    });
    return connection;
  }

  protected void closeLater(AutoCloseable c) {
    toClose.push(c);
  }

  protected static byte[] utf8(String s) {
    return s.getBytes(java.nio.charset.StandardCharsets.UTF_8);
  }
}
