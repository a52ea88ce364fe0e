package dev.brook.tests;

import static dev.brook.redis.Redis.list;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.brook.Backoff;
import dev.brook.PublishOptions;
import dev.brook.Subscription;
import dev.brook.redis.RedisBroker;
import dev.brook.redis.Schedule;
import dev.brook.redis.ScheduleHandle;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * Probes of the job-queue features at their worst moments: stops while messages are parked by a
 * per-key limit, per-key header values made of Redis' special characters, a retry waiting in the
 * delayed set across a new registration of the subscription, idempotent consumers with retries,
 * schedules across broker close/start cycles, idle command counts with tiny rate-limit periods.
 * Exact counts: nothing lost, nothing handled twice, nothing left in Redis but what should stay.
 */
class JobsProbeTest extends RedisTestBase {

  /** A header value that is a glob pattern, has hash-tag braces, spaces, a newline and non-ASCII. */
  static final String NASTY = "{x}* a?[b]\n\\ é☃";

  /** Counts the completed runs of each message and the most running at once per key. */
  static final class Runs {
    final Map<String, AtomicInteger> done = new ConcurrentHashMap<>();
    final Map<String, AtomicInteger> now = new ConcurrentHashMap<>();
    final Map<String, AtomicInteger> max = new ConcurrentHashMap<>();

    void run(String key, String message, long millis) throws InterruptedException {
      int n = now.computeIfAbsent(key, k -> new AtomicInteger()).incrementAndGet();
      max.computeIfAbsent(key, k -> new AtomicInteger()).accumulateAndGet(n, Math::max);
      try {
        Thread.sleep(millis);
        done.computeIfAbsent(message, k -> new AtomicInteger()).incrementAndGet();
      } finally {
        now.get(key).decrementAndGet();
      }
    }

    int completed() {
      return done.size();
    }

    List<String> twice() {
      return done.entrySet().stream().filter(e -> e.getValue().get() > 1).map(Map.Entry::getKey).toList();
    }

    int max(String key) {
      AtomicInteger m = max.get(key);
      return m == null ? 0 : m.get();
    }
  }

  private long llen(String key) {
    return (Long) redis.command("LLEN", key);
  }

  private List<?> keys(String pattern) {
    return (List<?>) redis.command("KEYS", pattern);
  }

  /** Sum of the lengths of every processing list of {@code name}. */
  private long processing(String name) {
    long n = 0;
    for (Object k : keys("{" + name + "}:processing:*")) {
      n += llen(k.toString());
    }
    return n;
  }

  @Test
  void concurrencyPerKey_stopWhileParked_keepsThemInRedis_andAStartHandlesEachOnce() {
    String name = "cpk-stop";
    Runs runs = new Runs();
    RedisBroker b = broker();
    b.subscriber(list(name).concurrencyPerKey("tenant", 1)).concurrency(4).handle(String.class, (s, ctx) -> {
      runs.run(ctx.header("tenant"), s, 150);
      return null;
    });
    b.start();
    RedisBroker publisher = broker();
    for (int i = 0; i < 8; i++) {
      publisher.publish("n" + i, list(name), Map.of("tenant", NASTY));
    }
    for (int i = 0; i < 4; i++) {
      publisher.publish("o" + i, list(name), Map.of("tenant", "other"));
    }
    await().atMost(Duration.ofSeconds(10)).until(() -> runs.done.keySet().stream().filter(k -> k.startsWith("n")).count() >= 2);
    b.stop();
    // Stopped: what is not done is in Redis, in the queue or parked in the key's waiting list, once.
    long notDone = 12 - runs.completed();
    long waiting = llen("{" + name + "}:wait:" + NASTY) + llen("{" + name + "}:wait:other");
    assertThat(llen(name) + waiting + processing(name)).isEqualTo(notDone);
    assertThat(keys("{" + name + "}:slots:*")).as("the stop released its slots").isEmpty();

    b.start();
    await().atMost(Duration.ofSeconds(20)).until(() -> runs.completed() == 12);
    assertThat(runs.twice()).isEmpty();
    assertThat(runs.max(NASTY)).isEqualTo(1);
    assertThat(runs.max("other")).isEqualTo(1);
    await().atMost(Duration.ofSeconds(5)).until(() -> keys("{" + name + "}:slots:*").isEmpty());
    assertThat(keys("{" + name + "}:wait:*")).isEmpty();
    assertThat((Long) redis.command("ZCARD", "{" + name + "}:slotwait")).isZero();
    assertThat(llen(name)).isZero();
  }

  @Test
  void rateLimitPerKey_stopWhileParked_keepsThemInRedis_andAStartHandlesEachOnce() {
    String name = "rpk-stop";
    Runs runs = new Runs();
    RedisBroker b = broker();
    b.subscriber(list(name).rateLimitPerKey("tenant", 2, Duration.ofMillis(500))).concurrency(4)
        .handle(String.class, (s, ctx) -> {
          runs.run(ctx.header("tenant"), s, 1);
          return null;
        });
    b.start();
    RedisBroker publisher = broker();
    for (int i = 0; i < 10; i++) {
      publisher.publish("n" + i, list(name), Map.of("tenant", NASTY));
    }
    await().atMost(Duration.ofSeconds(10)).until(() -> runs.completed() >= 2);
    b.stop();
    long notDone = 10 - runs.completed();
    assertThat(notDone).isPositive();
    assertThat(llen(name) + llen("{" + name + "}:wait:" + NASTY) + processing(name)).isEqualTo(notDone);

    b.start();
    await().atMost(Duration.ofSeconds(20)).until(() -> runs.completed() == 10);
    assertThat(runs.twice()).isEmpty();
    await().atMost(Duration.ofSeconds(5)).until(() -> keys("{" + name + "}:wait:*").isEmpty()
        && (Long) redis.command("ZCARD", "{" + name + "}:waiting") == 0L);
    assertThat(llen(name)).isZero();
    // The per-key bucket stays until it expires, with the nasty key as is.
    assertThat((Long) redis.command("EXISTS", "{" + name + "}:rate:" + NASTY)).isOne();
    assertThat((Long) redis.command("PTTL", "{" + name + "}:rate:" + NASTY)).isBetween(1L, 2000L);
  }

  @Test
  void tinyRatePeriods_doNotHotLoopWhileIdle() throws Exception {
    RedisBroker b = broker();
    b.subscriber(list("idle-a").rateLimit(1, Duration.ofMillis(1))).handle(String.class, (s, ctx) -> null);
    b.subscriber(list("idle-b").rateLimitPerKey("tenant", 1, Duration.ofMillis(1))).handle(String.class, (s, ctx) -> null);
    b.subscriber(list("idle-c").concurrencyPerKey("tenant", 1)).handle(String.class, (s, ctx) -> null);
    List<String> got = Collections.synchronizedList(new ArrayList<>());
    b.subscriber(list("idle-d").rateLimitPerKey("tenant", 1, Duration.ofMillis(1))).handle(String.class, (s, ctx) -> {
      got.add(s);
      return null;
    });
    b.start();
    // parked once, then woken: the key's waiting state must not leave a spinning read behind
    b.publishBatch(List.of("a", "b", "c"), list("idle-d"));
    for (String s : List.of("d", "e", "f")) {
      b.publish(s, list("idle-d"), Map.of("tenant", NASTY));
    }
    await().atMost(Duration.ofSeconds(5)).until(() -> got.size() == 6);
    Thread.sleep(300);
    redis.command("CONFIG", "RESETSTAT");
    Thread.sleep(2000);
    String stats = (String) redis.command("INFO", "commandstats");
    long total = 0;
    for (String line : stats.split("\r?\n")) {
      if (line.startsWith("cmdstat_") && !line.startsWith("cmdstat_info") && !line.startsWith("cmdstat_config")) {
        String v = line.substring(line.indexOf("calls=") + 6);
        total += Long.parseLong(v.substring(0, v.indexOf(',')));
      }
    }
    System.out.printf("Idle, 2 s, four consumers with rate limits of 1 per ms and per-key limits: %d commands (those inside scripts included)%n", total);
    // Four idle consumers blocking up to 2 s each, plus heartbeats: a few dozen commands, not thousands.
    assertThat(total).as("commands in 2 idle seconds:\n" + stats).isLessThan(100);
  }

  @Test
  void aRetryWaitingInTheDelayedSet_isHandledOnceByTheNextRegistration() {
    String name = "retry-replace";
    AtomicInteger attempts = new AtomicInteger();
    List<String> done = Collections.synchronizedList(new ArrayList<>());
    RedisBroker b = broker();
    Subscription first = b.subscriber(list(name).deadLetter()).id("worker").retry(Backoff.fixed(Duration.ofMillis(700)))
        .handle(String.class, (s, ctx) -> {
          attempts.incrementAndGet();
          throw new IllegalStateException("first attempt fails");
        });
    b.start();
    b.publish("job", list(name));
    await().atMost(Duration.ofSeconds(5)).until(() -> (Long) redis.command("ZCARD", "{" + name + "}:delayed") == 1L);
    first.close();
    b.subscriber(list(name).deadLetter()).id("worker").retry(Backoff.fixed(Duration.ofMillis(700)))
        .handle(String.class, (s, ctx) -> {
          attempts.incrementAndGet();
          done.add(s + "@" + ctx.deliveryCount());
          return null;
        }).start();
    await().atMost(Duration.ofSeconds(5)).until(() -> done.size() == 1);
    await().during(Duration.ofMillis(800)).atMost(Duration.ofSeconds(3)).until(() -> done.size() == 1);
    assertThat(done).containsExactly("job@2");
    assertThat(attempts).hasValue(2);
    assertThat((Long) redis.command("ZCARD", "{" + name + "}:delayed")).isZero();
    assertThat(llen("{" + name + "}:dlq")).isZero();
    assertThat(processing(name)).isZero();
  }

  @Test
  void idempotentWithRetry_runsUntilDone_thenSkipsTheId() {
    String name = "idem-retry";
    AtomicInteger calls = new AtomicInteger();
    List<String> completed = Collections.synchronizedList(new ArrayList<>());
    RedisBroker b = broker();
    b.subscriber(list(name).idempotent(Duration.ofMinutes(1))).retry(Backoff.fixed(Duration.ofMillis(100)))
        .handle(String.class, (s, ctx) -> {
          if (calls.incrementAndGet() <= 2) {
            throw new IllegalStateException("fails twice");
          }
          completed.add(s + "@" + ctx.deliveryCount());
          return null;
        });
    b.start();
    b.publish("pay", list(name), Map.of("message_id", "p-1"));
    await().atMost(Duration.ofSeconds(5)).until(() -> completed.size() == 1);
    assertThat(completed).containsExactly("pay@3");
    await().atMost(Duration.ofSeconds(5)).until(() -> redis.command("ZSCORE", "{" + name + "}:done", "p-1") != null);
    // the same id again, and again after a retry of another id: skipped without the handler
    b.publish("pay again", list(name), Map.of("message_id", "p-1"));
    b.publish("other", list(name), Map.of("message_id", "p-2"));
    await().atMost(Duration.ofSeconds(5)).until(() -> completed.size() == 2);
    await().during(Duration.ofMillis(500)).atMost(Duration.ofSeconds(3))
        .until(() -> completed.size() == 2 && llen(name) == 0 && processing(name) == 0);
    assertThat(completed).containsExactly("pay@3", "other@1");
    assertThat(calls).hasValue(4);
  }

  @Test
  void aScheduleAcrossBrokerCloseAndStartCycles_firesNoTickTwice_andNothingAfterTheLastClose() {
    String name = "cycling";
    List<String> ticks = Collections.synchronizedList(new ArrayList<>());
    RedisBroker consumer = broker();
    consumer.subscriber(list(name)).handle(String.class, (s, ctx) -> {
      ticks.add(ctx.header("x-schedule-tick"));
      return null;
    });
    consumer.start();
    RedisBroker steady = null;
    for (int cycle = 0; cycle < 4; cycle++) {
      RedisBroker a = broker();
      RedisBroker c = broker();
      a.schedule(name, Schedule.every(Duration.ofMillis(100)), () -> "t", list(name));
      c.schedule(name, Schedule.every(Duration.ofMillis(100)), () -> "t", list(name));
      int before = ticks.size();
      await().atMost(Duration.ofSeconds(5)).until(() -> ticks.size() >= before + 3);
      a.close();
      c.close();
    }
    int last = ticks.size();
    await().during(Duration.ofMillis(600)).atMost(Duration.ofSeconds(3)).until(() -> ticks.size() <= last + 2);
    int settled = ticks.size(); // a tick claimed just before the close may land once
    await().during(Duration.ofMillis(500)).atMost(Duration.ofSeconds(2)).until(() -> ticks.size() == settled);
    Set<String> distinct = ConcurrentHashMap.newKeySet();
    List<String> twice = ticks.stream().filter(t -> !distinct.add(t)).toList();
    assertThat(twice).as("ticks fired twice").isEmpty();
    assertThat(ticks).hasSizeGreaterThanOrEqualTo(12);
  }

  @Test
  void aDelayedJobPromotedByThreeBrokers_whileOneCloses_arrivesOnce() {
    String name = "promote3";
    Map<String, AtomicInteger> got = new ConcurrentHashMap<>();
    List<RedisBroker> brokers = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      RedisBroker b = broker();
      b.subscriber(list(name)).concurrency(4).handle(String.class, (s, ctx) -> {
        got.computeIfAbsent(s, k -> new AtomicInteger()).incrementAndGet();
        return null;
      });
      b.start();
      brokers.add(b);
    }
    RedisBroker publisher = broker();
    int n = 300;
    for (int i = 0; i < n; i++) {
      publisher.publish("d" + i, list(name), PublishOptions.delay(Duration.ofMillis(200 + (i % 30) * 20)));
    }
    await().atMost(Duration.ofSeconds(5)).until(() -> got.size() > 20);
    brokers.get(0).close();
    await().atMost(Duration.ofSeconds(15)).until(() -> got.size() == n);
    await().during(Duration.ofMillis(300)).atMost(Duration.ofSeconds(2)).until(() -> got.size() == n);
    assertThat(got.values().stream().filter(c -> c.get() > 1).count()).isZero();
    assertThat((Long) redis.command("ZCARD", "{" + name + "}:delayed")).isZero();
  }

  @Test
  void aStreamRetryLongerThanMinIdle_isNotTakenEarlyByAnotherConsumer() {
    String name = "sretry";
    List<Long> attempts = Collections.synchronizedList(new ArrayList<>());
    List<String> who = Collections.synchronizedList(new ArrayList<>());
    for (int c = 0; c < 2; c++) {
      String me = "c" + c;
      RedisBroker b = broker();
      b.subscriber(dev.brook.redis.Redis.stream(name).group("g").consumer(me).minIdle(Duration.ofMillis(400)))
          .retry(Backoff.fixed(Duration.ofMillis(2500)))
          .handle(String.class, (s, ctx) -> {
            attempts.add(System.nanoTime());
            who.add(me + "@" + ctx.deliveryCount());
            if (attempts.size() == 1) {
              throw new IllegalStateException("first attempt fails");
            }
            return null;
          });
      b.start();
    }
    broker().publish("job", dev.brook.redis.Redis.stream(name));
    await().atMost(Duration.ofSeconds(10)).until(() -> attempts.size() == 2);
    long gapMillis = (attempts.get(1) - attempts.get(0)) / 1_000_000;
    assertThat(gapMillis).as("retry after the back-off, not after minIdle: " + who).isGreaterThanOrEqualTo(2400);
  }

  /**
   * Two lists given one hash tag to share a cluster node ({@code {shared}a}, {@code {shared}b}, as
   * docs/cluster.md suggests) are still two queues: a delayed job, a retry, an idempotent id and
   * the processing list of one never reach the other.
   */
  @Test
  void twoListsSharingAHashTag_keepTheirJobsApart() {
    Map<String, List<String>> got = new ConcurrentHashMap<>();
    RedisBroker b = broker();
    for (String name : List.of("{shared}a", "{shared}b")) {
      b.subscriber(list(name).idempotent(Duration.ofMinutes(1))).concurrency(4).handle(String.class, (s, ctx) -> {
        got.computeIfAbsent(name, k -> Collections.synchronizedList(new ArrayList<>())).add(s);
        Thread.sleep(5);
        return null;
      });
    }
    b.start();
    for (int i = 0; i < 20; i++) {
      b.publish("{shared}a:" + i, list("{shared}a"), PublishOptions.delay(Duration.ofMillis(150)));
      b.publish("{shared}b:" + i, list("{shared}b"), PublishOptions.delay(Duration.ofMillis(150)));
    }
    b.publish("{shared}a:id", list("{shared}a"), Map.of("message_id", "same"));
    await().atMost(Duration.ofSeconds(10)).until(() -> got.getOrDefault("{shared}a", List.of()).size() == 21);
    b.publish("{shared}b:id", list("{shared}b"), Map.of("message_id", "same"));
    await().atMost(Duration.ofSeconds(10)).until(() -> got.getOrDefault("{shared}b", List.of()).size() == 21);
    for (String name : List.of("{shared}a", "{shared}b")) {
      assertThat(got.get(name)).as("handled by " + name).allMatch(s -> s.startsWith(name + ":"));
    }
    b.stop();
    assertThat(llen("{shared}a") + llen("{shared}b")).isZero();
  }

  /** close() leaves no thread of a schedule behind, also while a tick is in flight, and cancels its schedules. */
  @Test
  void closeEndsATickInFlight_andCancelsTheSchedules() throws Exception {
    RedisBroker b = broker();
    java.util.concurrent.CountDownLatch inSupplier = new java.util.concurrent.CountDownLatch(1);
    java.util.concurrent.atomic.AtomicReference<Thread> tick = new java.util.concurrent.atomic.AtomicReference<>();
    ScheduleHandle h = b.schedule("slow-tick", Schedule.every(Duration.ofMillis(200)), () -> {
      tick.set(Thread.currentThread());
      inSupplier.countDown();
      try {
        Thread.sleep(1500);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      return "x";
    }, list("slow-tick"));
    assertThat(inSupplier.await(5, java.util.concurrent.TimeUnit.SECONDS)).isTrue();
    b.close();
    assertThat(tick.get().isAlive()).as("the tick's thread outlived close()").isFalse();
    assertThat(h.isCancelled()).isTrue();
    assertThat(b.schedules()).isEmpty();
  }

  /**
   * Handlers that end right around their timeout, many times over: the watchdog and the handler
   * race, and whoever wins, the next message starts without an interrupt, each message is
   * acknowledged exactly once (handled() counts it), and nothing is left in Redis.
   */
  @Test
  void aTimeoutRacingTheHandlersReturn_leavesNoInterruptAndSettlesEachOnce() {
    String name = "timeout-race";
    int n = 150;
    AtomicInteger flagged = new AtomicInteger();
    Map<String, AtomicInteger> calls = new ConcurrentHashMap<>();
    java.util.Random random = new java.util.Random(7);
    long[] sleeps = new long[n];
    for (int i = 0; i < n; i++) {
      sleeps[i] = 18 + random.nextInt(5); // around the 20 ms timeout
    }
    RedisBroker b = broker();
    Subscription sub = b.subscriber(list(name).deadLetter().maxDeliveries(1000)).concurrency(4)
        .timeout(Duration.ofMillis(20)).retry(Backoff.fixed(Duration.ofMillis(1)))
        .handle(Integer.class, (i, ctx) -> {
          if (Thread.currentThread().isInterrupted()) {
            flagged.incrementAndGet();
          }
          int call = calls.computeIfAbsent("m" + i, k -> new AtomicInteger()).incrementAndGet();
          long until = System.nanoTime() + (call > 3 ? 1 : sleeps[i]) * 1_000_000L; // the 4th run is quick
          while (System.nanoTime() < until) {
            if (Thread.interrupted()) {
              throw new InterruptedException();
            }
            Thread.onSpinWait();
          }
          return null;
        });
    b.start();
    for (int i = 0; i < n; i++) {
      b.publish(i, list(name));
    }
    await().atMost(Duration.ofSeconds(30)).until(() -> sub.metrics().handled() >= n);
    await().during(Duration.ofMillis(300)).atMost(Duration.ofSeconds(5))
        .until(() -> sub.metrics().handled() == n && llen(name) == 0 && processing(name) == 0
            && (Long) redis.command("ZCARD", "{" + name + "}:delayed") == 0L);
    assertThat(flagged).as("handlers that started with an interrupt left over").hasValue(0);
    assertThat(calls).hasSize(n);
    assertThat(llen("{" + name + "}:dlq")).isZero();
  }

  /** Replays racing the consumer that dead-letters: each message dead once, replayed once, handled once more; none lost or doubled. */
  @Test
  void deadLetterReplaysRacingTheConsumer_loseAndDoubleNothing() throws Exception {
    String name = "dlq-race";
    int n = 200;
    Map<Integer, AtomicInteger> calls = new ConcurrentHashMap<>();
    Set<Integer> ok = ConcurrentHashMap.newKeySet();
    AtomicInteger okTwice = new AtomicInteger();
    RedisBroker b = broker();
    b.subscriber(list(name).deadLetter()).concurrency(8).handle(Integer.class, (i, ctx) -> {
      if (calls.computeIfAbsent(i, k -> new AtomicInteger()).incrementAndGet() == 1) {
        throw new IllegalStateException("first run fails: dead letter");
      }
      if (!ok.add(i)) {
        okTwice.incrementAndGet();
      }
      return null;
    });
    b.start();
    dev.brook.redis.DeadLetters dead = broker().deadLetters(list(name));
    AtomicInteger replayed = new AtomicInteger();
    Thread replayer = Thread.ofPlatform().start(() -> {
      while (!Thread.currentThread().isInterrupted() && ok.size() < n) {
        replayed.addAndGet(dead.replayAll());
      }
    });
    closeLater(replayer::interrupt);
    RedisBroker publisher = broker();
    for (int i = 0; i < n; i++) {
      publisher.publish(i, list(name));
    }
    await().atMost(Duration.ofSeconds(30)).until(() -> ok.size() == n);
    replayer.join(5000);
    assertThat(okTwice).hasValue(0);
    assertThat(replayed).hasValue(n);
    assertThat(calls.values()).allMatch(c -> c.get() == 2);
    assertThat(dead.count()).isZero();
    await().atMost(Duration.ofSeconds(5)).until(() -> llen(name) == 0 && processing(name) == 0);
  }

  /**
   * docs/jobs.md: a delay of zero or an instant in the past publishes at once, unless older due jobs
   * still wait in the delayed set; then it queues behind them.
   */
  @Test
  void aZeroDelayOrPastInstant_queuesBehindDueJobsStillWaiting() throws Exception {
    String name = "behind";
    RedisBroker publisher = broker();
    for (int i = 0; i < 5; i++) {
      publisher.publish("due" + i, list(name), PublishOptions.delay(Duration.ofMillis(50)));
    }
    Thread.sleep(200); // due, but nobody consumes: they wait in the delayed set
    publisher.publish("zero", list(name), PublishOptions.delay(Duration.ZERO));
    publisher.publish("past", list(name), PublishOptions.at(java.time.Instant.now().minusSeconds(60)));
    List<String> got = Collections.synchronizedList(new ArrayList<>());
    RedisBroker b = broker();
    b.subscriber(list(name)).concurrency(1).handle(String.class, (s, ctx) -> {
      got.add(s);
      return null;
    });
    b.start();
    await().atMost(Duration.ofSeconds(5)).until(() -> got.size() == 7);
    assertThat(got).containsExactly("due0", "due1", "due2", "due3", "due4", "zero", "past");
  }

  /**
   * A consumer process killed (SIGKILL) while its entries wait 30 s for their retry: nothing keeps
   * them from going idle any more, so another consumer takes them after minIdle, each once.
   */
  @Test
  void aKilledConsumersStreamRetries_areTakenByTheOthersAfterMinIdle() throws Exception {
    String name = "crash-stream-retry";
    int n = 20;
    Process child = CrashConsumer.launch(redis.url(), "stream-retry", name);
    try {
      RedisBroker publisher = broker();
      for (int i = 0; i < n; i++) {
        publisher.publish("m" + i, dev.brook.redis.Redis.stream(name));
      }
      await().atMost(Duration.ofSeconds(20)).until(() -> (Long) redis.command("SCARD", "failed:child") == n);
      child.toHandle().destroyForcibly();
      assertThat(child.waitFor(10, java.util.concurrent.TimeUnit.SECONDS)).isTrue();
      Runs runs = new Runs();
      RedisBroker survivor = broker();
      survivor.subscriber(dev.brook.redis.Redis.stream(name).group("g").consumer("survivor").minIdle(Duration.ofMillis(500)))
          .concurrency(4).handle(String.class, (s, ctx) -> {
            runs.run("all", s, 1);
            return null;
          });
      survivor.start();
      await().atMost(Duration.ofSeconds(10)).until(() -> runs.completed() == n);
      await().during(Duration.ofMillis(500)).atMost(Duration.ofSeconds(3)).until(() -> runs.completed() == n);
      assertThat(runs.twice()).isEmpty();
      assertThat((Long) redis.command("SCARD", "handled:child")).isZero();
    } finally {
      child.toHandle().destroyForcibly();
    }
  }

  /** A consumer process killed while a per-key rate limit parks most of one key's messages: the others handle all. */
  @Test
  void aKilledConsumersParkedMessages_stayInRedisForTheOthers() throws Exception {
    String name = "crash-rate-per-key";
    int n = 30;
    Process child = CrashConsumer.launch(redis.url(), "list-rate-per-key", name);
    try {
      RedisBroker publisher = broker();
      for (int i = 0; i < n; i++) {
        publisher.publish("m" + i, list(name), Map.of("tenant", NASTY));
      }
      await().atMost(Duration.ofSeconds(20)).until(() -> (Long) redis.command("SCARD", "handled:child") >= 3);
      child.toHandle().destroyForcibly();
      assertThat(child.waitFor(10, java.util.concurrent.TimeUnit.SECONDS)).isTrue();
      @SuppressWarnings("unchecked")
      Set<String> byChild = new java.util.HashSet<>((List<String>) redis.command("SMEMBERS", "handled:child"));
      assertThat(llen("{" + name + "}:wait:" + NASTY)).as("parked in Redis when the child died").isPositive();
      Runs runs = new Runs();
      RedisBroker survivor = broker();
      survivor.subscriber(list(name).consumer("survivor").heartbeat(Duration.ofSeconds(1))
          .rateLimitPerKey("tenant", 20, Duration.ofSeconds(1))).concurrency(4).handle(String.class, (s, ctx) -> {
            runs.run(NASTY, s, 1);
            return null;
          });
      survivor.start();
      await().atMost(Duration.ofSeconds(15)).until(() -> {
        Set<String> all = new java.util.HashSet<>(byChild);
        all.addAll(runs.done.keySet());
        return all.size() == n;
      });
      assertThat(runs.twice()).isEmpty();
      await().atMost(Duration.ofSeconds(5)).until(() -> llen(name) == 0 && processing(name) == 0
          && keys("{" + name + "}:wait:*").isEmpty());
    } finally {
      child.toHandle().destroyForcibly();
    }
  }

  /** A REPLACE of a concurrencyPerKey subscription while it holds slots and others are parked: each once, never two of the key at once. */
  @Test
  void replacingAConcurrencyPerKeySubscription_whileParked_handlesEachOnce() {
    String name = "cpk-replace";
    Runs runs = new Runs();
    RedisBroker b = broker();
    for (int round = 0; round < 3; round++) {
      b.subscriber(list(name).concurrencyPerKey("tenant", 1)).id("tasks").concurrency(4).handle(String.class, (s, ctx) -> {
        runs.run(ctx.header("tenant"), s, 60);
        return null;
      });
      if (round == 0) {
        b.start();
        for (int i = 0; i < 12; i++) {
          b.publish("k" + i, list(name), Map.of("tenant", NASTY));
        }
      }
      int before = runs.completed();
      await().atMost(Duration.ofSeconds(10)).until(() -> runs.completed() >= before + 2);
    }
    await().atMost(Duration.ofSeconds(20)).until(() -> runs.completed() == 12);
    assertThat(runs.twice()).isEmpty();
    assertThat(runs.max(NASTY)).isEqualTo(1);
    await().atMost(Duration.ofSeconds(5)).until(() -> keys("{" + name + "}:slots:*").isEmpty()
        && keys("{" + name + "}:wait:*").isEmpty() && llen(name) == 0);
  }

  /**
   * Redis SIGKILLed and restarted from its AOF while a concurrencyPerKey list holds slots, parks
   * messages and has retries waiting in the delayed set: everything comes back, never more than n
   * of a key at once, and nothing of the per-key state is left in Redis at the end.
   */
  @Test
  void aRedisRestartFromTheAof_withSlotsParkedAndRetries_losesNothing() throws Exception {
    try (dev.brook.testing.RedisServer aof = dev.brook.testing.RedisServer.builder().appendOnly(true).start();
        RedisBroker b = RedisBroker.builder().url(aof.url()).commandTimeout(Duration.ofSeconds(3)).build()) {
      String name = "aof-cpk";
      Runs runs = new Runs();
      Set<String> failedOnce = ConcurrentHashMap.newKeySet();
      b.subscriber(list(name).concurrencyPerKey("tenant", 2)).concurrency(6).retry(Backoff.fixed(Duration.ofMillis(300)))
          .handle(String.class, (s, ctx) -> {
            if (failedOnce.add(s)) {
              throw new IllegalStateException("first attempt fails");
            }
            runs.run(ctx.header("tenant"), s, 30);
            return null;
          });
      b.start();
      List<String> tenants = List.of(NASTY, "beta", "gamma");
      for (int i = 0; i < 60; i++) {
        b.publish("m" + i, list(name), Map.of("tenant", tenants.get(i % 3)));
      }
      await().atMost(Duration.ofSeconds(20)).until(() -> runs.completed() >= 15);
      aof.kill();
      aof.restart();
      await().atMost(Duration.ofSeconds(40)).until(() -> runs.completed() == 60);
      for (String t : tenants) {
        assertThat(runs.max(t)).as("running at once for " + t).isLessThanOrEqualTo(2);
      }
      await().atMost(Duration.ofSeconds(15)).until(() -> ((List<?>) aof.command("KEYS", "{" + name + "}:slots:*")).isEmpty()
          && ((List<?>) aof.command("KEYS", "{" + name + "}:wait:*")).isEmpty()
          && (Long) aof.command("ZCARD", "{" + name + "}:delayed") == 0L
          && (Long) aof.command("LLEN", name) == 0L);
      System.out.printf("AOF restart with concurrencyPerKey: 60 handled, %d twice (an acknowledgement lost with the kill)%n",
          runs.twice().size());
    }
  }

  /** purge() racing a consumer that dead-letters: what it says it deleted plus what is left is every dead letter. */
  @Test
  void purgeRacingTheConsumer_countsWhatItDeletes() throws Exception {
    String name = "purge-race";
    int n = 3000;
    RedisBroker b = broker();
    Subscription sub = b.subscriber(list(name).deadLetter()).concurrency(16).handle(Integer.class, (i, ctx) -> {
      throw new IllegalStateException("always dead");
    });
    b.start();
    dev.brook.redis.DeadLetters dead = broker().deadLetters(list(name));
    java.util.concurrent.atomic.AtomicLong purged = new java.util.concurrent.atomic.AtomicLong();
    java.util.concurrent.atomic.AtomicBoolean purging = new java.util.concurrent.atomic.AtomicBoolean(true);
    Thread purger = Thread.ofPlatform().start(() -> {
      while (purging.get()) {
        purged.addAndGet(dead.purge());
      }
    });
    closeLater(() -> purging.set(false));
    RedisBroker publisher = broker();
    for (int i = 0; i < n; i++) {
      publisher.publishAsync(i, list(name), Map.of());
    }
    await().atMost(Duration.ofSeconds(30)).until(() -> sub.metrics().failed() >= n && llen(name) == 0 && processing(name) == 0);
    purging.set(false);
    purger.join(5000);
    assertThat(purged.get() + dead.count()).isEqualTo(n);
  }

  /** Schedule names with braces (a hash tag in them) are still two schedules: each fires its own ticks. */
  @Test
  void schedulesWhoseNamesShareATag_fireEachTheirOwnTicks() {
    List<String> a = Collections.synchronizedList(new ArrayList<>());
    List<String> c = Collections.synchronizedList(new ArrayList<>());
    RedisBroker consumer = broker();
    consumer.subscriber(list("tick-a")).handle(String.class, (s, ctx) -> a.add(ctx.header("x-schedule-tick")));
    consumer.subscriber(list("tick-c")).handle(String.class, (s, ctx) -> c.add(ctx.header("x-schedule-tick")));
    consumer.start();
    RedisBroker b = broker();
    b.schedule("a{t} *", Schedule.every(Duration.ofMillis(100)), () -> "a", list("tick-a"));
    b.schedule("c{t} *", Schedule.every(Duration.ofMillis(100)), () -> "c", list("tick-c"));
    // Same period, same ticks: each schedule fires every one of them (one shared last tick would
    // split the ticks between the two, leaving none in common).
    await().atMost(Duration.ofSeconds(10)).until(() -> {
      Set<String> common = new java.util.HashSet<>(List.copyOf(a));
      common.retainAll(List.copyOf(c));
      return common.size() >= 5;
    });
    assertThat((Long) redis.command("EXISTS", "{brook:schedule:a{t} *}:last", "{brook:schedule:c{t} *}:last")).isEqualTo(2L);
  }

  /**
   * A stream group subscription replaced while entries wait for a long retry, on an idempotent
   * stream: the replacement (same consumer name) delivers them at once (the wait was in the old
   * one's memory, docs/jobs.md), each once, and a completed id published again is skipped.
   */
  @Test
  void aStreamSubscriptionReplacedWhileRetriesWait_deliversEachOnce_andIdempotentSkips() {
    String name = "sreplace";
    Map<String, AtomicInteger> attempts = new ConcurrentHashMap<>();
    List<String> completed = Collections.synchronizedList(new ArrayList<>());
    RedisBroker b = broker();
    dev.brook.redis.StreamDestination d = dev.brook.redis.Redis.stream(name).group("g").consumer("c")
        .idempotent(Duration.ofMinutes(1));
    b.subscriber(d).id("w").retry(Backoff.fixed(Duration.ofMinutes(5))).handle(String.class, (s, ctx) -> {
      attempts.computeIfAbsent(s, k -> new AtomicInteger()).incrementAndGet();
      throw new IllegalStateException("the old one fails everything");
    });
    b.start();
    for (int i = 0; i < 10; i++) {
      b.publish("e" + i, dev.brook.redis.Redis.stream(name), Map.of("message_id", "id" + i));
    }
    await().atMost(Duration.ofSeconds(5)).until(() -> attempts.size() == 10);
    b.subscriber(d).id("w").retry(Backoff.fixed(Duration.ofMinutes(5))).handle(String.class, (s, ctx) -> {
      attempts.computeIfAbsent(s, k -> new AtomicInteger()).incrementAndGet();
      completed.add(s + "@" + ctx.deliveryCount());
      return null;
    }).start();
    await().atMost(Duration.ofSeconds(5)).until(() -> completed.size() == 10);
    assertThat(completed).allMatch(s -> s.endsWith("@2"));
    b.publish("e0 again", dev.brook.redis.Redis.stream(name), Map.of("message_id", "id0"));
    await().during(Duration.ofMillis(500)).atMost(Duration.ofSeconds(3)).until(() -> completed.size() == 10);
    assertThat(attempts).hasSize(10).doesNotContainKey("e0 again");
    assertThat(attempts.values()).allMatch(c -> c.get() == 2);
    await().atMost(Duration.ofSeconds(5)).until(() -> ((List<?>) redis.command("XPENDING", name, "g")).get(0).equals(0L));
  }

  /**
   * A list message just under maxMessageSize whose handler fails with a long error: the retry
   * Brook re-encodes (x-deliveries, x-last-error) must still be delivered, not dead-lettered as too
   * large.
   */
  @Test
  void aRetryOfAMessageNearMaxMessageSize_isStillDelivered() {
    String name = "near-max";
    List<String> completed = Collections.synchronizedList(new ArrayList<>());
    AtomicInteger calls = new AtomicInteger();
    RedisBroker b = broker(o -> o.maxMessageSize(4096));
    b.subscriber(list(name).deadLetter()).retry(Backoff.fixed(Duration.ofMillis(10))).handle(String.class, (s, ctx) -> {
      if (calls.incrementAndGet() == 1) {
        throw new IllegalStateException("x".repeat(2000));
      }
      completed.add(s.substring(0, 3) + "@" + ctx.deliveryCount());
      return null;
    });
    b.start();
    b.publish("big" + "y".repeat(3900), list(name));
    await().atMost(Duration.ofSeconds(5)).until(() -> completed.size() == 1 || llen("{" + name + "}:dlq") > 0);
    assertThat(llen("{" + name + "}:dlq")).as("dead-lettered as too large").isZero();
    assertThat(completed).containsExactly("big@2");

    // Exactly maxMessageSize: not even the delivery count fits; a dead letter that says why, at once.
    calls.set(0); // its first run fails (before it is published: the consumer may take it at once)
    String exact = null;
    for (int n = 4096; exact == null; n--) {
      try {
        String candidate = "max" + "z".repeat(n);
        b.publish(candidate, list(name));
        exact = candidate;
      } catch (dev.brook.BrookException tooLarge) {
        // one byte less
      }
    }
    await().atMost(Duration.ofSeconds(5)).until(() -> llen("{" + name + "}:dlq") == 1);
    assertThat(completed).hasSize(1);
    assertThat(String.valueOf(((List<?>) redis.command("LRANGE", "{" + name + "}:dlq", "0", "0")).get(0)))
        .contains("cannot be retried").contains("maxMessageSize of 4096");
  }
}
