package dev.brook.tests;

import static dev.brook.redis.Redis.list;
import static dev.brook.redis.Redis.stream;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.brook.Health;
import dev.brook.Health.Status;
import dev.brook.redis.RedisBroker;
import dev.brook.testing.RedisServer;
import java.time.Duration;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;

/**
 * {@code broker.health()} against a redis-server that is killed and restarted: DOWN (never an
 * exception, within about the timeout) while it is gone, UP again once it is back and the consume
 * loops read again; and a broker that never connected checks by connecting.
 */
class HealthOnOutageTest {

  @Test
  void downWhileTheServerIsGone_upOnceItIsBack() throws Exception {
    try (RedisServer server = RedisServer.start(); TestResources resources = new TestResources()) {
      RedisBroker broker = resources.broker(server.url(), b -> b.commandTimeout(Duration.ofSeconds(1)));
      dev.brook.Subscription jobs = broker.subscriber(list("o-jobs")).id("jobs").handle(String.class, (s, ctx) -> null);
      broker.subscriber(stream("o-events").group("g")).id("events").handle(String.class, (s, ctx) -> null);
      broker.start();
      assertThat(broker.health().status()).isEqualTo(Status.UP);

      server.kill();
      Health.Options quick = Health.Options.DEFAULT.withTimeout(Duration.ofMillis(300));
      long start = System.nanoTime();
      Health down = broker.health(quick);
      assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(3));
      assertThat(down.status()).isEqualTo(Status.DOWN);
      assertThat(down.server().reachable()).isFalse();
      assertThat(down.server().roundTrip()).isNull();
      assertThat(down.problems().get(0)).startsWith(server.url() + " did not answer a PING within 300 ms");
      assertThat(down.subscription("events").lag()).as("not asked while down").isEqualTo(-1);
      Awaitility.await().atMost(Duration.ofSeconds(5)).until(() -> broker.health(quick).server().reconnecting());
      assertThatThrownBy(() -> broker.backlog(jobs)).isInstanceOf(dev.brook.BrookException.class)
          .hasMessageStartingWith("Cannot read the backlog of subscription 'jobs' (list:o-jobs) from " + server.url() + ": ")
          .hasMessageEndingWith(". Check that Redis is reachable (broker.health()).");

      server.restart();
      Awaitility.await().atMost(Duration.ofSeconds(20)).until(() -> broker.health(quick).status() == Status.UP);
      Health up = broker.health();
      assertThat(up.server().reconnecting()).isFalse();
      assertThat(up.subscription("events").lag()).isZero();
      assertThat(up.problems()).isEmpty();
    }
  }

  @Test
  void aBrokerThatNeverConnected_connectsForTheCheck() throws Exception {
    try (RedisServer server = RedisServer.start(); TestResources resources = new TestResources()) {
      RedisBroker broker = resources.broker(server.url(), b -> {});
      broker.subscriber(list("o-later")).id("later").handle(String.class, (s, ctx) -> null);
      Health health = broker.health();
      assertThat(health.server().reachable()).isTrue();
      // Reachable, but its subscription waits for start().
      assertThat(health.status()).isEqualTo(Status.DEGRADED);
      assertThat(health.problems()).containsExactly(
          "subscription 'later' is REGISTERED: it consumes nothing until the broker (or the subscription) starts");
      broker.start();
      assertThat(broker.health().status()).isEqualTo(Status.UP);
    }
    RedisBroker nowhere = RedisBroker.builder().url("redis://127.0.0.1:1").connectTimeout(Duration.ofMillis(300)).build();
    try {
      Health health = nowhere.health();
      assertThat(health.status()).isEqualTo(Status.DOWN);
      assertThat(health.server().reachable()).isFalse();
    } finally {
      nowhere.close();
    }
  }
}
