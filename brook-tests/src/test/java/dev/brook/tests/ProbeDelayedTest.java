package dev.brook.tests;

import static dev.brook.redis.Redis.list;
import static dev.brook.redis.Redis.stream;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.brook.Destination;
import dev.brook.PublishOptions;
import dev.brook.Subscription;
import dev.brook.redis.RedisBroker;
import dev.brook.redis.StreamDestination;
import java.time.Duration;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * Delayed messages (0–1.5 s, seeded) published while their consumer stops and starts and its
 * broker closes; a new broker finishes: each handled exactly once, none left in the delayed set.
 */
class ProbeDelayedTest extends RedisTestBase {

  private static final int N = 600;

  private void run(Destination dest, String delayedKey) throws Exception {
    Map<String, AtomicInteger> handled = new ConcurrentHashMap<>();
    RedisBroker broker = broker(b -> b.gracefulTimeout(Duration.ofSeconds(10)));
    Subscription sub = broker.subscriber(dest).id("d").handle(String.class, (s, ctx) -> {
      handled.computeIfAbsent(s, k -> new AtomicInteger()).incrementAndGet();
      return null;
    });
    broker.start();
    RedisBroker producer = broker();
    Random random = new Random(0xDE1A7);
    for (int i = 0; i < N; i++) {
      producer.publish("m" + i, dest, PublishOptions.delay(Duration.ofMillis(random.nextInt(1500))));
      if (i % 100 == 99) {
        sub.stop();
        Thread.sleep(random.nextInt(100));
        sub.start();
      }
    }
    Thread.sleep(300);
    broker.close();
    RedisBroker next = broker();
    next.subscriber(dest).id("d").handle(String.class, (s, ctx) -> {
      handled.computeIfAbsent(s, k -> new AtomicInteger()).incrementAndGet();
      return null;
    });
    next.start();
    await().atMost(Duration.ofSeconds(30)).until(() -> handled.size() == N);
    await().during(Duration.ofMillis(500)).atMost(Duration.ofSeconds(5)).until(() -> handled.size() == N);
    assertThat(handled.values()).as("each handled once").allMatch(c -> c.get() == 1);
    assertThat(redis.command("ZCARD", delayedKey)).isEqualTo(0L);
  }

  @Test
  void delayedOnAReliableList() throws Exception {
    run(list("dl"), "{dl}:delayed");
  }

  @Test
  void delayedOnAStreamGroup() throws Exception {
    StreamDestination dest = stream("ds").group("g").startFrom(StreamDestination.BEGINNING);
    run(dest, "{ds}:delayed");
  }
}
