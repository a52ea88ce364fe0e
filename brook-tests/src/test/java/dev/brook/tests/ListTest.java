package dev.brook.tests;

import static dev.brook.redis.Redis.list;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.brook.Subscription;
import dev.brook.redis.RedisBroker;
import dev.brook.redis.internal.Envelope;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

/**
 * Lists under load and in Redis' own terms: many consumers, real concurrency and timing, stop under
 * load, the consumer's connection. What a list does for a handler is in {@code
 * behaviour.ListBehaviour}, on Redis and in memory.
 */
class ListTest extends RedisTestBase {

  private long llen(String key) {
    return (Long) redis.command("LLEN", key);
  }

  private List<?> lrange(String key) {
    return (List<?>) redis.command("LRANGE", key, "0", "-1");
  }

  private List<?> processingLists(String name) {
    return (List<?>) redis.command("KEYS", "{" + name + "}:processing:*");
  }

  @Test
  void tenThousandMessagesThreeConsumersEachHandledOnce() {
    int n = 10_000;
    Map<String, AtomicInteger> seen = new ConcurrentHashMap<>();
    AtomicInteger total = new AtomicInteger();
    List<RedisBroker> consumers = new ArrayList<>();
    for (int c = 0; c < 3; c++) {
      RedisBroker b = broker();
      b.subscriber(list("work").consumer("c" + c)).handle(String.class, (s, ctx) -> {
        seen.computeIfAbsent(s, k -> new AtomicInteger()).incrementAndGet();
        total.incrementAndGet();
        return null;
      });
      b.start();
      consumers.add(b);
    }
    RedisBroker publisher = broker();
    List<String> payloads = IntStream.range(0, n).mapToObj(i -> "m" + i).toList();
    for (int i = 0; i < n; i += 500) {
      publisher.publishBatch(payloads.subList(i, i + 500), list("work"));
    }
    await().atMost(Duration.ofSeconds(60)).until(() -> total.get() >= n);
    assertThat(seen).hasSize(n);
    assertThat(seen.values()).allMatch(count -> count.get() == 1);
    await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> {
      for (int c = 0; c < 3; c++) {
        assertThat(llen("{work}:processing:c" + c)).isZero();
      }
    });
    assertThat(llen("work")).isZero();
  }

  @Test
  void concurrencyEightIsAboutEightTimesFaster() {
    long one = timeFor(1, "conc1");
    long eight = timeFor(8, "conc8");
    System.out.printf("concurrency 1: %d ms, concurrency 8: %d ms, ratio %.1f%n", one, eight, (double) one / eight);
    assertThat((double) one / eight).isGreaterThan(5.0);
  }

  private long timeFor(int concurrency, String name) {
    RedisBroker broker = broker();
    int n = 32;
    CountDownLatch done = new CountDownLatch(n);
    broker.subscriber(list(name)).concurrency(concurrency).handle(String.class, (s, ctx) -> {
      Thread.sleep(50); // simulated work
      done.countDown();
      return null;
    });
    broker.publishBatch(IntStream.range(0, n).mapToObj(i -> "w" + i).toList(), list(name));
    long t0 = System.nanoTime();
    broker.start();
    try {
      assertThat(done.await(30, TimeUnit.SECONDS)).isTrue();
    } catch (InterruptedException e) {
      throw new AssertionError(e);
    }
    return TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
  }

  @Test
  void stopDuringLoadLosesNothing() {
    int n = 2_000;
    Set<String> handled = ConcurrentHashMap.newKeySet();
    RedisBroker broker = broker();
    Subscription sub = broker.subscriber(list("load").consumer("l1")).concurrency(4).handle(String.class, (s, ctx) -> {
      Thread.sleep(1); // simulated work
      handled.add(s);
      return null;
    });
    broker.publishBatch(IntStream.range(0, n).mapToObj(i -> "x" + i).toList(), list("load"));
    broker.start();
    await().atMost(Duration.ofSeconds(10)).until(() -> handled.size() > 100);
    sub.stop();
    int afterStop = handled.size();
    assertThat(afterStop).isLessThan(n);
    // Nothing popped is dropped: what was not handled is back in the queue, nothing is in processing.
    assertThat(llen("{load}:processing:l1")).isZero();
    assertThat(llen("load")).isEqualTo(n - afterStop);
    sub.start();
    await().atMost(Duration.ofSeconds(30)).until(() -> handled.size() == n);
  }

  /**
   * An item Redis moved into the processing list for a read whose reply never came (the stop closed
   * the connection mid-BLMOVE; here put there by hand while the consumer blocks) goes back to the
   * queue when the subscription stops, not at its next start.
   */
  @Test
  void stopGivesBackWhatTheProcessingListHoldsBeyondWhatTheConsumerReceived() {
    RedisBroker broker = broker();
    Calls<String> seen = new Calls<>();
    Subscription sub = broker.subscriber(list("cut").consumer("c")).handle(String.class, seen);
    broker.start();
    broker.publish("handled", list("cut"));
    await().atMost(Duration.ofSeconds(5)).until(() -> seen.payloads().size() == 1);
    redis.command("RPUSH", "{cut}:processing:c", "orphan");
    sub.stop();
    assertThat(llen("{cut}:processing:c")).isZero();
    assertThat(lrange("cut")).hasSize(1).first().asString().isEqualTo("orphan");
    assertThat(seen.payloads()).containsExactly("handled");
  }

  @Test
  void stoppedAndClosedListSubscriptionsReleaseTheirConnection() {
    RedisBroker broker = broker(b -> b.clientName("list-conn"));
    Subscription sub = broker.subscriber(list("c")).handle(String.class, new Calls<>());
    broker.start();
    assertThat(clients("list-conn")).isEqualTo(2); // commands + the consumer's blocking connection
    sub.stop();
    await().atMost(Duration.ofSeconds(5)).until(() -> clients("list-conn") == 1);
    sub.start();
    await().atMost(Duration.ofSeconds(5)).until(() -> clients("list-conn") == 2);
    sub.close();
    await().atMost(Duration.ofSeconds(5)).until(() -> clients("list-conn") == 1);
    assertThat(redis.command("EXISTS", "{c}:heartbeat:" + dev.brook.redis.Redis.defaultConsumerName())).isEqualTo(0L);
  }

  private long clients(String name) {
    return ((String) redis.command("CLIENT", "LIST")).lines().filter(l -> l.contains(" name=" + name + " ")).count();
  }

  /**
   * Batches settled out of the order they were fetched: the batch ack cannot trim the head of the
   * processing list and removes its items one by one instead. Nothing stays, nothing is lost.
   */
  @Test
  void batchesAcknowledgedOutOfOrderLeaveNothingInTheProcessingList() throws Exception {
    RedisBroker broker = broker();
    CountDownLatch secondDone = new CountDownLatch(1);
    CountDownLatch release = new CountDownLatch(1);
    AtomicInteger batches = new AtomicInteger();
    Set<String> seen = ConcurrentHashMap.newKeySet();
    AtomicInteger total = new AtomicInteger();
    // A batch is what is waiting when the worker looks, so the first may hold fewer than ten.
    java.util.concurrent.atomic.AtomicReference<List<String>> firstBatch = new java.util.concurrent.atomic.AtomicReference<>();
    broker.subscriber(list("ooo").consumer("c")).concurrency(2).batch(10).handle(String.class, (List<String> items, dev.brook.MessageContext ctx) -> {
      if (batches.incrementAndGet() == 1) {
        firstBatch.set(List.copyOf(items));
        // The first batch waits until a later one has been acknowledged before it.
        assertThat(secondDone.await(10, TimeUnit.SECONDS)).isTrue();
        assertThat(release.await(10, TimeUnit.SECONDS)).isTrue();
      } else {
        secondDone.countDown();
      }
      seen.addAll(items);
      total.addAndGet(items.size());
      return null;
    });
    broker.publishBatch(IntStream.range(0, 10).mapToObj(i -> "a" + i).toList(), list("ooo"));
    broker.start();
    await().atMost(Duration.ofSeconds(5)).until(() -> batches.get() >= 1);
    broker.publishBatch(IntStream.range(0, 10).mapToObj(i -> "b" + i).toList(), list("ooo"));
    // The later batches' acks took exactly their own items out from behind the first batch's.
    await().atMost(Duration.ofSeconds(10)).until(() -> raw().sync().lrange(utf8("{ooo}:processing:c"), 0, -1).stream()
        .map(v -> new String(Envelope.decode(v).payload(), java.nio.charset.StandardCharsets.UTF_8)).toList()
        .equals(firstBatch.get()));
    assertThat(firstBatch.get()).isNotEmpty().allMatch(item -> item.startsWith("a"));
    release.countDown();
    await().atMost(Duration.ofSeconds(10)).until(() -> total.get() >= 20);
    await().atMost(Duration.ofSeconds(5)).until(() -> llen("{ooo}:processing:c") == 0);
    assertThat(seen).hasSize(20);
    assertThat(total.get()).isEqualTo(20);
    assertThat(llen("ooo")).isZero();
  }

  /** Scripts go by their SHA-1; a Redis that forgot them (SCRIPT FLUSH, a restart) gets them again in full. */
  @Test
  void aFlushedScriptCacheIsRefilledWithoutLosingAnItem() {
    RedisBroker broker = broker();
    Set<String> seen = ConcurrentHashMap.newKeySet();
    broker.subscriber(list("flushed").consumer("c")).batch(50).handle(String.class, (List<String> items, dev.brook.MessageContext ctx) -> {
      seen.addAll(items);
      return null;
    });
    broker.start();
    for (int round = 0; round < 3; round++) {
      redis.command("SCRIPT", "FLUSH");
      int from = round * 100;
      broker.publishBatch(IntStream.range(from, from + 100).mapToObj(i -> "m" + i).toList(), list("flushed"));
      await().atMost(Duration.ofSeconds(10)).until(() -> seen.size() >= from + 100);
    }
    await().atMost(Duration.ofSeconds(5)).until(() -> llen("{flushed}:processing:c") == 0);
    assertThat(seen).hasSize(300);
    assertThat(llen("flushed")).isZero();
  }
}
