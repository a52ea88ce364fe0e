package dev.brook.tests;

import static dev.brook.redis.Redis.list;
import static dev.brook.redis.Redis.stream;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.brook.AckPolicy;
import dev.brook.Destination;
import dev.brook.Subscription;
import dev.brook.redis.RedisBroker;
import dev.brook.redis.StreamDestination;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * While a message whose handler always fails sits in a partitioned stream or a per-key job list
 * (NACK_ON_ERROR: delivered again after a back-off), Redis sees a bounded command rate, not a hot
 * loop, and the consumer keeps handling other messages.
 */
class ProbeHotLoopTest extends RedisTestBase {

  private void sits(Destination dest, Runnable publishPoison, Runnable publishGood) throws Exception {
    RedisBroker broker = broker(b -> b.ackPolicy(AckPolicy.NACK_ON_ERROR));
    AtomicInteger attempts = new AtomicInteger();
    AtomicInteger good = new AtomicInteger();
    Subscription sub = broker.subscriber(dest).handle(String.class, (s, ctx) -> {
      if (s.equals("poison")) {
        attempts.incrementAndGet();
        throw new IllegalStateException("always fails");
      }
      good.incrementAndGet();
      return null;
    });
    broker.start();
    publishPoison.run();
    await().atMost(Duration.ofSeconds(10)).until(() -> attempts.get() >= 1);
    redis.command("CONFIG", "RESETSTAT");
    int before = attempts.get();
    long t0 = System.nanoTime();
    Thread.sleep(2000);
    double seconds = (System.nanoTime() - t0) / 1e9;
    long calls = ProbePoisonTest.totalCalls(redis);
    int retried = attempts.get() - before;
    System.out.printf("PROBE hot loop %s: %.1f commands/s, %d attempts in %.1f s%n", dest, calls / seconds, retried, seconds);
    publishGood.run();
    await().atMost(Duration.ofSeconds(10)).until(() -> good.get() == 1);
    assertThat(sub.state()).isEqualTo(Subscription.State.RUNNING);
    assertThat(calls / seconds).as("commands/s while the poison sits").isLessThan(300);
    assertThat(retried).as("attempts in 2 s").isLessThan(20);
  }

  @Test
  void partitionedStream() throws Exception {
    StreamDestination d = stream("hl-p").partitions(2).group("g").leaseTime(Duration.ofSeconds(1)).minIdle(Duration.ofMillis(500))
        .maxDeliveries(1000);
    RedisBroker p = broker();
    sits(d, () -> p.publish("poison", d, "k"), () -> p.publish("ok", d, "k2"));
  }

  @Test
  void perKeyJobList() throws Exception {
    var d = list("hl-j").concurrencyPerKey("k", 1).maxDeliveries(1000);
    RedisBroker p = broker();
    sits(d, () -> p.publish("poison", d, Map.of("k", "a")), () -> p.publish("ok", d, Map.of("k", "b")));
  }
}
