package dev.brook.tests;

import static dev.brook.redis.Redis.list;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.brook.AckPolicy;
import dev.brook.NackMessage;
import dev.brook.RejectMessage;
import dev.brook.Subscription;
import dev.brook.redis.RedisBroker;
import dev.brook.redis.internal.Envelope;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

/** Lists as queues: reliable by default, at-most-once on request. */
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
  void fifoRoundTripAndNothingLeftInProcessing() {
    RedisBroker broker = broker();
    Recorder<String> recorder = new Recorder<>();
    broker.subscriber(list("jobs")).handle(String.class, recorder);
    broker.start();
    for (int i = 0; i < 20; i++) {
      broker.publish("job " + i, list("jobs"));
    }
    recorder.awaitCount(20);
    assertThat(recorder.payloads()).containsExactlyElementsOf(IntStream.range(0, 20).mapToObj(i -> "job " + i).toList());
    await().atMost(Duration.ofSeconds(5)).until(() -> processingLists("jobs").stream().allMatch(k -> llen((String) k) == 0));
    assertThat(llen("jobs")).isZero();
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
  void publishBatchIsOneRpushInOrder() {
    RedisBroker broker = broker();
    broker.publishBatch(List.of("a", "b", "c"), list("q"));
    List<?> items = lrange("q");
    assertThat(items).hasSize(3);
  }

  @Test
  void rejectOnErrorIsTheDefaultAndGoesToTheDeadLetter() {
    RedisBroker broker = broker();
    Recorder<String> ok = new Recorder<>();
    broker.subscriber(list("dl").deadLetter()).handle(String.class, (s, ctx) -> {
      if (s.equals("poison")) {
        throw new IllegalArgumentException("cannot handle poison");
      }
      return ok.handle(s, ctx);
    });
    broker.start();
    broker.publish("poison", list("dl"));
    broker.publish("fine", list("dl"));
    assertThat(ok.awaitOne().payload()).isEqualTo("fine");
    await().atMost(Duration.ofSeconds(5)).until(() -> llen("{dl}:dlq") == 1);
    var dead = raw().sync().lrange(utf8("{dl}:dlq"), 0, -1).get(0);
    var frame = Envelope.decode(dead);
    assertThat(new String(frame.payload())).isEqualTo("poison");
    assertThat(frame.header("x-error")).isEqualTo("java.lang.IllegalArgumentException: cannot handle poison");
    assertThat(frame.header("x-original")).isEqualTo("dl");
    assertThat(processingLists("dl")).allMatch(k -> llen((String) k) == 0);
  }

  @Test
  void undecodableItemsAreDeadLetteredWithTheReason() {
    RedisBroker broker = broker();
    Recorder<RoundTripTest.Order> ok = new Recorder<>();
    Subscription sub = broker.subscriber(list("typed").deadLetter()).handle(RoundTripTest.Order.class, ok);
    broker.start();
    raw().sync().rpush(utf8("typed"), utf8("not json"));
    broker.publish(new RoundTripTest.Order(1, "x", List.of()), list("typed"));
    ok.awaitOne();
    await().atMost(Duration.ofSeconds(5)).until(() -> llen("{typed}:dlq") == 1);
    var frame = Envelope.decode(raw().sync().lrange(utf8("{typed}:dlq"), 0, -1).get(0));
    assertThat(frame.header("x-error")).startsWith("cannot decode into dev.brook.tests.RoundTripTest$Order: Unrecognized token 'not'");
    assertThat(sub.metrics().decodeErrors()).isEqualTo(1);
  }

  @Test
  void nackRequeuesAtTheHeadAndTheItemComesBack() {
    RedisBroker broker = broker();
    AtomicInteger attempts = new AtomicInteger();
    Recorder<String> done = new Recorder<>();
    broker.subscriber(list("retry")).ackPolicy(AckPolicy.NACK_ON_ERROR).handle(String.class, (s, ctx) -> {
      if (attempts.incrementAndGet() < 3) {
        throw new IllegalStateException("not yet");
      }
      return done.handle(s, ctx);
    });
    broker.start();
    broker.publish("stubborn", list("retry"));
    assertThat(done.awaitOne().payload()).isEqualTo("stubborn");
    assertThat(attempts.get()).isEqualTo(3);
    await().atMost(Duration.ofSeconds(5)).until(() -> llen("retry") == 0 && processingLists("retry").stream().allMatch(k -> llen((String) k) == 0));
  }

  @Test
  void manualAckPolicyLeavesUnsettledItemsInTheProcessingList() {
    RedisBroker broker = broker();
    CountDownLatch handled = new CountDownLatch(3);
    broker.subscriber(list("manual").consumer("m1")).ackPolicy(AckPolicy.MANUAL).handle(String.class, (s, ctx) -> {
      switch (s) {
        case "ack" -> ctx.ack();
        case "reject" -> ctx.reject();
        default -> { } // left unsettled
      }
      handled.countDown();
      return null;
    });
    broker.start();
    broker.publishBatch(List.of("ack", "reject", "keep"), list("manual"));
    try {
      assertThat(handled.await(5, TimeUnit.SECONDS)).isTrue();
    } catch (InterruptedException e) {
      throw new AssertionError(e);
    }
    await().atMost(Duration.ofSeconds(5)).until(() -> llen("{manual}:processing:m1") == 1);
    assertThat(new String(Envelope.decode(raw().sync().lrange(utf8("{manual}:processing:m1"), 0, -1).get(0)).payload())).isEqualTo("keep");
    assertThat(llen("manual")).isZero();
  }

  @Test
  void ackFirstAndAckPoliciesAcknowledgeEvenOnError() {
    for (AckPolicy policy : List.of(AckPolicy.ACK_FIRST, AckPolicy.ACK)) {
      String name = "p-" + policy.name().toLowerCase();
      RedisBroker broker = broker();
      CountDownLatch called = new CountDownLatch(1);
      broker.subscriber(list(name).consumer("x").deadLetter()).ackPolicy(policy).handle(String.class, (s, ctx) -> {
        called.countDown();
        throw new IllegalStateException("fails");
      });
      broker.start();
      broker.publish("m", list(name));
      try {
        assertThat(called.await(5, TimeUnit.SECONDS)).isTrue();
      } catch (InterruptedException e) {
        throw new AssertionError(e);
      }
      await().atMost(Duration.ofSeconds(5)).until(() -> llen("{" + name + "}:processing:x") == 0);
      assertThat(llen(name)).as(policy + " queue").isZero();
      assertThat(llen("{" + name + "}:dlq")).as(policy + " dead letter").isZero();
    }
  }

  @Test
  void handlerSignalsOverrideThePolicy() {
    RedisBroker broker = broker();
    AtomicInteger nacks = new AtomicInteger();
    Recorder<String> after = new Recorder<>();
    broker.subscriber(list("sig").deadLetter()).ackPolicy(AckPolicy.ACK).handle(String.class, (s, ctx) -> {
      if (s.equals("reject-me")) {
        throw new RejectMessage("not wanted");
      }
      if (s.equals("nack-me") && nacks.incrementAndGet() == 1) {
        throw new NackMessage();
      }
      return after.handle(s, ctx);
    });
    broker.start();
    broker.publishBatch(List.of("reject-me", "nack-me"), list("sig"));
    assertThat(after.awaitOne().payload()).isEqualTo("nack-me");
    await().atMost(Duration.ofSeconds(5)).until(() -> llen("{sig}:dlq") == 1);
    assertThat(Envelope.decode(raw().sync().lrange(utf8("{sig}:dlq"), 0, -1).get(0)).header("x-error")).isEqualTo("not wanted");
  }

  @Test
  void atMostOnceListPopsAndForgets() {
    RedisBroker broker = broker();
    Recorder<String> recorder = new Recorder<>();
    broker.subscriber(list("amo").atMostOnce()).handle(String.class, (s, ctx) -> {
      recorder.handle(s, ctx);
      throw new IllegalStateException("lost on purpose");
    });
    broker.start();
    broker.publishBatch(List.of("1", "2", "3"), list("amo"));
    recorder.awaitCount(3);
    assertThat(recorder.payloads()).containsExactly("1", "2", "3");
    assertThat(llen("amo")).isZero();
    assertThat(processingLists("amo")).isEmpty();
  }

  @Test
  void batchesHoldAtMostMaxRecordsAndPartialBatchesDoNotWait() throws Exception {
    RedisBroker broker = broker();
    List<Integer> sizes = new CopyOnWriteArrayList<>();
    Set<String> all = ConcurrentHashMap.newKeySet();
    broker.subscriber(list("batch")).batch(10).handle(String.class, (List<String> items, dev.brook.MessageContext ctx) -> {
      sizes.add(items.size());
      all.addAll(items);
      return null;
    });
    broker.start();
    broker.publishBatch(IntStream.range(0, 95).mapToObj(i -> "b" + i).toList(), list("batch"));
    await().atMost(Duration.ofSeconds(10)).until(() -> all.size() == 95);
    assertThat(sizes).allMatch(s -> s >= 1 && s <= 10);
    // A lone message is handed over at once as a batch of one, without waiting for more.
    sizes.clear();
    long t0 = System.nanoTime();
    broker.publish("alone", list("batch"));
    await().atMost(Duration.ofSeconds(2)).until(() -> all.contains("alone"));
    assertThat(Duration.ofNanos(System.nanoTime() - t0)).isLessThan(Duration.ofSeconds(2));
    assertThat(sizes).containsExactly(1);
    await().atMost(Duration.ofSeconds(5)).until(() -> processingLists("batch").stream().allMatch(k -> llen((String) k) == 0));
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

  @Test
  void stoppedAndClosedListSubscriptionsReleaseTheirConnection() {
    RedisBroker broker = broker(b -> b.clientName("list-conn"));
    Subscription sub = broker.subscriber(list("c")).handle(String.class, new Recorder<>());
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
}
