package dev.brook.tests;

import static dev.brook.redis.Redis.channel;
import static dev.brook.redis.Redis.list;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.classic.spi.IThrowableProxy;
import ch.qos.logback.core.read.ListAppender;
import dev.brook.AckPolicy;
import dev.brook.MessageContext;
import dev.brook.Subscription;
import dev.brook.redis.RedisBroker;
import dev.brook.redis.internal.Envelope;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.ValueSource;
import org.slf4j.LoggerFactory;

/**
 * Reliable Lists under stress (issue 12): many subscriptions on one list, stop/start and REPLACE
 * while handlers are busy, stops that must keep the queue's order, acknowledgements at full speed,
 * CPU-bound handlers with short heartbeats, always-failing messages and every shape of a handler
 * interrupted at the graceful deadline. Exact counts; fixed seeds. The longer randomized run is
 * tagged {@code soak} ({@code -Psoak}).
 */
class ListStressTest extends RedisTestBase {

  private final ListAppender<ILoggingEvent> log = new ListAppender<>();
  private final ch.qos.logback.classic.Logger root =
      (ch.qos.logback.classic.Logger) LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);

  @BeforeEach
  void captureLog() {
    log.start();
    root.addAppender(log);
  }

  @AfterEach
  void releaseLog() {
    root.detachAppender(log);
  }

  /** Log lines at this level, with the messages of their exceptions and causes. */
  private List<String> logged(Level level) {
    List<String> out = new ArrayList<>();
    for (ILoggingEvent e : List.copyOf(log.list)) {
      if (e.getLevel() != level) {
        continue;
      }
      StringBuilder b = new StringBuilder(e.getFormattedMessage());
      for (IThrowableProxy t = e.getThrowableProxy(); t != null; t = t.getCause()) {
        b.append(" | ").append(t.getClassName()).append(": ").append(t.getMessage());
      }
      out.add(b.toString());
    }
    return out;
  }

  private List<String> loggedAtWarnOrAbove() {
    List<String> out = new ArrayList<>(logged(Level.WARN));
    out.addAll(logged(Level.ERROR));
    return out;
  }

  private long llen(String key) {
    return (Long) redis.command("LLEN", key);
  }

  /** The payloads of a list key, head first, unwrapped from their envelopes. */
  private List<String> payloads(String key) {
    return raw().sync().lrange(utf8(key), 0, -1).stream()
        .map(v -> new String(Envelope.decode(v).payload(), StandardCharsets.UTF_8)).toList();
  }

  private static List<String> range(int from, int to) {
    return IntStream.range(from, to).mapToObj(Integer::toString).toList();
  }

  private static List<Integer> ints(int from, int to) {
    return IntStream.range(from, to).boxed().toList();
  }

  /** Handled (completed) counts per item; an item handled twice shows as 2. */
  private static List<Integer> twice(AtomicIntegerArray handled) {
    List<Integer> out = new ArrayList<>();
    for (int i = 0; i < handled.length(); i++) {
      if (handled.get(i) > 1) {
        out.add(i);
      }
    }
    return out;
  }

  private static int total(AtomicIntegerArray handled) {
    int sum = 0;
    for (int i = 0; i < handled.length(); i++) {
      sum += handled.get(i);
    }
    return sum;
  }

  // ---- item 2: one processing list per subscription; REPLACE hands over -----------------------

  /**
   * Two subscriptions (ids) on one list, one of them stopped and started six times while both
   * consume: each has its own processing list, so a stopping one gives back only its own messages
   * and a starting one takes over only its own leftovers. Before, every subscription of a process
   * shared one processing list: 1,381 of 2,000 were handled twice.
   */
  @Test
  void twoIdsOnOneListOneStoppedAndStartedSixTimesHandleEachItemOnce() {
    int n = 2_000;
    AtomicIntegerArray handled = new AtomicIntegerArray(n);
    AtomicInteger done = new AtomicInteger();
    RedisBroker broker = broker();
    dev.brook.Handler<Integer> work = (i, ctx) -> {
      Thread.sleep(2); // simulated work, so stops find messages in flight and buffered
      handled.incrementAndGet(i);
      done.incrementAndGet();
      return null;
    };
    Subscription w1 = broker.subscriber(list("shared")).id("w1").concurrency(2).handle(Integer.class, work);
    broker.subscriber(list("shared")).id("w2").concurrency(2).handle(Integer.class, work);
    broker.start();
    broker.publishBatch(ints(0, n), list("shared"));
    Random random = new Random(12);
    for (int round = 0; round < 6; round++) {
      int stopAt = done.get() + 60 + random.nextInt(60);
      await().atMost(Duration.ofSeconds(30)).until(() -> done.get() >= stopAt);
      w1.stop();
      int startAt = done.get() + 20 + random.nextInt(40);
      await().atMost(Duration.ofSeconds(30)).until(() -> done.get() >= Math.min(startAt, n));
      w1.start();
    }
    await().atMost(Duration.ofSeconds(60)).until(() -> done.get() >= n);
    await().atMost(Duration.ofSeconds(5)).until(() -> ((List<?>) redis.command("KEYS", "{shared}:processing:*")).stream()
        .allMatch(k -> llen((String) k) == 0));
    assertThat(twice(handled)).isEmpty();
    assertThat(total(handled)).isEqualTo(n);
    assertThat(llen("shared")).isZero();
  }

  /**
   * REPLACE while the old handler is blocked mid-message with 300 items waiting: the old
   * subscription stops (its handler is interrupted at the graceful deadline and gives its message
   * back), and only then the new one starts and takes over — every item handled exactly once, in
   * the list's order. Before, all 300 were handled twice.
   */
  @Test
  void replaceWhileTheOldHandlerIsBlockedHandsEveryItemOverOnce() {
    RedisBroker broker = broker(b -> b.gracefulTimeout(Duration.ofMillis(500)));
    CountDownLatch blocked = new CountDownLatch(1);
    List<Integer> old = new CopyOnWriteArrayList<>();
    broker.subscriber(list("swap")).handle(Integer.class, (i, ctx) -> {
      blocked.countDown();
      new CountDownLatch(1).await(); // blocked until the stop interrupts it
      old.add(i);
      return null;
    });
    broker.start();
    broker.publishBatch(ints(0, 300), list("swap"));
    await().atMost(Duration.ofSeconds(10)).until(() -> blocked.getCount() == 0);
    List<Integer> replacement = new CopyOnWriteArrayList<>();
    broker.subscriber(list("swap")).handle(Integer.class, (i, ctx) -> {
      replacement.add(i);
      return null;
    });
    await().atMost(Duration.ofSeconds(20)).until(() -> replacement.size() >= 300);
    assertThat(old).isEmpty();
    assertThat(replacement).containsExactlyElementsOf(ints(0, 300));
    await().atMost(Duration.ofSeconds(5)).until(() -> llen("{swap}:processing:" + dev.brook.redis.Redis.defaultConsumerName()) == 0);
    assertThat(llen("swap")).isZero();
  }

  // ---- item 4: a stop keeps the list's order -----------------------------------------------------

  /**
   * 300 items, concurrency 1; the handler of item 47 blocks until the stop interrupts it: what goes
   * back — the interrupted item, the buffered ones, and the ones never fetched — forms the queue's
   * head in the original order. Before, a stop pushed the buffered items back one by one to the
   * head: 299, 298, 297… (252 inversions).
   */
  @Test
  void aStopGivesEverythingBackInTheListsOrder() {
    RedisBroker broker = broker(b -> b.gracefulTimeout(Duration.ofMillis(300)));
    List<String> handled = new CopyOnWriteArrayList<>();
    CountDownLatch atFortySeven = new CountDownLatch(1);
    Subscription sub = broker.subscriber(list("order").consumer("c")).handle(String.class, (s, ctx) -> {
      if (s.equals("47")) {
        atFortySeven.countDown();
        new CountDownLatch(1).await();
      }
      handled.add(s);
      return null;
    });
    broker.start();
    broker.publishBatch(range(0, 300), list("order"));
    await().atMost(Duration.ofSeconds(10)).until(() -> atFortySeven.getCount() == 0);
    sub.stop();
    assertThat(handled).containsExactlyElementsOf(range(0, 47));
    assertThat(payloads("order")).containsExactlyElementsOf(range(47, 300));
    assertThat(llen("{order}:processing:c")).isZero();
  }

  /**
   * Items Redis moved into the processing list for a read the stop cut off (here moved by hand
   * while the consumer waits for room) were fetched after the buffered ones, so they go back behind
   * them: the queue ends up exactly as it was published. Before, they went back last, ahead of
   * everything.
   */
  @Test
  void itemsMovedForACutOffReadGoBackBehindTheBufferedOnes() {
    RedisBroker broker = broker(b -> b.gracefulTimeout(Duration.ofMillis(300)).bufferSize(10));
    CountDownLatch first = new CountDownLatch(1);
    Subscription sub = broker.subscriber(list("cutoff").consumer("c")).handle(String.class, (s, ctx) -> {
      first.countDown();
      new CountDownLatch(1).await();
      return null;
    });
    broker.start();
    broker.publishBatch(range(0, 20), list("cutoff"));
    // 0 in the handler, 1..10 buffered (the buffer is full), 11..19 in the queue
    await().atMost(Duration.ofSeconds(10)).until(() -> first.getCount() == 0 && llen("{cutoff}:processing:c") == 11);
    for (int i = 0; i < 2; i++) {
      redis.command("LMOVE", "cutoff", "{cutoff}:processing:c", "LEFT", "RIGHT");
    }
    sub.stop();
    assertThat(payloads("cutoff")).containsExactlyElementsOf(range(0, 20));
    assertThat(llen("{cutoff}:processing:c")).isZero();
  }

  // ---- item 5: settlements in batches, flow-controlled, retried -------------------------------

  /**
   * 50,000 jobs drained by one subscriber while the application publishes a batch of 10,000
   * elsewhere: every job handled exactly once, the processing list empty within seconds after the
   * last handler, no request queue overflow (with a small queue), and the application's batch goes
   * through. Before,
   * acknowledgements (one command each on the shared connection) overflowed Lettuce's request
   * queue: 121,071 acks failed and 46,271 jobs were handled twice.
   */
  @ParameterizedTest
  @ValueSource(ints = {1, 50})
  void fiftyThousandJobsAreEachHandledOnceAndAcknowledged(int concurrency) throws Exception {
    int n = 50_000;
    String name = "drain" + concurrency;
    AtomicIntegerArray handled = new AtomicIntegerArray(n);
    AtomicInteger done = new AtomicInteger();
    RedisBroker publisher = broker();
    publisher.start();
    for (int i = 0; i < n; i += 5_000) {
      publisher.publishBatch(ints(i, i + 5_000), list(name));
    }
    // A request queue of 1,000 commands (default 10,000): on a fast machine acknowledgements sent one
    // command each overflowed the default only now and then; this one they overflow every time.
    RedisBroker broker = broker(b -> b.requestQueueSize(1_000));
    broker.subscriber(list(name).consumer("c")).concurrency(concurrency).handle(Integer.class, (i, ctx) -> {
      handled.incrementAndGet(i);
      done.incrementAndGet();
      return null;
    });
    long t0 = System.nanoTime();
    broker.start();
    await().atMost(Duration.ofSeconds(5)).until(() -> done.get() >= 1_000);
    // The application's own batch, on the same shared connection the acknowledgements use.
    CompletableFuture<Void> appBatch = CompletableFuture.runAsync(() -> broker.publishBatch(range(0, 10_000), list("elsewhere")));
    await().atMost(Duration.ofSeconds(60)).until(() -> done.get() >= n);
    long handledMs = (System.nanoTime() - t0) / 1_000_000;
    await().atMost(Duration.ofSeconds(5)).until(() -> llen("{" + name + "}:processing:c") == 0);
    long emptyMs = (System.nanoTime() - t0) / 1_000_000;
    appBatch.get();
    System.out.printf("LISTSTRESS %d jobs, concurrency %d: handled in %d ms, processing list empty after %d ms%n",
        n, concurrency, handledMs, emptyMs);
    assertThat(twice(handled)).isEmpty();
    assertThat(total(handled)).isEqualTo(n);
    assertThat(llen(name)).isZero();
    assertThat(llen("elsewhere")).isEqualTo(10_000);
    assertThat(loggedAtWarnOrAbove()).noneMatch(l -> l.contains("Request queue size exceeded") || l.contains("Internal stack size exceeded"));
  }

  /**
   * A stop with 10,000 buffered items gives them all back, in order, none lost, none twice. Before,
   * 10,000 requeue commands overflowed the shared connection's queue, and those that went through
   * reversed the order.
   */
  @Test
  void aStopWithTenThousandBufferedItemsGivesThemAllBackInOrder() {
    int n = 10_000;
    RedisBroker broker = broker(b -> b.gracefulTimeout(Duration.ofMillis(300)).bufferSize(20_000));
    CountDownLatch first = new CountDownLatch(1);
    Subscription sub = broker.subscriber(list("big").consumer("c")).handle(String.class, (s, ctx) -> {
      first.countDown();
      new CountDownLatch(1).await(); // the first handler blocks until the stop interrupts it
      return null;
    });
    broker.publishBatch(range(0, n), list("big"));
    broker.start();
    await().atMost(Duration.ofSeconds(20)).until(() -> first.getCount() == 0 && llen("big") == 0);
    long t0 = System.nanoTime();
    sub.stop();
    System.out.printf("LISTSTRESS stop with %d buffered items (graceful timeout 300 ms): %d ms%n", n,
        (System.nanoTime() - t0) / 1_000_000);
    assertThat(payloads("big")).containsExactlyElementsOf(range(0, n));
    assertThat(llen("{big}:processing:c")).isZero();
    assertThat(loggedAtWarnOrAbove()).noneMatch(l -> l.contains("Request queue size exceeded"));
  }

  // ---- item 7: the heartbeat does not depend on handler threads --------------------------------

  /**
   * Handlers that burn CPU (no blocking) on every carrier of the virtual threads, for three times
   * the heartbeat TTL per job: the heartbeat, renewed by a platform timer thread, never lapses, so
   * the other consumer on the list never takes the jobs over. Before, the heartbeat ran on a
   * virtual thread, its key expired and another consumer recovered the jobs: handled twice.
   */
  @Test
  void cpuBoundHandlersDoNotStarveTheHeartbeat() throws Exception {
    int cores = Runtime.getRuntime().availableProcessors();
    int jobs = 2 * cores;
    AtomicIntegerArray handled = new AtomicIntegerArray(jobs);
    AtomicInteger done = new AtomicInteger();
    dev.brook.Handler<Integer> burn = (i, ctx) -> {
      long end = System.nanoTime() + 3_000_000_000L;
      long spin = 0;
      while (System.nanoTime() < end) {
        spin++;
      }
      handled.incrementAndGet(i);
      done.incrementAndGet();
      return spin == -1 ? "never" : null;
    };
    RedisBroker a = broker();
    a.subscriber(list("cpu").consumer("a").heartbeat(Duration.ofMillis(900))).concurrency(cores).handle(Integer.class, burn);
    a.publishBatch(ints(0, jobs), list("cpu"));
    a.start();
    await().atMost(Duration.ofSeconds(10)).until(() -> llen("cpu") == 0);
    RedisBroker b = broker();
    b.subscriber(list("cpu").consumer("b").heartbeat(Duration.ofMillis(900))).concurrency(cores).handle(Integer.class, burn);
    b.start();
    // Watched from this (platform) thread while the handlers burn: the key must never be gone.
    AtomicBoolean lapsed = new AtomicBoolean();
    await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(50)).until(() -> {
      if ((Long) redis.command("EXISTS", "{cpu}:heartbeat:a") == 0) {
        lapsed.set(true);
      }
      return done.get() >= jobs;
    });
    System.out.printf("LISTSTRESS %d CPU-bound jobs of 3 s on %d cores, heartbeat TTL 900 ms: lapsed %s%n", jobs, cores, lapsed.get());
    assertThat(lapsed).as("the heartbeat of consumer a lapsed while its handlers burned CPU").isFalse();
    await().atMost(Duration.ofSeconds(5)).until(() -> llen("{cpu}:processing:a") == 0 && llen("{cpu}:processing:b") == 0);
    assertThat(twice(handled)).isEmpty();
    assertThat(total(handled)).isEqualTo(jobs);
    assertThat(loggedAtWarnOrAbove()).noneMatch(l -> l.contains("Recovered"));
  }

  // ---- item 8: NACK_ON_ERROR does not hot-loop ---------------------------------------------------

  /**
   * A message that always fails under NACK_ON_ERROR: its handler runs exactly maxDeliveries (5)
   * times, with a back-off in between, then it goes to the dead letter with the error — or, without
   * a dead letter, is dropped with a WARN. A handful of ERROR lines in all. Before, it was attempted
   * 9,122 times in 3 s, an ERROR and stack trace each.
   */
  @Test
  void aMessageThatAlwaysFailsIsTriedMaxDeliveriesTimesThenDeadLettered() {
    RedisBroker broker = broker();
    Map<String, AtomicInteger> attempts = new ConcurrentHashMap<>();
    dev.brook.Handler<String> fails = (s, ctx) -> {
      attempts.computeIfAbsent(ctx.channel(), k -> new AtomicInteger()).incrementAndGet();
      throw new IllegalStateException("cannot handle " + s);
    };
    broker.subscriber(list("poison").consumer("c").deadLetter()).ackPolicy(AckPolicy.NACK_ON_ERROR).handle(String.class, fails);
    broker.subscriber(list("poison-nodlq").consumer("c")).ackPolicy(AckPolicy.NACK_ON_ERROR).handle(String.class, fails);
    broker.start();
    long t0 = System.nanoTime();
    broker.publish("p", list("poison"));
    broker.publish("q", list("poison-nodlq"));
    await().atMost(Duration.ofSeconds(10)).until(() -> llen("{poison}:dlq") == 1 && llen("{poison-nodlq}:processing:c") == 0
        && attempts.getOrDefault("poison-nodlq", new AtomicInteger()).get() == 5);
    long ms = (System.nanoTime() - t0) / 1_000_000;
    assertThat(ms).as("four back-offs: 100 + 200 + 400 + 800 ms").isGreaterThanOrEqualTo(1_500);
    assertThat(attempts.get("poison")).hasValue(5);
    assertThat(attempts.get("poison-nodlq")).hasValue(5);
    var dead = Envelope.decode(raw().sync().lindex(utf8("{poison}:dlq"), 0));
    assertThat(new String(dead.payload(), StandardCharsets.UTF_8)).isEqualTo("p");
    assertThat(dead.headers()).containsEntry("x-error",
        "nacked 5 times (maxDeliveries 5); last error: java.lang.IllegalStateException: cannot handle p");
    assertThat(dead.headers()).containsEntry("x-delivery-count", "5");
    assertThat(llen("poison")).isZero();
    assertThat(llen("poison-nodlq")).isZero();
    assertThat(llen("{poison-nodlq}:dlq")).isZero();
    System.out.printf("LISTSTRESS always failing: 5 attempts each in %d ms, %d ERROR lines%n", ms, logged(Level.ERROR).size());
    assertThat(logged(Level.ERROR)).hasSizeLessThanOrEqualTo(10);
    assertThat(logged(Level.WARN)).anyMatch(l -> l.startsWith("Dropped a rejected item of list:poison-nodlq (nacked 5 times"));
    // Nothing comes back later.
    long settled = attempts.values().stream().mapToInt(AtomicInteger::get).sum();
    await().pollDelay(Duration.ofMillis(500)).atMost(Duration.ofSeconds(2)).until(() -> true);
    assertThat(attempts.values().stream().mapToInt(AtomicInteger::get).sum()).isEqualTo(settled);
  }

  // ---- item 6: a handler interrupted at the graceful deadline gives its message back -----------

  enum Shape {
    THROWS_INTERRUPTED, WRAPS_IN_RUNTIME, BLOCKED_IN_REQUEST, CATCHES_AND_FAILS, CATCHES_AND_RETURNS
  }

  /**
   * A stop interrupts the handler of item 0 at the graceful deadline, whatever it makes of the
   * interrupt; its message goes back to the head of the queue (not dropped: the list has no dead
   * letter), followed by the buffered items in order — unless the handler returned normally, which
   * counts as handled.
   */
  @ParameterizedTest
  @EnumSource(Shape.class)
  void aHandlerInterruptedByTheStopGivesItsMessageBack(Shape shape) {
    RedisBroker broker = broker(b -> b.gracefulTimeout(Duration.ofMillis(300)));
    CountDownLatch inHandler = new CountDownLatch(1);
    List<String> returned = new CopyOnWriteArrayList<>();
    String name = "intr-" + shape.name().toLowerCase();
    Subscription sub = broker.subscriber(list(name).consumer("c")).handle(String.class, (s, ctx) -> {
      if (!s.equals("0")) {
        returned.add(s);
        return null;
      }
      inHandler.countDown();
      switch (shape) {
        case THROWS_INTERRUPTED -> new CountDownLatch(1).await();
        case WRAPS_IN_RUNTIME -> {
          try {
            new CountDownLatch(1).await();
          } catch (InterruptedException e) {
            throw new RuntimeException("wrapped", e);
          }
        }
        case BLOCKED_IN_REQUEST -> broker.request("anyone?", channel("nobody-answers"), String.class, Duration.ofSeconds(30));
        case CATCHES_AND_FAILS -> {
          try {
            new CountDownLatch(1).await();
          } catch (InterruptedException e) {
            throw new IllegalStateException("gave up");
          }
        }
        case CATCHES_AND_RETURNS -> {
          try {
            new CountDownLatch(1).await();
          } catch (InterruptedException e) {
            // returns normally: handled
          }
        }
      }
      returned.add(s);
      return null;
    });
    broker.start();
    broker.publishBatch(range(0, 10), list(name));
    await().atMost(Duration.ofSeconds(10)).until(() -> inHandler.getCount() == 0);
    sub.stop();
    await().atMost(Duration.ofSeconds(5)).until(() -> llen("{" + name + "}:processing:c") == 0);
    if (shape == Shape.CATCHES_AND_RETURNS) {
      assertThat(returned).containsExactly("0");
      assertThat(payloads(name)).containsExactlyElementsOf(range(1, 10));
    } else {
      assertThat(returned).isEmpty();
      assertThat(payloads(name)).containsExactlyElementsOf(range(0, 10));
    }
    assertThat(sub.metrics().failed()).isZero();
  }

  // ---- soak: random stop/start of several ids, with failures ------------------------------------

  /**
   * Three ids on one list, 20,000 items, 40 random stops and starts of random ids, and handlers that
   * fail the first delivery of every seventh item under NACK_ON_ERROR, for five seeds: every item
   * handled (successfully) exactly once, nothing lost, nothing left in processing.
   */
  @Test
  @Tag("soak")
  void randomStopsAndStartsOfThreeIdsWithFailures() {
    int n = 20_000;
    for (long seed : new long[] {1, 2, 3, 4, 5}) {
      String name = "soak" + seed;
      Random random = new Random(seed);
      AtomicIntegerArray handled = new AtomicIntegerArray(n);
      AtomicIntegerArray attempts = new AtomicIntegerArray(n);
      AtomicInteger done = new AtomicInteger();
      RedisBroker broker = broker();
      List<Subscription> subs = new ArrayList<>();
      for (int id = 0; id < 3; id++) {
        subs.add(broker.subscriber(list(name)).id(name + "-w" + id).concurrency(1 + id * 3)
            .ackPolicy(AckPolicy.NACK_ON_ERROR).handle(Integer.class, (Integer i, MessageContext ctx) -> {
              if (attempts.incrementAndGet(i) == 1 && (i * 31 + seed) % 7 == 0) {
                throw new IllegalStateException("first attempt of " + i);
              }
              Thread.sleep(1); // simulated work, so stops find messages in flight
              handled.incrementAndGet(i);
              done.incrementAndGet();
              return null;
            }));
      }
      broker.start();
      broker.publishBatch(ints(0, n), list(name));
      int rounds = 0;
      for (; rounds < 40 && done.get() < n; rounds++) {
        Subscription s = subs.get(random.nextInt(3));
        int at = Math.min(n, done.get() + random.nextInt(250));
        await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(5)).until(() -> done.get() >= at);
        s.stop();
        if (random.nextBoolean()) {
          int later = Math.min(n, done.get() + random.nextInt(100));
          await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(5)).until(() -> done.get() >= later);
        }
        s.start();
      }
      await().atMost(Duration.ofSeconds(120)).until(() -> done.get() >= n);
      await().atMost(Duration.ofSeconds(10)).until(() -> ((List<?>) redis.command("KEYS", "{" + name + "}:processing:*"))
          .stream().allMatch(k -> llen((String) k) == 0));
      System.out.printf("LISTSTRESS soak seed %d: %d stops and starts, %d handled, %d attempts%n", seed, rounds,
          total(handled), total(attempts));
      assertThat(twice(handled)).isEmpty();
      assertThat(total(handled)).isEqualTo(n);
      assertThat(llen(name)).isZero();
      broker.close();
    }
  }
}
