package dev.brook.tests;

import static dev.brook.redis.Redis.stream;
import static org.awaitility.Awaitility.await;

import dev.brook.redis.RedisBroker;
import dev.brook.redis.StreamDestination;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;

/**
 * The cost of {@code concurrencyPerKey} on a stream group (docs/jobs.md, "Per-key limits on
 * streams"): 20,000 queued no-op entries, one broker with {@code concurrency(32)}, without a limit,
 * with 200 keys and {@code concurrencyPerKey(k, 4)} (little parking) and with 2 hot keys (8 of the
 * 32 may run, the rest parked and woken per release). A measurement, not a check: run with
 * {@code -Dbrook.probe=true -Dtest=StreamPerKeyCostProbe}.
 */
@EnabledIfSystemProperty(named = "brook.probe", matches = "true")
class StreamPerKeyCostProbe extends RedisTestBase {

  private static final int N = 20_000;

  @Test
  void measure() {
    run("none", 0, stream("cost0").group("g").startFrom("0"));
    run("200 keys", 200, stream("cost1").group("g").startFrom("0").concurrencyPerKey("tenant", 4));
    run("2 hot keys", 2, stream("cost2").group("g").startFrom("0").concurrencyPerKey("tenant", 4));
  }

  private void run(String label, int keys, StreamDestination d) {
    RedisBroker publisher = broker();
    for (int i = 0; i < N; i++) {
      publisher.publish("j" + i, stream(d.name()), keys == 0 ? Map.of() : Map.of("tenant", "t" + (i % keys)));
    }
    AtomicInteger done = new AtomicInteger();
    RedisBroker b = broker();
    b.subscriber(d).concurrency(32).handle(String.class, (s, ctx) -> {
      done.incrementAndGet();
      return null;
    });
    redis.command("CONFIG", "RESETSTAT");
    long start = System.nanoTime();
    b.start();
    await().atMost(Duration.ofMinutes(2)).until(() -> done.get() >= N);
    double seconds = (System.nanoTime() - start) / 1e9;
    System.out.printf("stream group, concurrencyPerKey cost, %s: %d entries in %.2f s = %.0f entries/s%n", label, N,
        seconds, N / seconds);
    if (System.getProperty("brook.probe.stats") != null) {
      for (String line : String.valueOf(redis.command("INFO", "commandstats")).split("\n")) {
        if (line.contains("calls=")) {
          System.out.println("  " + line.trim());
        }
      }
    }
  }
}
