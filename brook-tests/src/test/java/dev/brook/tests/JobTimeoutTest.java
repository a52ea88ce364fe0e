package dev.brook.tests;

import static dev.brook.redis.Redis.list;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.brook.AckPolicy;
import dev.brook.redis.RedisBroker;
import dev.brook.testing.RedisServer;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * {@code timeout(d)}: a handler running longer is interrupted, the message fails (dead-lettered
 * under REJECT_ON_ERROR, delivered again under NACK_ON_ERROR), and the worker goes on with the next
 * message without an interrupt left over; no watchdog thread outlives its message.
 */
class JobTimeoutTest {

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
  void aHandlerOverItsTimeoutIsInterruptedAndItsMessageDeadLettered() throws Exception {
    try (RedisBroker broker = RedisBroker.create(redis.url())) {
      List<String> interrupted = new CopyOnWriteArrayList<>();
      List<String> done = new CopyOnWriteArrayList<>();
      List<Boolean> flagAtStart = new CopyOnWriteArrayList<>();
      broker.subscriber(list("slow").deadLetter()).concurrency(1).timeout(Duration.ofMillis(200))
          .handle(String.class, (s, ctx) -> {
            flagAtStart.add(Thread.currentThread().isInterrupted());
            try {
              Thread.sleep(s.startsWith("slow") ? 10_000 : 10);
              done.add(s);
            } catch (InterruptedException e) {
              interrupted.add(s);
              throw e;
            }
            return null;
          });
      broker.start();
      broker.publish("slow-1", list("slow"));
      broker.publish("fast-1", list("slow"));
      broker.publish("slow-2", list("slow"));
      broker.publish("fast-2", list("slow"));
      await().atMost(Duration.ofSeconds(5)).until(() -> done.size() == 2 && interrupted.size() == 2);
      assertThat(done).containsExactly("fast-1", "fast-2");
      assertThat(interrupted).containsExactly("slow-1", "slow-2");
      assertThat(flagAtStart).containsOnly(false);
      await().atMost(Duration.ofSeconds(5)).until(() -> ((List<?>) redis.command("LRANGE", "{slow}:dlq", "0", "-1")).size() == 2);
      String dead = String.valueOf(((List<?>) redis.command("LRANGE", "{slow}:dlq", "0", "0")).get(0));
      assertThat(dead).contains("slow-1").contains("timeout");
      await().atMost(Duration.ofSeconds(2)).until(() -> Thread.getAllStackTraces().keySet().stream()
          .noneMatch(t -> t.getName().startsWith("brook-timeout")));
    }
  }

  @Test
  void underNackOnErrorATimedOutMessageComesAgain() throws Exception {
    try (RedisBroker broker = RedisBroker.create(redis.url())) {
      ConcurrentHashMap<String, AtomicInteger> attempts = new ConcurrentHashMap<>();
      broker.subscriber(list("slow-nack")).ackPolicy(AckPolicy.NACK_ON_ERROR).timeout(Duration.ofMillis(100))
          .handle(String.class, (s, ctx) -> {
            if (attempts.computeIfAbsent(s, k -> new AtomicInteger()).incrementAndGet() == 1) {
              Thread.sleep(10_000);
            }
            return null;
          });
      broker.start();
      broker.publish("job", list("slow-nack"));
      await().atMost(Duration.ofSeconds(10)).until(() -> attempts.containsKey("job") && attempts.get("job").get() == 2);
      await().during(Duration.ofMillis(200)).atMost(Duration.ofSeconds(1))
          .untilAsserted(() -> assertThat(attempts.get("job").get()).isEqualTo(2));
    }
  }
}
