package dev.brook.tests;

import static org.assertj.core.api.Assertions.assertThat;

import dev.brook.redis.RedisBroker;
import dev.brook.testing.RedisServer;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/**
 * {@code broker.ping(timeout)} against a server that goes away and comes back: false within about
 * the timeout while it is down (never an exception), true again once it answers.
 */
class PingTest {

  @Test
  void pingIsFalseWhileTheServerIsDownAndTrueOnceItIsBack() throws Exception {
    try (RedisServer server = RedisServer.start(); TestResources resources = new TestResources()) {
      RedisBroker notStarted = resources.broker(server.url(), b -> {});
      assertThat(notStarted.ping(Duration.ofMillis(200))).as("not connected yet").isFalse();
      notStarted.close();

      RedisBroker broker = resources.broker(server.url(), b -> {});
      broker.start();
      assertThat(broker.ping(Duration.ofSeconds(5))).isTrue();

      server.kill();
      long start = System.nanoTime();
      assertThat(broker.ping(Duration.ofMillis(300))).isFalse();
      assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(3));
      assertThat(broker.ping(Duration.ofMillis(300))).isFalse();

      server.restart();
      org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(20))
          .until(() -> broker.ping(Duration.ofMillis(500)));
    }
  }
}
