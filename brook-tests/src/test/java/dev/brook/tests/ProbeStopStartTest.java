package dev.brook.tests;

import static dev.brook.redis.Redis.list;
import static dev.brook.redis.Redis.stream;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.brook.Destination;
import dev.brook.Subscription;
import dev.brook.redis.RedisBroker;
import dev.brook.redis.StreamDestination;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;

/**
 * Probe: stop()/start() at seeded random moments while producers publish, then a close during
 * load and a new broker that finishes the rest. Per-key (per-producer) order, each entry once,
 * nothing dead-lettered.
 */
class ProbeStopStartTest extends RedisTestBase {

  private static final int KEYS = 8;
  private static final int PER_KEY = 400;

  /** Handled payloads per key, in handling order. */
  private final Map<String, List<Integer>> handled = new ConcurrentHashMap<>();

  private Object record(String s) {
    int dash = s.indexOf('-');
    handled.computeIfAbsent(s.substring(0, dash), k -> new CopyOnWriteArrayList<>()).add(Integer.parseInt(s.substring(dash + 1)));
    return null;
  }

  private void run(Destination dest, Consumer<String[]> publish, java.util.function.Function<RedisBroker, Subscription> subscribe)
      throws Exception {
    RedisBroker broker = broker(b -> b.gracefulTimeout(Duration.ofSeconds(20)));
    Subscription sub = subscribe.apply(broker);
    broker.start();
    AtomicBoolean failed = new AtomicBoolean();
    List<Thread> producers = new ArrayList<>();
    for (int k = 0; k < KEYS; k++) {
      String key = "k" + k;
      producers.add(Thread.ofPlatform().start(() -> {
        try {
          for (int n = 0; n < PER_KEY; n++) {
            publish.accept(new String[] {key + "-" + n, key});
            if (n % 50 == 0) {
              Thread.sleep(5);
            }
          }
        } catch (Exception e) {
          failed.set(true);
        }
      }));
    }
    Random random = new Random(424242);
    for (int i = 0; i < 6; i++) {
      Thread.sleep(20 + random.nextInt(80));
      sub.stop();
      Thread.sleep(random.nextInt(50));
      sub.start();
    }
    Thread.sleep(random.nextInt(50));
    broker.close(); // close during load
    for (Thread t : producers) {
      t.join();
    }
    assertThat(failed).isFalse();
    RedisBroker next = broker();
    subscribe.apply(next);
    next.start();
    await().atMost(Duration.ofSeconds(60)).until(() -> handled.values().stream().mapToInt(List::size).sum() >= KEYS * PER_KEY);
    await().during(Duration.ofMillis(500)).atMost(Duration.ofSeconds(5))
        .until(() -> handled.values().stream().mapToInt(List::size).sum() == KEYS * PER_KEY);
    for (int k = 0; k < KEYS; k++) {
      List<Integer> seen = handled.get("k" + k);
      List<Integer> expected = java.util.stream.IntStream.range(0, PER_KEY).boxed().toList();
      assertThat(seen).as("key k%d handled once each, in publish order", k).containsExactlyElementsOf(expected);
    }
  }

  @Test
  void partitionedStream() throws Exception {
    StreamDestination dest = stream("pss").partitions(4).group("g").leaseTime(Duration.ofSeconds(1)).consumer("m")
        .startFrom(StreamDestination.BEGINNING);
    run(dest, p -> publisher().publish(p[0], dest, p[1]),
        b -> b.subscriber(dest).id("w").handle(String.class, (s, ctx) -> record(s)));
    assertThat(redis.command("EXISTS", dest.deadLetterKey())).isEqualTo(0L);
  }

  @Test
  void streamGroupConcurrencyOne() throws Exception {
    StreamDestination dest = stream("sss").group("g").startFrom(StreamDestination.BEGINNING);
    run(dest, p -> publisher().publish(p[0], dest),
        b -> b.subscriber(dest).id("w").concurrency(1).handle(String.class, (s, ctx) -> record(s)));
    assertThat(redis.command("EXISTS", dest.deadLetterKey())).isEqualTo(0L);
  }

  @Test
  void reliableListConcurrencyOne() throws Exception {
    var dest = list("lss");
    run(dest, p -> publisher().publish(p[0], dest),
        b -> b.subscriber(dest).id("w").concurrency(1).handle(String.class, (s, ctx) -> record(s)));
    assertThat(redis.command("EXISTS", "{lss}:dlq")).isEqualTo(0L);
  }

  private RedisBroker publisher;

  private synchronized RedisBroker publisher() {
    if (publisher == null) {
      publisher = broker();
    }
    return publisher;
  }

  @Test
  void perKeyJobListNeverExceedsItsLimitAndHandlesEachOnce() throws Exception {
    var dest = list("jss").concurrencyPerKey("k", 1);
    Map<String, java.util.concurrent.atomic.AtomicInteger> active = new ConcurrentHashMap<>();
    java.util.concurrent.atomic.AtomicInteger maxPerKey = new java.util.concurrent.atomic.AtomicInteger();
    Map<String, java.util.concurrent.atomic.AtomicInteger> counts = new ConcurrentHashMap<>();
    java.util.function.Function<RedisBroker, Subscription> subscribe = b -> b.subscriber(dest).id("w").concurrency(4)
        .handle(String.class, (s, ctx) -> {
          String key = s.substring(0, s.indexOf('-'));
          var a = active.computeIfAbsent(key, k -> new java.util.concurrent.atomic.AtomicInteger());
          maxPerKey.accumulateAndGet(a.incrementAndGet(), Math::max);
          try {
            Thread.sleep(1);
            counts.computeIfAbsent(s, k -> new java.util.concurrent.atomic.AtomicInteger()).incrementAndGet();
            return null;
          } finally {
            a.decrementAndGet();
          }
        });
    RedisBroker broker = broker(b -> b.gracefulTimeout(Duration.ofSeconds(20)));
    Subscription sub = subscribe.apply(broker);
    broker.start();
    int total = KEYS * 150;
    Thread producer = Thread.ofPlatform().start(() -> {
      for (int n = 0; n < 150; n++) {
        for (int k = 0; k < KEYS; k++) {
          publisher().publish("k" + k + "-" + n, dest, Map.of("k", "k" + k));
        }
      }
    });
    Random random = new Random(99);
    for (int i = 0; i < 30; i++) {
      Thread.sleep(5 + random.nextInt(25));
      sub.stop();
      assertThat(heldSlots()).as("per-key slots still held after stop %d", i).isZero();
      sub.start();
    }
    broker.close();
    // The close gives every slot back: an admission in flight when the stop closed the loop's
    // connection used to leave its slots held until their lease ran out (the heartbeat TTL, 10 s),
    // and the next broker waited that long for those keys.
    assertThat(heldSlots()).as("per-key slots still held after close").isZero();
    producer.join();
    long t1 = System.nanoTime();
    RedisBroker next = broker();
    subscribe.apply(next);
    next.start();
    await().atMost(Duration.ofSeconds(60)).until(() -> counts.size() == total);
    await().during(Duration.ofMillis(500)).atMost(Duration.ofSeconds(5)).until(() -> counts.size() == total);
    System.out.printf("PROBE next broker finished in %d ms%n", (System.nanoTime() - t1) / 1_000_000);
    assertThat(counts.values()).as("each once").allMatch(c -> c.get() == 1);
    assertThat(maxPerKey.get()).as("handlers of one key at once").isEqualTo(1);
    assertThat(redis.command("LLEN", "jss")).isEqualTo(0L);
  }

  private long heldSlots() {
    long held = 0;
    for (Object k : (List<?>) redis.command("KEYS", "{jss}:slots:*")) {
      held += (Long) redis.command("ZCARD", k.toString());
    }
    return held;
  }

  @Test
  void aPartitionedStreamsStopsLeaveNoLeaseBehind() throws Exception {
    StreamDestination dest = stream("lss-p").partitions(4).group("g").leaseTime(Duration.ofSeconds(10)).consumer("m")
        .startFrom(StreamDestination.BEGINNING);
    Map<String, java.util.concurrent.atomic.AtomicInteger> counts = new ConcurrentHashMap<>();
    RedisBroker broker = broker(b -> b.gracefulTimeout(Duration.ofSeconds(20)));
    Subscription sub = broker.subscriber(dest).id("w").handle(String.class, (s, ctx) -> {
      counts.computeIfAbsent(s, k -> new java.util.concurrent.atomic.AtomicInteger()).incrementAndGet();
      return null;
    });
    broker.start();
    AtomicBoolean producing = new AtomicBoolean(true);
    java.util.concurrent.atomic.AtomicInteger published = new java.util.concurrent.atomic.AtomicInteger();
    Thread producer = Thread.ofPlatform().start(() -> {
      while (producing.get()) {
        int n = published.getAndIncrement();
        publisher().publish("p" + n, dest, "k" + (n % 32));
      }
    });
    Random random = new Random(7);
    try {
      for (int i = 0; i < 20; i++) {
        Thread.sleep(5 + random.nextInt(40));
        sub.stop();
        assertThat((List<?>) redis.command("KEYS", "*lease*")).as("leases held after stop %d", i).isEmpty();
        sub.start();
      }
    } finally {
      producing.set(false);
      producer.join();
    }
    int total = published.get();
    await().atMost(Duration.ofSeconds(30)).until(() -> counts.size() == total);
    assertThat(counts.values()).as("each once").allMatch(c -> c.get() == 1);
  }
}
