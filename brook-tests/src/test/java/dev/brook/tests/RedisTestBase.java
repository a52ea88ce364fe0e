package dev.brook.tests;

import dev.brook.redis.RedisBroker;
import dev.brook.testing.RedisServer;
import dev.brook.testing.WithRedisServer;
import io.lettuce.core.api.StatefulRedisConnection;
import java.util.function.Consumer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;

/**
 * Gives each test a private redis-server (one per class, flushed between tests), brokers that are
 * closed after the test, and a raw Lettuce connection for writing and reading bytes Brook did not
 * make; what it opens lives in one {@link TestResources}.
 */
@WithRedisServer
abstract class RedisTestBase {

  protected RedisServer redis;
  private final TestResources resources = new TestResources();

  @BeforeEach
  void attach(RedisServer server) {
    this.redis = server;
  }

  @AfterEach
  void closeAll() throws Exception {
    resources.close();
  }

  /** A broker on the private server; closed after the test. */
  protected RedisBroker broker() {
    return broker(b -> {});
  }

  protected RedisBroker broker(Consumer<RedisBroker.Builder> options) {
    return resources.broker(redis.url(), options);
  }

  /** A plain Lettuce connection with byte[] keys and values, closed after the test. */
  protected StatefulRedisConnection<byte[], byte[]> raw() {
    return resources.raw(redis.url());
  }

  protected void closeLater(AutoCloseable c) {
    resources.closeLater(c);
  }

  protected static byte[] utf8(String s) {
    return s.getBytes(java.nio.charset.StandardCharsets.UTF_8);
  }
}
