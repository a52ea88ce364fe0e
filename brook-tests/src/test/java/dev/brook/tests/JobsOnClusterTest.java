package dev.brook.tests;

import static dev.brook.redis.Redis.list;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.brook.redis.RedisBroker;
import dev.brook.redis.Schedule;
import dev.brook.redis.ScheduleHandle;
import dev.brook.testing.RedisCluster;
import dev.brook.testing.WithRedisCluster;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The job features on a Redis Cluster: every key a feature's scripts touch shares the destination's
 * hash tag (or the schedule's), so the scripts run in one slot — a shared and a per-key rate limit,
 * idempotency, dead letters and a schedule all work across the cluster's masters.
 */
@WithRedisCluster(shared = true)
class JobsOnClusterTest {

  private final RedisCluster cluster;
  private final TestResources resources = new TestResources();

  JobsOnClusterTest(RedisCluster cluster) {
    this.cluster = cluster;
  }

  @AfterEach
  void close() throws Exception {
    resources.close();
  }

  private RedisBroker broker() {
    return resources.broker(cluster.url(), b -> {});
  }

  @Test
  void rateLimitsIdempotencyDeadLettersAndSchedulesRunInOneSlot() {
    RedisBroker b = broker();
    List<String> handled = Collections.synchronizedList(new ArrayList<>());
    b.subscriber(list("cjobs").rateLimit(50, Duration.ofSeconds(1)).rateLimitPerKey("tenant", 15, Duration.ofSeconds(1))
        .idempotent(Duration.ofMinutes(1)).deadLetter()).concurrency(4).handle(String.class, (s, ctx) -> {
          if (s.startsWith("bad")) {
            throw new IllegalStateException("bad job");
          }
          handled.add(s);
          return null;
        });
    b.start();
    RedisBroker publisher = broker();
    // 30 per tenant at 15 a second: half of them parked and promoted (admit, promote and the stop's
    // park-back touch only keys of the list's slot)
    for (String s : IntStream.range(0, 60).mapToObj(i -> "job" + i).toList()) {
      publisher.publish(s, list("cjobs"), Map.of("tenant", "t" + (s.hashCode() % 2), "message_id", s));
    }
    publisher.publish("job0", list("cjobs"), Map.of("message_id", "job0")); // a duplicate: skipped
    publisher.publish("bad1", list("cjobs"), Map.of("message_id", "bad1"));
    await().atMost(Duration.ofSeconds(10)).until(() -> handled.size() == 60 && b.deadLetters(list("cjobs")).count() == 1);
    assertThat(handled).doesNotHaveDuplicates();
    assertThat(b.deadLetters(list("cjobs")).replay("bad1")).isTrue();

    ScheduleHandle tick = b.schedule("cluster-tick", Schedule.every(Duration.ofMillis(100)), () -> "t", list("cticks"));
    await().atMost(Duration.ofSeconds(5)).until(() -> tick.fired() >= 3);
    tick.cancel();
    assertThat(cluster.masterFor("{cjobs}:rate").port()).isEqualTo(cluster.masterFor("cjobs").port());
  }

  /** concurrencyPerKey's scripts (admit, settle with release, renew, promote) touch only keys of the list's slot. */
  @Test
  void concurrencyPerKeyRunsInOneSlot() {
    java.util.Map<String, java.util.concurrent.atomic.AtomicInteger> running = new java.util.concurrent.ConcurrentHashMap<>();
    java.util.concurrent.atomic.AtomicInteger max = new java.util.concurrent.atomic.AtomicInteger();
    List<String> handled = Collections.synchronizedList(new ArrayList<>());
    for (int c = 0; c < 2; c++) {
      RedisBroker b = broker();
      b.subscriber(list("cslots").heartbeat(Duration.ofSeconds(1)).concurrencyPerKey("tenant", 2)).concurrency(4)
          .handle(String.class, (s, ctx) -> {
            int now = running.computeIfAbsent(ctx.header("tenant"), k -> new java.util.concurrent.atomic.AtomicInteger())
                .incrementAndGet();
            max.accumulateAndGet(now, Math::max);
            try {
              Thread.sleep(s.startsWith("slow") ? 1500 : 20); // longer than the lease: renewed on the cluster
            } finally {
              running.get(ctx.header("tenant")).decrementAndGet();
            }
            handled.add(s);
            return null;
          });
      b.start();
    }
    RedisBroker publisher = broker();
    publisher.publish("slow-a", list("cslots"), Map.of("tenant", "acme"));
    publisher.publish("slow-b", list("cslots"), Map.of("tenant", "acme"));
    for (int i = 0; i < 20; i++) {
      publisher.publish("job" + i, list("cslots"), Map.of("tenant", "acme"));
    }
    await().atMost(Duration.ofSeconds(20)).until(() -> handled.size() == 22);
    assertThat(handled).doesNotHaveDuplicates();
    assertThat(max.get()).isEqualTo(2);
    assertThat(cluster.masterFor("{cslots}:slotwait").port()).isEqualTo(cluster.masterFor("cslots").port());
  }

  @Test
  void concurrencyPerKeyOnAStreamGroupRunsInOneSlot() {
    java.util.concurrent.atomic.AtomicInteger running = new java.util.concurrent.atomic.AtomicInteger();
    java.util.concurrent.atomic.AtomicInteger max = new java.util.concurrent.atomic.AtomicInteger();
    java.util.Set<Long> attempts = java.util.concurrent.ConcurrentHashMap.newKeySet();
    List<String> handled = Collections.synchronizedList(new ArrayList<>());
    for (int c = 0; c < 2; c++) {
      RedisBroker b = broker();
      b.subscriber(dev.brook.redis.Redis.stream("cpark").group("g").startFrom("0").minIdle(Duration.ofSeconds(1))
          .concurrencyPerKey("tenant", 2)).concurrency(4).handle(String.class, (s, ctx) -> {
            max.accumulateAndGet(running.incrementAndGet(), Math::max);
            attempts.add(ctx.deliveryCount());
            try {
              Thread.sleep(20);
            } finally {
              running.decrementAndGet();
            }
            handled.add(s);
            return null;
          });
      b.start();
    }
    RedisBroker publisher = broker();
    for (int i = 0; i < 20; i++) {
      publisher.publish("job" + i, dev.brook.redis.Redis.stream("cpark"), Map.of("tenant", "acme"));
    }
    await().atMost(Duration.ofSeconds(20)).until(() -> handled.size() == 20);
    assertThat(handled).doesNotHaveDuplicates();
    assertThat(max.get()).isEqualTo(2);
    assertThat(attempts).containsExactly(1L);
    assertThat(cluster.masterFor("{cpark}:perkey:g:slotwait").port()).isEqualTo(cluster.masterFor("cpark").port());
  }
}
