package dev.brook.tests;

import static dev.brook.redis.Redis.channel;
import static dev.brook.redis.Redis.list;
import static dev.brook.redis.Redis.shardChannel;
import static dev.brook.redis.Redis.stream;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.brook.Destination;
import dev.brook.redis.RedisBroker;
import dev.brook.redis.StreamDestination;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BiConsumer;
import org.junit.jupiter.api.Test;

/**
 * REPLACE (and stop/start) while the old handler ignores the interrupt of the graceful deadline
 * (spins for 2 s with a 300 ms graceful timeout): the replacement's handlers wait for it, on every
 * destination kind. Before the fix the drain left it behind and the replacement ran beside it
 * (maxActive 2, the given-back message handled by both at once).
 */
class ProbeStubbornTest extends RedisTestBase {

  private void stubborn(Destination dest, BiConsumer<RedisBroker, String> publish) throws Exception {
    RedisBroker broker = broker(b -> b.gracefulTimeout(Duration.ofMillis(300)));
    AtomicInteger active = new AtomicInteger();
    AtomicInteger maxActive = new AtomicInteger();
    AtomicBoolean oldRunning = new AtomicBoolean();
    CountDownLatch entered = new CountDownLatch(1);
    List<String> newWhileOld = new CopyOnWriteArrayList<>();
    List<String> byNew = new CopyOnWriteArrayList<>();
    broker.subscriber(dest).id("s").handle(String.class, (p, ctx) -> {
      maxActive.accumulateAndGet(active.incrementAndGet(), Math::max);
      oldRunning.set(true);
      entered.countDown();
      try {
        long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(2);
        while (System.nanoTime() < until) {
          Thread.onSpinWait(); // ignores interrupts
        }
        return null;
      } finally {
        oldRunning.set(false);
        active.decrementAndGet();
      }
    });
    broker.start();
    RedisBroker producer = broker();
    await().pollDelay(Duration.ofMillis(200)).atMost(Duration.ofSeconds(1)).until(() -> true);
    publish.accept(producer, "first");
    assertThat(entered.await(10, TimeUnit.SECONDS)).isTrue();
    long t0 = System.nanoTime();
    broker.subscriber(dest).id("s").handle(String.class, (p, ctx) -> {
      maxActive.accumulateAndGet(active.incrementAndGet(), Math::max);
      if (oldRunning.get()) {
        newWhileOld.add(p);
      }
      byNew.add(p);
      active.decrementAndGet();
      return null;
    });
    long replaceMs = (System.nanoTime() - t0) / 1_000_000;
    for (int i = 0; i < 20; i++) {
      publish.accept(producer, "m" + i);
    }
    await().atMost(Duration.ofSeconds(10)).until(() -> byNew.size() >= 20);
    System.out.printf("PROBE stubborn %s: replace took %d ms; new handled %d while old ran; maxActive %d; byNew %s%n",
        dest, replaceMs, newWhileOld.size(), maxActive.get(), byNew);
    assertThat(maxActive.get()).as("handlers of id s at once (replace took %d ms)", replaceMs).isEqualTo(1);
  }

  @Test
  void stopAndStartOfOneSubscriptionWaitForItsStubbornHandler() throws Exception {
    RedisBroker broker = broker(b -> b.gracefulTimeout(Duration.ofMillis(300)));
    AtomicInteger active = new AtomicInteger();
    AtomicInteger maxActive = new AtomicInteger();
    CountDownLatch entered = new CountDownLatch(1);
    List<String> handled = new CopyOnWriteArrayList<>();
    var sub = broker.subscriber(list("st-ss")).id("s").handle(String.class, (p, ctx) -> {
      maxActive.accumulateAndGet(active.incrementAndGet(), Math::max);
      try {
        if (p.equals("first") && entered.getCount() > 0) {
          entered.countDown();
          long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(2);
          while (System.nanoTime() < until) {
            Thread.onSpinWait(); // ignores interrupts
          }
        }
        handled.add(p);
        return null;
      } finally {
        active.decrementAndGet();
      }
    });
    broker.start();
    broker.publish("first", list("st-ss"));
    assertThat(entered.await(10, TimeUnit.SECONDS)).isTrue();
    sub.stop();
    sub.start();
    // A second stop while the restarted one still waits: bounded by the graceful timeout, nothing lost.
    broker.publish("m0", list("st-ss"));
    long t0 = System.nanoTime();
    sub.stop();
    assertThat(Duration.ofNanos(System.nanoTime() - t0)).isLessThan(Duration.ofSeconds(5));
    sub.start();
    for (int i = 1; i < 10; i++) {
      broker.publish("m" + i, list("st-ss"));
    }
    await().atMost(Duration.ofSeconds(10)).until(() -> handled.containsAll(List.of("m0", "m1", "m2", "m3", "m4", "m5", "m6", "m7", "m8", "m9")));
    assertThat(maxActive.get()).as("handlers of id s at once").isEqualTo(1);
    assertThat(redis.command("LLEN", "st-ss")).isEqualTo(0L);
  }

  @Test
  void list_() throws Exception {
    stubborn(list("st-l"), (p, s) -> p.publish(s, list("st-l")));
  }

  @Test
  void streamGroup() throws Exception {
    StreamDestination d = stream("st-s").group("g");
    stubborn(d, (p, s) -> p.publish(s, d));
  }

  @Test
  void partitioned() throws Exception {
    StreamDestination d = stream("st-p").partitions(2).group("g").leaseTime(Duration.ofSeconds(1)).consumer("c");
    stubborn(d, (p, s) -> p.publish(s, d, "k"));
  }

  @Test
  void channel_() throws Exception {
    stubborn(channel("st-c"), (p, s) -> p.publish(s, channel("st-c")));
  }

  @Test
  void shard() throws Exception {
    stubborn(shardChannel("st-sh"), (p, s) -> p.publish(s, shardChannel("st-sh")));
  }
}
