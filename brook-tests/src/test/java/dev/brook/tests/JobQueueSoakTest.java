package dev.brook.tests;

import static dev.brook.redis.Redis.list;
import static dev.brook.redis.Redis.stream;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.brook.Backoff;
import dev.brook.Destination;
import dev.brook.PublishOptions;
import dev.brook.redis.RedisBroker;
import dev.brook.testing.RedisServer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicIntegerArray;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * 100,000 jobs with random delays (0–3 s) on a reliable List, and on a Stream with a consumer group,
 * consumed by three brokers with
 * {@code retry(Backoff.fixed(50 ms))} and {@code maxDeliveries(3)}: 10 % fail once, 1 % always.
 * Exact counts: every job completes once except the always-failing ones, which run 3 times and are
 * dead-lettered once; a job failing once runs exactly twice, any other exactly once; afterwards
 * Redis holds nothing but the dead letters (and, for the stream, the stream itself, with nothing
 * pending in its group). Run with {@code -Psoak -Dtest=JobQueueSoakTest}.
 */
class JobQueueSoakTest {

  private static final int JOBS = 100_000;

  @ParameterizedTest
  @ValueSource(strings = {"list", "stream"})
  @Tag("soak")
  void hundredThousandDelayedJobsWithRetries(String kind) throws Exception {
    boolean isList = kind.equals("list");
    String dlq = "{soak}:dlq";
    try (RedisServer redis = RedisServer.start()) {
      Destination jobs = isList ? list("soak").deadLetter().maxDeliveries(3) : stream("soak").group("g").maxDeliveries(3);
      AtomicIntegerArray runs = new AtomicIntegerArray(JOBS);
      AtomicIntegerArray completed = new AtomicIntegerArray(JOBS);
      List<RedisBroker> brokers = new ArrayList<>();
      long start = System.nanoTime();
      try (RedisBroker publisher = RedisBroker.create(redis.url())) {
        for (int b = 0; b < 3; b++) {
          RedisBroker broker = RedisBroker.create(redis.url());
          brokers.add(broker);
          Destination mine = isList ? list("soak").deadLetter().maxDeliveries(3).consumer("c" + b)
              : stream("soak").group("g").maxDeliveries(3).consumer("c" + b);
          broker.subscriber(mine).concurrency(16)
              .retry(Backoff.fixed(Duration.ofMillis(50))).handle(Integer.class, (i, ctx) -> {
                int run = runs.incrementAndGet(i);
                if (i % 100 == 0 || (i % 10 == 1 && run == 1)) {
                  throw new IllegalStateException("job " + i + " fails (run " + run + ")");
                }
                completed.incrementAndGet(i);
                return null;
              });
          broker.start();
        }
        List<CompletableFuture<?>> sent = new ArrayList<>(JOBS);
        for (int i = 0; i < JOBS; i++) {
          sent.add(publisher.publishAsync(i, jobs, Map.of(),
              PublishOptions.delay(Duration.ofMillis(ThreadLocalRandom.current().nextInt(3_000)))));
          if (sent.size() % 5_000 == 0) {
            CompletableFuture.allOf(sent.toArray(CompletableFuture[]::new)).join();
          }
        }
        CompletableFuture.allOf(sent.toArray(CompletableFuture[]::new)).join();
        await().atMost(Duration.ofMinutes(5)).pollInterval(Duration.ofMillis(200))
            .until(() -> deadLetters(redis, isList, dlq) == JOBS / 100 && completedCount(completed) == JOBS - JOBS / 100);
        Thread.sleep(500); // a second run of anything would show now
      } finally {
        for (RedisBroker b : brokers) {
          b.close();
        }
      }
      long ms = (System.nanoTime() - start) / 1_000_000;
      for (int i = 0; i < JOBS; i++) {
        int expectedRuns = i % 100 == 0 ? 3 : i % 10 == 1 ? 2 : 1;
        assertThat(runs.get(i)).as("runs of job %d", i).isEqualTo(expectedRuns);
        assertThat(completed.get(i)).as("completions of job %d", i).isEqualTo(i % 100 == 0 ? 0 : 1);
      }
      assertThat(deadLetters(redis, isList, dlq)).isEqualTo(JOBS / 100);
      @SuppressWarnings("unchecked")
      List<Object> keys = (List<Object>) redis.command("KEYS", "*");
      if (isList) {
        assertThat(keys.stream().map(String::valueOf).toList()).containsExactly(dlq);
      } else {
        assertThat(keys.stream().map(String::valueOf).toList()).containsExactlyInAnyOrder(dlq, "soak");
        assertThat((List<?>) redis.command("XPENDING", "soak", "g")).first().isEqualTo(0L);
      }
      System.out.println("JobQueueSoakTest " + kind + ": " + JOBS + " jobs in " + ms + " ms");
    }
  }

  private static long deadLetters(RedisServer redis, boolean isList, String key) {
    return (Long) redis.command(isList ? "LLEN" : "XLEN", key);
  }

  private static int completedCount(AtomicIntegerArray completed) {
    int n = 0;
    for (int i = 0; i < completed.length(); i++) {
      n += completed.get(i);
    }
    return n;
  }
}
