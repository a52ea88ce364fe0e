package dev.brook.tests;

import static dev.brook.redis.Redis.list;
import static dev.brook.redis.Redis.stream;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.brook.PublishOptions;
import dev.brook.redis.NotReplicatedException;
import dev.brook.redis.RedisBroker;
import dev.brook.testing.RedisServer;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;

/**
 * close() releases the connections a broker opens only on demand, counted with {@code CLIENT LIST}
 * on the private server and with the live {@code brook-} platform threads: the durable connection of
 * {@code waitForReplicas} (opened by the first durable publish) and the sharded Pub/Sub connection
 * of the wake-ups of delayed messages (subscribed once a consumer saw the delayed set in use). The
 * Sentinel side is {@link CloseReleasesSentinelTest}.
 */
class CloseReleasesTest extends RedisTestBase {

  @Test
  void theDurableConnectionAndTheDelayedWakeUpAreClosedWithTheBroker() {
    long before = clients();
    long threadsBefore = CloseReleasesSentinelTest.brookPlatformThreads();
    List<String> got = new CopyOnWriteArrayList<>();
    RedisBroker broker = RedisBroker.builder().url(redis.url()).build();
    try {
      broker.subscriber(stream("events").group("g")).handle(String.class, (s, ctx) -> got.add(s));
      broker.subscriber(list("jobs")).handle(String.class, (s, ctx) -> got.add(s));
      broker.start();
      long started = clients();
      // No replica here: the WAIT counts 0 and the publish says so, but the durable connection is open.
      assertThatThrownBy(() -> broker.publish("e0", stream("events").waitForReplicas(1, Duration.ofMillis(100))))
          .isInstanceOf(NotReplicatedException.class);
      assertThat(clients()).as("the durable connection").isEqualTo(started + 1);
      broker.publish("later", stream("events"), PublishOptions.delay(Duration.ofMillis(100)));
      broker.publish("job-later", list("jobs"), PublishOptions.delay(Duration.ofMillis(100)));
      await().atMost(Duration.ofSeconds(10)).until(() -> got.containsAll(List.of("e0", "later", "job-later")));
      await().atMost(Duration.ofSeconds(5)).until(() -> CloseReleasesSentinelTest.shardSubscribers(redis) >= 1);
      assertThat(clients()).as("and the wake-up's sharded Pub/Sub connection").isGreaterThanOrEqualTo(started + 2);
    } finally {
      broker.close();
    }
    await().atMost(Duration.ofSeconds(5)).until(() -> clients() == before);
    assertThat(CloseReleasesSentinelTest.shardSubscribers(redis)).isZero();
    await().atMost(Duration.ofSeconds(5)).until(() -> CloseReleasesSentinelTest.brookPlatformThreads() <= threadsBefore);
  }

  private long clients() {
    return ((String) redis.command("CLIENT", "LIST")).lines()
        .filter(l -> !l.contains(" name=" + RedisServer.CLIENT_NAME + " ")).count();
  }
}
