package dev.brook.tests;

import static dev.brook.redis.Redis.list;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.brook.redis.RedisBroker;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

/**
 * {@code rateLimitPerKey}: a tenant flooding the queue does not delay another tenant beyond its own
 * limit, parked messages come back as their key's tokens come, and none is lost or handled twice.
 */
class KeyRateLimitTest extends RedisTestBase {

  @Test
  void aFloodingTenantDoesNotDelayAnother() {
    Map<String, AtomicInteger> handled = new ConcurrentHashMap<>();
    Set<String> seen = ConcurrentHashMap.newKeySet();
    Map<String, Long> doneAt = new ConcurrentHashMap<>();
    for (int c = 0; c < 2; c++) {
      RedisBroker b = broker();
      b.subscriber(list("tasks").rateLimitPerKey("tenant", 10, Duration.ofSeconds(1))).concurrency(4)
          .handle(String.class, (s, ctx) -> {
            assertThat(seen.add(s)).as("handled twice: %s", s).isTrue();
            handled.computeIfAbsent(ctx.header("tenant"), k -> new AtomicInteger()).incrementAndGet();
            doneAt.put(s, System.nanoTime());
            return null;
          });
      b.start();
    }
    RedisBroker publisher = broker();
    long start = System.nanoTime();
    // 100 of acme first, then 5 of beta behind them in the queue.
    for (String s : IntStream.range(0, 100).mapToObj(i -> "acme-" + i).toList()) {
      publisher.publish(s, list("tasks"), Map.of("tenant", "acme"));
    }
    for (int i = 0; i < 5; i++) {
      publisher.publish("beta-" + i, list("tasks"), Map.of("tenant", "beta"));
    }
    await().atMost(Duration.ofSeconds(3)).until(() -> count(handled, "beta") == 5);
    double betaSeconds = (doneAt.entrySet().stream().filter(e -> e.getKey().startsWith("beta"))
        .mapToLong(Map.Entry::getValue).max().orElseThrow() - start) / 1e9;
    // beta's 5 fit its own burst of 10: done as soon as the flood is parked, not after acme's 10 s.
    assertThat(betaSeconds).isLessThan(1.5);
    // acme: a burst of 10, then 10 a second.
    await().atMost(Duration.ofSeconds(5)).until(() -> count(handled, "acme") >= 30);
    double acmeSeconds = (System.nanoTime() - start) / 1e9;
    assertThat(count(handled, "acme")).isLessThanOrEqualTo((int) (10 + 10 * acmeSeconds) + 3);
    assertThat(acmeSeconds).isGreaterThan(1.7);
    // what waits is parked in Redis, nothing in a processing list
    long parked = (Long) redis.command("LLEN", "{tasks}:wait:acme") + (Long) redis.command("LLEN", "tasks");
    long processing = ((List<?>) redis.command("KEYS", "{tasks}:processing:*")).stream()
        .mapToLong(k -> (Long) redis.command("LLEN", k.toString())).sum();
    assertThat(parked + processing + count(handled, "acme")).isBetween(100L, 100L + 4 * 2);
  }

  private static int count(Map<String, AtomicInteger> handled, String tenant) {
    AtomicInteger n = handled.get(tenant);
    return n == null ? 0 : n.get();
  }
}
