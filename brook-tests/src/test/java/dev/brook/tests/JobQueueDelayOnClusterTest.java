package dev.brook.tests;

import static dev.brook.redis.Redis.list;
import static dev.brook.redis.Redis.stream;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.brook.Backoff;
import dev.brook.Destination;
import dev.brook.PublishOptions;
import dev.brook.PublishResult;
import dev.brook.redis.RedisBroker;
import dev.brook.testing.RedisCluster;
import dev.brook.testing.WithRedisCluster;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Delays, dedup keys and retries on a Redis Cluster: the delayed set, dedup keys and the wake-up
 * channel share the destination's slot, so the scripts run on its master; two brokers promote each
 * job once, and a retried job comes back.
 */
@WithRedisCluster(shared = true)
class JobQueueDelayOnClusterTest {

  private final RedisCluster cluster;

  JobQueueDelayOnClusterTest(RedisCluster cluster) {
    this.cluster = cluster;
  }

  @ParameterizedTest
  @ValueSource(strings = {"list", "stream"})
  void delayedDedupedAndRetriedJobsOnACluster(String kind) throws Exception {
    String name = "cluster-jobs-" + kind;
    Destination d = kind.equals("list") ? list(name).maxDeliveries(3) : stream(name).group("g").startFrom("0").maxDeliveries(3);
    Map<String, AtomicInteger> runs = new ConcurrentHashMap<>();
    try (RedisBroker a = RedisBroker.create(cluster.url()); RedisBroker b = RedisBroker.create(cluster.url())) {
      for (RedisBroker broker : new RedisBroker[] {a, b}) {
        Destination mine = kind.equals("list") ? list(name).maxDeliveries(3).consumer(broker == a ? "a" : "b")
            : stream(name).group("g").startFrom("0").maxDeliveries(3).consumer(broker == a ? "a" : "b");
        broker.subscriber(mine).retry(Backoff.fixed(Duration.ofMillis(100))).handle(String.class, (s, ctx) -> {
          if (runs.computeIfAbsent(s, k -> new AtomicInteger()).incrementAndGet() == 1 && s.equals("j0")) {
            throw new IllegalStateException("first run of j0 fails");
          }
          return null;
        });
        broker.start();
      }
      for (int i = 0; i < 200; i++) {
        a.publish("j" + i, d, PublishOptions.delay(Duration.ofMillis(100 + i * 2)));
      }
      assertThat(a.publish("x", d, PublishOptions.dedupKey("x", Duration.ofSeconds(30)))).isEqualTo(PublishResult.PUBLISHED);
      assertThat(b.publish("x", d, PublishOptions.dedupKey("x", Duration.ofSeconds(30)))).isEqualTo(PublishResult.DUPLICATE);
      await().atMost(Duration.ofSeconds(10)).until(() -> runs.size() == 201 && runs.get("j0").get() == 2);
      // A job promoted twice would show up within this window.
      await().during(Duration.ofMillis(300)).atMost(Duration.ofSeconds(2)).untilAsserted(() ->
          runs.forEach((job, n) -> assertThat(n.get()).as(job).isEqualTo(job.equals("j0") ? 2 : 1)));
    }
  }
}
