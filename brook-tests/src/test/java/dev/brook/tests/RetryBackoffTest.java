package dev.brook.tests;

import static dev.brook.redis.Redis.list;
import static dev.brook.redis.Redis.stream;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.brook.Backoff;
import dev.brook.Destination;
import dev.brook.redis.RedisBroker;
import dev.brook.testing.RedisServer;
import dev.brook.testing.TestRedisBroker;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * {@code retry(backoff)}: a failed message comes back after the back-off of its attempt, with the
 * attempt and the last error in its headers on a List, and is dead-lettered after maxDeliveries;
 * the back-off functions themselves.
 */
class RetryBackoffTest {

  private static RedisServer redis;

  @BeforeAll
  static void startRedis() {
    redis = RedisServer.start();
  }

  @AfterAll
  static void stopRedis() {
    redis.close();
  }

  @Test
  void backoffFunctions() {
    Backoff exp = Backoff.exponential(Duration.ofSeconds(1), 2.0).max(Duration.ofSeconds(10));
    assertThat(exp.delay(1)).isEqualTo(Duration.ofSeconds(1));
    assertThat(exp.delay(2)).isEqualTo(Duration.ofSeconds(2));
    assertThat(exp.delay(4)).isEqualTo(Duration.ofSeconds(8));
    assertThat(exp.delay(5)).isEqualTo(Duration.ofSeconds(10));
    assertThat(exp.delay(500)).isEqualTo(Duration.ofSeconds(10));
    assertThat(Backoff.fixed(Duration.ofMillis(7)).delay(9)).isEqualTo(Duration.ofMillis(7));
    Backoff jittered = Backoff.fixed(Duration.ofSeconds(1)).jitter(0.2);
    for (int i = 0; i < 1000; i++) {
      assertThat(jittered.delay(1).toMillis()).isBetween(800L, 1200L);
    }
    Backoff custom = attempt -> Duration.ofSeconds(attempt * 3);
    assertThat(custom.delay(2)).isEqualTo(Duration.ofSeconds(6));
  }

  private record Attempt(long atNanos, String deliveries, String lastError) {}

  @ParameterizedTest
  @ValueSource(strings = {"list", "stream"})
  void aFailingMessageComesBackAfterEachBackoffThenIsDeadLettered(String kind) throws Exception {
    String name = "retry-" + kind;
    Destination d = kind.equals("list") ? list(name).deadLetter().maxDeliveries(3)
        : stream(name).group("g").startFrom("0").maxDeliveries(3);
    try (RedisBroker broker = RedisBroker.create(redis.url())) {
      Map<String, List<Attempt>> attempts = new ConcurrentHashMap<>();
      broker.subscriber(d).retry(Backoff.exponential(Duration.ofMillis(200), 2.0)).handle(String.class, (s, ctx) -> {
        attempts.computeIfAbsent(s, k -> new CopyOnWriteArrayList<>()).add(new Attempt(System.nanoTime(),
            ctx.headers().get("x-deliveries"), ctx.headers().get("x-last-error")));
        if (s.startsWith("bad") || attempts.get(s).size() == 1) {
          throw new IllegalStateException("boom " + s);
        }
        return null;
      });
      broker.start();
      broker.publish("bad", d);
      broker.publish("once", d);
      String dlqKey = kind.equals("list") ? "{" + name + "}:dlq" : "{" + name + "}:dlq";
      await().atMost(Duration.ofSeconds(10)).until(() -> attempts.getOrDefault("bad", List.of()).size() == 3
          && attempts.getOrDefault("once", List.of()).size() == 2
          && deadLetters(kind, dlqKey) == 1);
      Thread.sleep(300);
      List<Attempt> bad = attempts.get("bad");
      assertThat(bad).hasSize(3);
      long first = (bad.get(1).atNanos() - bad.get(0).atNanos()) / 1_000_000;
      long second = (bad.get(2).atNanos() - bad.get(1).atNanos()) / 1_000_000;
      assertThat(first).isBetween(190L, 200L + 400L);
      assertThat(second).isBetween(390L, 400L + 400L);
      assertThat(attempts.get("once")).hasSize(2);
      if (kind.equals("list")) {
        assertThat(bad.get(0).deliveries()).isNull();
        assertThat(bad.get(1).deliveries()).isEqualTo("1");
        assertThat(bad.get(2).deliveries()).isEqualTo("2");
        assertThat(bad.get(2).lastError()).contains("boom bad");
      }
      assertThat(redis.command("EXISTS", "{" + name + "}:delayed")).isEqualTo(0L);
      assertThat(deadLetters(kind, dlqKey)).isEqualTo(1);
    }
  }

  private static long deadLetters(String kind, String key) {
    Object n = kind.equals("list") ? redis.command("LLEN", key) : redis.command("XLEN", key);
    return (Long) n;
  }

  @Test
  void inMemoryTheRetryWaitsForTheManualClock() throws Exception {
    try (RedisBroker broker = RedisBroker.create("redis://127.0.0.1:1");
        TestRedisBroker test = TestRedisBroker.of(broker)) {
      List<String> seen = new ArrayList<>();
      broker.subscriber(list("jobs").maxDeliveries(5)).retry(Backoff.fixed(Duration.ofMinutes(1)))
          .handle(String.class, (s, ctx) -> {
            seen.add(s + "@" + ctx.headers().getOrDefault("x-deliveries", "0"));
            if (seen.size() == 1) {
              throw new IllegalStateException("first fails");
            }
            return null;
          });
      try {
        broker.publish("job", list("jobs"));
      } catch (RuntimeException expected) {
        // the test broker rethrows the handler's failure to the publisher
      }
      assertThat(seen).containsExactly("job@0");
      test.advance(Duration.ofSeconds(59));
      assertThat(seen).containsExactly("job@0");
      test.advance(Duration.ofSeconds(1));
      assertThat(seen).containsExactly("job@0", "job@1");
    }
  }
}
