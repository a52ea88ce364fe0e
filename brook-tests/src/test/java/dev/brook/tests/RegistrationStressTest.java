package dev.brook.tests;

import static dev.brook.redis.Redis.channel;
import static dev.brook.redis.Redis.list;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import dev.brook.Handler;
import dev.brook.MessageContext;
import dev.brook.Subscription;
import dev.brook.redis.RedisBroker;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

/**
 * One id, one live consumer — under racing registrations, a broker stopping meanwhile, a busy
 * handler and a handler that stops its own subscription. Exact counts: each message handled at most
 * once (Pub/Sub) or exactly once (List), and never two handlers of one id at the same moment.
 */
class RegistrationStressTest extends RedisTestBase {

  /** A handler shared by every registration of one id: counts calls per message and overlaps. */
  static final class Tally implements Handler<String> {
    final ConcurrentHashMap<String, AtomicInteger> calls = new ConcurrentHashMap<>();
    final AtomicInteger active = new AtomicInteger();
    final AtomicInteger maxActive = new AtomicInteger();
    final AtomicInteger total = new AtomicInteger();

    @Override
    public Object handle(String payload, MessageContext context) throws Exception {
      int now = active.incrementAndGet();
      maxActive.accumulateAndGet(now, Math::max);
      try {
        calls.computeIfAbsent(payload, k -> new AtomicInteger()).incrementAndGet();
        total.incrementAndGet();
        spin(50_000); // long enough for two consumers of one id to overlap, were there two
        return null;
      } finally {
        active.decrementAndGet();
      }
    }

    long handledTwice() {
      return calls.values().stream().filter(c -> c.get() > 1).count();
    }
  }

  private static void spin(long nanos) {
    long until = System.nanoTime() + nanos;
    while (System.nanoTime() < until) {
      Thread.onSpinWait();
    }
  }

  /** Runs the task on n threads that start together; returns their failures. */
  static List<Throwable> race(int n, java.util.function.IntConsumer task) throws Exception {
    CyclicBarrier go = new CyclicBarrier(n);
    List<Throwable> failures = new java.util.concurrent.CopyOnWriteArrayList<>();
    List<Thread> threads = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      int index = i;
      threads.add(Thread.ofPlatform().name("racer-" + i).start(() -> {
        try {
          go.await();
          task.accept(index);
        } catch (Throwable t) {
          failures.add(t);
        }
      }));
    }
    for (Thread t : threads) {
      t.join(TimeUnit.SECONDS.toMillis(60));
      assertThat(t.isAlive()).as("registration thread %s still running", t.getName()).isFalse();
    }
    return failures;
  }

  @Test
  void fiftyThreadsRegisteringOneChannelIdNeverRunTwoConsumersAndEndWithOne() throws Exception {
    RedisBroker broker = broker();
    broker.start();
    Tally tally = new Tally();
    AtomicInteger published = new AtomicInteger();
    AtomicReference<Boolean> publishing = new AtomicReference<>(true);
    Thread publisher = Thread.ofPlatform().start(() -> {
      while (publishing.get()) {
        broker.publish("m" + published.getAndIncrement(), channel("race"));
      }
    });
    List<Throwable> failures = race(50, i -> broker.subscriber(channel("race")).id("racer").handle(String.class, tally));
    // The race can end before the winner's SUBSCRIBE is confirmed: publish until it has handled something.
    await().atMost(Duration.ofSeconds(10)).until(() -> tally.maxActive.get() >= 1);
    publishing.set(false);
    publisher.join();
    assertThat(failures).isEmpty();

    assertThat(broker.subscriptions()).hasSize(1);
    Subscription live = broker.subscription("racer");
    assertThat(live.state()).isEqualTo(Subscription.State.RUNNING);
    assertThat(tally.maxActive.get()).as("handlers of one id running at once").isEqualTo(1);
    assertThat(tally.handledTwice()).as("messages handled twice while registrations raced").isZero();

    // Settled: exactly one consumer takes each new message, once.
    for (int i = 0; i < 200; i++) {
      broker.publish("after" + i, channel("race"));
    }
    await().atMost(Duration.ofSeconds(10)).until(() -> tally.calls.containsKey("after199"));
    for (int i = 0; i < 200; i++) {
      assertThat(tally.calls.get("after" + i)).hasValue(1);
    }
    assertThat(redis.command("PUBSUB", "NUMSUB", "race")).isEqualTo(List.of("race", 1L));
  }

  @Test
  void fiftyThreadsRegisteringOneListIdHandleEveryItemExactlyOnce() throws Exception {
    RedisBroker broker = broker();
    broker.start();
    Tally tally = new Tally();
    int items = 2_000;
    Thread publisher = Thread.ofPlatform().start(() -> {
      for (int i = 0; i < items; i++) {
        broker.publish("j" + i, list("race-jobs"));
      }
    });
    List<Throwable> failures = race(50, i -> broker.subscriber(list("race-jobs")).id("worker").handle(String.class, tally));
    publisher.join();
    assertThat(failures).isEmpty();

    await().atMost(Duration.ofSeconds(30)).until(() -> tally.calls.size() == items);
    await().atMost(Duration.ofSeconds(5)).until(() -> keys("{race-jobs}:processing:*").isEmpty());
    assertThat(tally.maxActive.get()).as("handlers of one id running at once").isEqualTo(1);
    assertThat(tally.handledTwice()).as("items handled twice").isZero();
    assertThat(tally.total.get()).isEqualTo(items);
    assertThat(redis.command("LLEN", "race-jobs")).isEqualTo(0L);
    assertThat(broker.subscriptions()).hasSize(1);
  }

  @Test
  void aRegistrationRacingBrokerStopNeverLeavesASubscriptionRunningOnAStoppedBroker() throws Exception {
    RedisBroker broker = broker();
    for (int round = 0; round < 25; round++) {
      broker.start();
      int r = round;
      // List subscriptions take a connection to start: a wide window for the stop to slip in.
      List<Throwable> failures = race(9, i -> {
        if (i == 0) {
          broker.stop();
        } else {
          broker.subscriber(i % 2 == 0 ? list("r" + r + "-" + i) : channel("r" + r + "-" + i)).handle(String.class, (p, c) -> null);
        }
      });
      assertThat(failures).isEmpty();
      for (Subscription s : broker.subscriptions()) {
        assertThat(s.state()).as("%s after a racing stop in round %d", s.id(), round).isNotEqualTo(Subscription.State.RUNNING);
      }
    }
    broker.start();
    assertThat(broker.subscriptions()).allMatch(s -> s.state() == Subscription.State.RUNNING);
  }

  @Test
  void replacingABusySubscriptionWaitsForItsHandlerBeforeTheNewOneStarts() throws Exception {
    RedisBroker broker = broker();
    broker.start();
    CountDownLatch entered = new CountDownLatch(1);
    CountDownLatch release = new CountDownLatch(1);
    AtomicInteger active = new AtomicInteger();
    AtomicInteger maxActive = new AtomicInteger();
    List<String> order = new java.util.concurrent.CopyOnWriteArrayList<>();
    broker.subscriber(list("busy")).id("b").handle(String.class, (p, ctx) -> {
      maxActive.accumulateAndGet(active.incrementAndGet(), Math::max);
      try {
        order.add("old:" + p);
        entered.countDown();
        release.await();
        return null;
      } finally {
        active.decrementAndGet();
      }
    });
    for (int i = 0; i < 20; i++) {
      broker.publish("i" + i, list("busy"));
    }
    assertThat(entered.await(10, TimeUnit.SECONDS)).isTrue();

    Thread replacer = Thread.ofPlatform().start(() -> broker.subscriber(list("busy")).id("b").handle(String.class, (p, ctx) -> {
      maxActive.accumulateAndGet(active.incrementAndGet(), Math::max);
      order.add("new:" + p);
      active.decrementAndGet();
      return null;
    }));
    // The replacement waits for the busy handler: it does not start beside it.
    await().during(Duration.ofMillis(300)).atMost(Duration.ofSeconds(2)).until(replacer::isAlive);
    assertThat(order).containsExactly("old:i0");
    release.countDown();
    replacer.join(TimeUnit.SECONDS.toMillis(20));

    await().atMost(Duration.ofSeconds(10)).until(() -> order.size() == 20);
    assertThat(maxActive.get()).isEqualTo(1);
    List<String> expected = new ArrayList<>();
    expected.add("old:i0");
    for (int i = 1; i < 20; i++) {
      expected.add("new:i" + i);
    }
    assertThat(order).as("handled once each, in order, the rest by the replacement").isEqualTo(expected);
  }

  @Test
  void aHandlerStoppingItsOwnSubscriptionWhileTheBrokerStopsDoesNotDeadlock() throws Exception {
    RedisBroker broker = broker();
    CountDownLatch entered = new CountDownLatch(1);
    CountDownLatch brokerStopping = new CountDownLatch(1);
    AtomicReference<Boolean> interrupted = new AtomicReference<>(false);
    AtomicReference<Subscription> self = new AtomicReference<>();
    self.set(broker.subscriber(list("self")).handle(String.class, (p, ctx) -> {
      entered.countDown();
      brokerStopping.await();
      self.get().stop();
      interrupted.set(Thread.currentThread().isInterrupted());
      return null;
    }));
    broker.start();
    broker.publish("x", list("self"));
    assertThat(entered.await(10, TimeUnit.SECONDS)).isTrue();
    long start = System.nanoTime();
    Thread stopper = Thread.ofPlatform().start(broker::stop);
    await().atMost(Duration.ofSeconds(5)).until(() -> stopper.getState() == Thread.State.WAITING
        || stopper.getState() == Thread.State.TIMED_WAITING);
    brokerStopping.countDown();
    stopper.join(TimeUnit.SECONDS.toMillis(30));
    assertThat(Duration.ofNanos(System.nanoTime() - start)).as("broker.stop() with a self-stopping handler")
        .isLessThan(Duration.ofSeconds(5));
    assertThat(interrupted.get()).as("handler interrupted by the graceful deadline").isFalse();
    assertThat(redis.command("LLEN", "self")).isEqualTo(0L);
    assertThat(keys("{self}:processing:*")).isEmpty();
  }

  @Test
  void closeLetsAnInFlightHandlerPublishItsResultAndSettle() throws Exception {
    RedisBroker broker = RedisBroker.builder().url(redis.url()).build();
    CountDownLatch entered = new CountDownLatch(1);
    broker.subscriber(list("deploy-jobs")).publishTo(list("deploy-results")).handle(String.class, (p, ctx) -> {
      entered.countDown();
      Thread.sleep(300);
      return "done:" + p;
    });
    broker.start();
    broker.publish("j1", list("deploy-jobs"));
    assertThat(entered.await(10, TimeUnit.SECONDS)).isTrue();
    broker.close();

    assertThat(redis.command("LLEN", "deploy-results")).isEqualTo(1L);
    assertThat(redis.command("LLEN", "deploy-jobs")).isEqualTo(0L);
    assertThat(keys("{deploy-jobs}:processing:*")).isEmpty();
    assertThat(keys("{deploy-jobs}:dlq")).isEmpty();
  }

  @Test
  void publishAsyncStagesNeverRunOnTheIoThread() {
    RedisBroker broker = broker();
    broker.start();
    List<Thread> ran = new ArrayList<>();
    for (int i = 0; i < 200; i++) {
      ran.add(broker.publishAsync("x", channel("nowhere"), Map.of()).thenApply(v -> Thread.currentThread()).join());
      ran.add(broker.publisher(channel("nowhere")).publishAsync("y").handle((v, e) -> Thread.currentThread()).join());
    }
    assertThat(ran).allSatisfy(t -> assertThat(t.getName()).doesNotContain("EventLoop").doesNotContain("nio")
        .doesNotContain("epoll"));
  }

  @Test
  void aReplaceFromTheSameLineLogsInfoAndFromAnotherLineWarnsWithBothPlaces() {
    ListAppender<ILoggingEvent> log = new ListAppender<>();
    Logger logger = (Logger) LoggerFactory.getLogger("dev.brook.Broker");
    log.start();
    logger.addAppender(log);
    try {
      RedisBroker broker = broker();
      for (int i = 0; i < 2; i++) {
        broker.subscriber(channel("rerun")).handle(String.class, (p, c) -> null); // the same cell, run twice
      }
      assertThat(log.list).singleElement().satisfies(e -> {
        assertThat(e.getLevel()).isEqualTo(Level.INFO);
        assertThat(e.getFormattedMessage()).startsWith("Subscription 'channel:rerun' registered again at ");
      });
      log.list.clear();

      broker.subscriber(channel("orders")).handle(String.class, (p, c) -> null);
      broker.subscriber(channel("orders")).handle(String.class, (p, c) -> "another handler");
      assertThat(log.list).singleElement().satisfies(e -> {
        assertThat(e.getLevel()).isEqualTo(Level.WARN);
        assertThat(e.getFormattedMessage())
            .contains("Subscription 'channel:orders' registered at dev.brook.tests.RegistrationStressTest")
            .contains("replaces the one registered at dev.brook.tests.RegistrationStressTest")
            .contains(".id(\"...\")");
      });
    } finally {
      logger.detachAppender(log);
    }
  }

  private List<?> keys(String pattern) {
    return (List<?>) redis.command("KEYS", pattern);
  }
}
