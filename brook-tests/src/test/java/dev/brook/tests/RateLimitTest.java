package dev.brook.tests;

import static dev.brook.redis.Redis.list;
import static dev.brook.redis.Redis.stream;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.brook.Destination;
import dev.brook.redis.RedisBroker;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

/**
 * {@code rateLimit}: one token bucket in Redis shared by three brokers. 300 messages at 100/s with
 * a burst of 100 take about 2 s whoever consumes them; no second of it exceeds the limit by more
 * than the tolerance; every message is handled exactly once.
 */
class RateLimitTest extends RedisTestBase {

  @Test
  void threeBrokersShareOneListLimit() {
    measure(list("jobs").rateLimit(100, Duration.ofSeconds(1)), "jobs");
  }

  @Test
  void threeBrokersShareOneStreamLimit() {
    measure(stream("events").group("workers").startFrom("0").rateLimit(100, Duration.ofSeconds(1)), "events");
  }

  private void measure(Destination limited, String name) {
    int n = 300;
    List<Long> handledAt = Collections.synchronizedList(new ArrayList<>());
    Set<String> seen = ConcurrentHashMap.newKeySet();
    RedisBroker publisher = broker();
    publisher.publishBatch(IntStream.range(0, n).mapToObj(i -> "m" + i).toList(), destinationForPublish(limited, name));
    long start = System.nanoTime();
    for (int c = 0; c < 3; c++) {
      RedisBroker b = broker();
      b.subscriber(limited).concurrency(8).handle(String.class, (s, ctx) -> {
        handledAt.add(System.nanoTime());
        assertThat(seen.add(s)).as("handled twice: %s", s).isTrue();
        return null;
      });
      b.start();
    }
    await().atMost(Duration.ofSeconds(10)).until(() -> handledAt.size() >= n);
    double seconds = (System.nanoTime() - start) / 1e9;
    // 100 at once (the burst), then 200 at 100/s: 2 s; the brokers' start adds a little.
    assertThat(seconds).isBetween(1.8, 3.2);
    assertThat(seen).hasSize(n);
    // What a token bucket guarantees: by any moment, at most its 100 (full at the start) plus 100 per
    // second since. A handler runs only after its token was taken, so this holds for the handlers'
    // times however the machine's load bunches them; a sliding one-second window of handler times
    // does not (a stall lets the bucket refill, and a full bucket plus a second's refill is 200).
    List<Long> times = new ArrayList<>(handledAt);
    Collections.sort(times);
    for (int i = 0; i < times.size(); i++) {
      double elapsed = (times.get(i) - start) / 1e9;
      assertThat(i + 1).as("handled by %.3f s", elapsed).isLessThanOrEqualTo((int) (100 + 100 * elapsed * 1.05) + 1);
    }
    await().atMost(Duration.ofSeconds(5)).untilAsserted(() ->
        assertThat((Long) redis.command("HLEN", "{" + name + "}:rate")).isEqualTo(2L));
  }

  private static Destination destinationForPublish(Destination d, String name) {
    return d instanceof dev.brook.redis.ListDestination ? list(name) : stream(name);
  }

  @Test
  void aConsumerWithoutTokensWaitsWithoutPolling() throws Exception {
    RedisBroker b = broker();
    List<String> got = Collections.synchronizedList(new ArrayList<>());
    b.subscriber(list("slow").rateLimit(1, Duration.ofSeconds(2))).handle(String.class, (s, ctx) -> {
      got.add(s);
      return null;
    });
    b.start();
    RedisBroker publisher = broker();
    publisher.publishBatch(List.of("a", "b"), list("slow"));
    await().atMost(Duration.ofSeconds(2)).until(() -> got.size() == 1);
    redis.command("CONFIG", "RESETSTAT");
    Thread.sleep(1000); // a second without a token: how often did the consumer ask?
    String stats = (String) redis.command("INFO", "commandstats");
    long scripts = calls(stats, "evalsha") + calls(stats, "eval");
    assertThat(got).containsExactly("a");
    assertThat(scripts).as("scripts run while waiting for a token").isLessThanOrEqualTo(3);
    await().atMost(Duration.ofSeconds(3)).until(() -> got.size() == 2);
    assertThat((Long) redis.command("LLEN", "slow")).isZero();
  }

  private static long calls(String commandstats, String command) {
    for (String line : commandstats.split("\r?\n")) {
      if (line.startsWith("cmdstat_" + command + ":calls=")) {
        String v = line.substring(("cmdstat_" + command + ":calls=").length());
        return Long.parseLong(v.substring(0, v.indexOf(',')));
      }
    }
    return 0;
  }

  /** A partitioned stream's partitions are in different slots: one shared bucket is impossible, so both orders refuse. */
  @Test
  void aPartitionedStreamRefusesASharedRateLimit() {
    org.assertj.core.api.Assertions.assertThatThrownBy(() -> stream("parts").partitions(4).rateLimit(10, Duration.ofSeconds(1)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("4 partitions").hasMessageContaining("4 times the limit")
        .hasMessageContaining("a list, or a stream without partitions");
    org.assertj.core.api.Assertions.assertThatThrownBy(() -> stream("parts").rateLimit(10, Duration.ofSeconds(1)).partitions(4))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("4 partitions");
    // one partition is one stream: allowed
    assertThat(stream("parts").partitions(1).rateLimit(10, Duration.ofSeconds(1)).rateLimitCount()).isEqualTo(10);
  }
}
