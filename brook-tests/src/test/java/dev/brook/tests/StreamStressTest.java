package dev.brook.tests;

import static dev.brook.redis.Redis.channel;
import static dev.brook.redis.Redis.stream;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import dev.brook.AckPolicy;
import dev.brook.BrookException;
import dev.brook.MessageContext;
import dev.brook.Subscription;
import dev.brook.redis.RedisBroker;
import dev.brook.redis.StreamDestination;
import dev.brook.redis.internal.Envelope;
import io.lettuce.core.Range;
import io.lettuce.core.StreamMessage;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.ValueSource;
import org.slf4j.LoggerFactory;

/**
 * Stream groups under stop/start, replacement, interrupts, failures and load (issue 12, items 2, 3,
 * 5, 6, 12; issue 13 §3), with exact counts and fixed seeds: every entry handled exactly once where
 * no handler failed, delivery counts equal to handler attempts, nothing dead-lettered that did not
 * fail. The longer randomized run is tagged {@code soak} ({@code ./mvnw -pl brook-tests test -Psoak
 * -Dtest=StreamStressTest}).
 */
class StreamStressTest extends RedisTestBase {

  /** Handled entries by payload: how often each ran to the end. */
  private static final class Tally {
    final Map<String, AtomicInteger> runs = new ConcurrentHashMap<>();
    final AtomicInteger total = new AtomicInteger();
    /** Entries whose handler saw a delivery count other than the attempt it was. */
    final List<String> wrongCounts = new CopyOnWriteArrayList<>();

    void handled(String payload) {
      runs.computeIfAbsent(payload, k -> new AtomicInteger()).incrementAndGet();
      total.incrementAndGet();
    }

    /** Payloads handled more than once. */
    List<String> twice() {
      return runs.entrySet().stream().filter(e -> e.getValue().get() > 1).map(Map.Entry::getKey).sorted().toList();
    }
  }

  private static List<String> payloads(String prefix, int n) {
    return IntStream.range(0, n).mapToObj(i -> prefix + i).toList();
  }

  /** Publishes in chunks, as an application's publishBatch calls would. */
  private static void publishInChunks(RedisBroker broker, List<String> payloads, StreamDestination to, int chunk) {
    for (int i = 0; i < payloads.size(); i += chunk) {
      broker.publishBatch(payloads.subList(i, Math.min(payloads.size(), i + chunk)), to);
    }
  }

  /** XPENDING's delivery counts of a group, oldest first. */
  private List<Long> pendingCounts(String stream, String group) {
    if ((Long) redis.command("EXISTS", stream) == 0) {
      return List.of();
    }
    List<Long> counts = new ArrayList<>();
    for (Object o : (List<?>) redis.command("XPENDING", stream, group, "-", "+", "1000000")) {
      counts.add((Long) ((List<?>) o).get(3));
    }
    return counts;
  }

  private long pending(String stream, String group) {
    return (Long) ((List<?>) redis.command("XPENDING", stream, group)).get(0);
  }

  /** How often Redis ran a command since the last CONFIG RESETSTAT (scripts' commands included). */
  private long commandCalls(String command) {
    String stats = (String) redis.command("INFO", "commandstats");
    for (String line : stats.split("\r?\n")) {
      if (line.startsWith("cmdstat_" + command + ":calls=")) {
        return Long.parseLong(line.substring(line.indexOf('=') + 1, line.indexOf(',')));
      }
    }
    return 0;
  }

  private long xlen(String key) {
    return (Long) redis.command("XLEN", key);
  }

  /** The headers of the dead letters in {@code {name}:dlq}, oldest first (read as bytes: an envelope is binary). */
  private List<Map<String, String>> deadLetters(String name) {
    List<Map<String, String>> out = new ArrayList<>();
    for (StreamMessage<byte[], byte[]> m : raw().sync().xrange(utf8("{" + name + "}:dlq"), Range.create("-", "+"))) {
      byte[] data = m.getBody().entrySet().stream().filter(e -> new String(e.getKey(), StandardCharsets.UTF_8).equals("__data__"))
          .map(Map.Entry::getValue).findFirst().orElseThrow();
      out.add(Envelope.decode(data).headers());
    }
    return out;
  }

  /** {@code n} distinct points in (from, to), ascending, from a fixed seed. */
  private static List<Integer> stopPoints(long seed, int n, int from, int to) {
    Random random = new Random(seed);
    TreeSet<Integer> points = new TreeSet<>();
    while (points.size() < n) {
      points.add(from + 1 + random.nextInt(to - from - 1));
    }
    return List.copyOf(points);
  }

  // ---- item 3: stop/start must not dead-letter healthy entries -----------------------------------

  @Test
  void sixStopsAndStartsOverAThousandEntriesHandleEachOnceAsItsFirstAttemptAndDeadLetterNothing() {
    int n = 1_000;
    Tally tally = new Tally();
    RedisBroker broker = broker();
    broker.start();
    StreamDestination dest = stream("restarts").group("g").consumer("c").startFrom(StreamDestination.BEGINNING);
    publishInChunks(broker, payloads("m", n), stream("restarts"), 500);
    Subscription sub = broker.subscriber(dest).handle(String.class, (s, ctx) -> {
      if (ctx.deliveryCount() != 1) {
        tally.wrongCounts.add(s + " as delivery " + ctx.deliveryCount());
      }
      LockSupport.parkNanos(300_000); // a little work: the rest waits in the subscription's buffer
      tally.handled(s);
      return null;
    });
    for (int stopAt : stopPoints(3, 6, 50, 900)) {
      await().atMost(Duration.ofSeconds(30)).until(() -> tally.total.get() >= stopAt);
      sub.stop();
      // What the stop found buffered went back with its attempt undone: pending, never attempted.
      assertThat(pendingCounts("restarts", "g")).allMatch(c -> c == 0L);
      sub.start();
    }
    await().atMost(Duration.ofSeconds(60)).until(() -> tally.total.get() >= n);
    await().atMost(Duration.ofSeconds(10)).until(() -> pending("restarts", "g") == 0);
    assertThat(tally.runs).hasSize(n);
    assertThat(tally.twice()).isEmpty();
    assertThat(tally.wrongCounts).isEmpty();
    assertThat(redis.command("EXISTS", "{restarts}:dlq")).isEqualTo(0L);
  }

  // ---- issue 13 §3: NACK_ON_ERROR retries promptly; maxDeliveries counts handler runs -------------

  @Test
  void nackOnErrorRunsAnAlwaysFailingHandlerExactlyMaxDeliveriesTimesWithinSecondsThenDeadLettersIt() {
    RedisBroker broker = broker();
    broker.start();
    List<Long> attempts = new CopyOnWriteArrayList<>();
    Tally good = new Tally();
    // minIdle at its default (30 s): a retry must not wait for it.
    broker.subscriber(stream("poison").group("g").consumer("c").maxDeliveries(3)).ackPolicy(AckPolicy.NACK_ON_ERROR)
        .handle(String.class, (s, ctx) -> {
          if (s.equals("poison")) {
            attempts.add(ctx.deliveryCount());
            throw new IllegalStateException("cannot handle attempt " + ctx.deliveryCount());
          }
          good.handled(s);
          return null;
        });
    long start = System.nanoTime();
    broker.publish("poison", stream("poison"));
    broker.publish("fine", stream("poison"));
    await().atMost(Duration.ofSeconds(5)).until(() -> xlen("{poison}:dlq") == 1);
    long tookMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
    System.out.printf("STREAM an always failing entry, NACK_ON_ERROR, maxDeliveries 3: 3 attempts and the dead letter "
        + "within %,d ms of the publish%n", tookMillis);
    assertThat(tookMillis).as("three attempts with back-offs of 100 and 200 ms").isLessThan(3_000);
    assertThat(attempts).containsExactly(1L, 2L, 3L);
    Map<String, String> dead = deadLetters("poison").get(0);
    assertThat(dead).containsEntry("x-delivery-count", "3")
        .containsEntry("x-error", "failed 3 times (maxDeliveries 3); last error: java.lang.IllegalStateException: cannot handle attempt 3");
    await().atMost(Duration.ofSeconds(5)).until(() -> pending("poison", "g") == 0);
    // No fourth run, not even after the longest back-off.
    await().pollDelay(Duration.ofMillis(2_500)).atMost(Duration.ofSeconds(5)).until(() -> true);
    assertThat(attempts).hasSize(3);
    assertThat(good.runs.keySet()).containsExactly("fine");
  }

  @Test
  void anEntryWhoseConsumerCrashedMidHandlerMaxDeliveriesTimesIsDeadLetteredWithItsCount() {
    // Three crashed attempts as Redis records them: read once, claimed twice, never acknowledged.
    redis.command("XGROUP", "CREATE", "crashy", "g", "0", "MKSTREAM");
    String id = (String) redis.command("XADD", "crashy", "*", "__data__", "boom");
    redis.command("XREADGROUP", "GROUP", "g", "c", "COUNT", "1", "STREAMS", "crashy", ">");
    redis.command("XCLAIM", "crashy", "g", "c", "0", id);
    redis.command("XCLAIM", "crashy", "g", "c", "0", id);
    assertThat(pendingCounts("crashy", "g")).containsExactly(3L);

    RedisBroker broker = broker();
    Tally tally = new Tally();
    broker.subscriber(stream("crashy").group("g").consumer("c").maxDeliveries(3)).handle(String.class, (s, ctx) -> {
      tally.handled(s);
      return null;
    });
    broker.start();
    await().atMost(Duration.ofSeconds(10)).until(() -> (Long) redis.command("EXISTS", "{crashy}:dlq") == 1 && xlen("{crashy}:dlq") == 1);
    assertThat(deadLetters("crashy").get(0)).containsEntry("x-delivery-count", "3")
        .containsEntry("x-original-id", id)
        .containsEntry("x-error", "delivered 3 times without being settled (maxDeliveries 3)");
    await().atMost(Duration.ofSeconds(5)).until(() -> pending("crashy", "g") == 0);
    assertThat(tally.total).hasValue(0);
  }

  // ---- item 5: acknowledgements in batches, flow-controlled, next to the application's publishing ---

  @ParameterizedTest
  @ValueSource(ints = {1, 50})
  void fiftyThousandEntriesAreHandledOnceAndAcknowledgedWhileTheApplicationPublishesTenThousandMore(int concurrency) {
    ListAppender<ILoggingEvent> log = new ListAppender<>();
    log.start();
    Logger root = (Logger) LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
    root.addAppender(log);
    try {
      String name = "bulk" + concurrency;
      Tally tally = new Tally();
      RedisBroker broker = broker();
      broker.start();
      publishInChunks(broker, payloads("a", 50_000), stream(name), 5_000);
      redis.command("CONFIG", "RESETSTAT");
      long start = System.nanoTime();
      broker.subscriber(stream(name).group("g").consumer("c").startFrom(StreamDestination.BEGINNING))
          .concurrency(concurrency).handle(String.class, (s, ctx) -> {
            tally.handled(s);
            return null;
          });
      await().atMost(Duration.ofSeconds(30)).until(() -> tally.total.get() >= 2_000);
      // The application publishes on the same broker (one shared connection) while the acks flow.
      publishInChunks(broker, payloads("b", 10_000), stream(name), 500);
      await().atMost(Duration.ofSeconds(90)).until(() -> tally.total.get() >= 60_000);
      await().atMost(Duration.ofSeconds(5)).until(() -> pending(name, "g") == 0);
      long millis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
      long xacks = commandCalls("xack");
      System.out.printf("STREAM 60,000 entries at concurrency %d: handled and acknowledged in %,d ms; %,d XACK commands "
          + "(%.1f entries each), %,d script calls%n", concurrency, millis, xacks, 60_000.0 / xacks,
          commandCalls("evalsha") + commandCalls("eval"));
      assertThat(xacks).as("acknowledgements batched").isLessThan(60_000);
      assertThat(tally.runs).hasSize(60_000);
      assertThat(tally.twice()).isEmpty();
      List<String> problems = log.list.stream().filter(e -> e.getLevel().isGreaterOrEqual(Level.WARN))
          .map(e -> e.getLoggerName() + ": " + e.getFormattedMessage()).toList();
      assertThat(problems).isEmpty();
    } finally {
      root.detachAppender(log);
    }
  }

  // ---- item 12: a dead letter is one script with the ack, never XADD then XACK -------------------

  @Test
  void deadLettersAndAcknowledgementsRunInsideOneScriptPerBatch() throws Exception {
    RedisBroker broker = broker();
    broker.start();
    try (Monitor monitor = new Monitor(redis.port())) {
      broker.subscriber(stream("mixed").group("g").consumer("c").deleteOnAck()).handle(String.class, (s, ctx) -> {
        if (s.startsWith("bad")) {
          throw new IllegalArgumentException("no " + s);
        }
        return null;
      });
      List<String> mixed = IntStream.range(0, 40).mapToObj(i -> (i % 2 == 0 ? "bad" : "ok") + i).toList();
      broker.publishBatch(mixed, stream("mixed"));
      await().atMost(Duration.ofSeconds(10)).until(() -> (Long) redis.command("EXISTS", "{mixed}:dlq") == 1
          && xlen("{mixed}:dlq") == 20 && pending("mixed", "g") == 0 && xlen("mixed") == 0);
      redis.command("PING"); // a marker: every command before it is in the monitor's log once it shows
      await().atMost(Duration.ofSeconds(5)).until(() -> monitor.lines().stream().anyMatch(l -> l.contains("\"PING\"")));
      List<String> settling = monitor.lines().stream()
          .filter(l -> l.contains("\"XADD\" \"{mixed}:dlq\"") || l.contains("\"XACK\"") || l.contains("\"XDEL\"")).toList();
      assertThat(settling).filteredOn(l -> l.contains("\"XADD\"")).hasSize(20);
      // Redis' monitor marks a command a script ran with "lua"; none of these was sent on its own.
      assertThat(settling).allMatch(l -> l.contains(" lua]"), "run by a script");
    }
    assertThat(deadLetters("mixed")).extracting(h -> h.get("x-error")).allMatch(e -> e.startsWith("java.lang.IllegalArgumentException: no bad"));
  }

  // ---- item 2: REPLACE while the old handler is busy; two ids on one group ----------------------

  @Test
  void aReplacementWhileTheOldHandlerIsMidEntryHandlesEveryEntryExactlyOnce() throws Exception {
    int n = 300;
    Tally tally = new Tally();
    RedisBroker broker = broker();
    broker.start();
    publishInChunks(broker, payloads("r", n), stream("handover"), 300);
    StreamDestination dest = stream("handover").group("g").startFrom(StreamDestination.BEGINNING); // default consumer name
    CountDownLatch inHandler = new CountDownLatch(1);
    CountDownLatch proceed = new CountDownLatch(1);
    Subscription old = broker.subscriber(dest).handle(String.class, (s, ctx) -> {
      if (s.equals("r0")) {
        inHandler.countDown();
        proceed.await(); // mid-entry while the replacement is registered
      }
      tally.handled(s);
      return null;
    });
    assertThat(inHandler.await(10, TimeUnit.SECONDS)).isTrue();
    await().atMost(Duration.ofSeconds(10)).until(() -> pending("handover", "g") == n); // the rest buffered
    CompletableFuture<Subscription> replacing = CompletableFuture.supplyAsync(() ->
        broker.subscriber(dest).handle(String.class, (s, ctx) -> {
          if (ctx.deliveryCount() != 1) {
            tally.wrongCounts.add(s + " as delivery " + ctx.deliveryCount());
          }
          tally.handled(s);
          return null;
        }));
    // The old one's stop has given back its buffer (attempts undone) and waits for r0's handler.
    await().atMost(Duration.ofSeconds(10)).until(() -> pendingCounts("handover", "g").stream().filter(c -> c == 0).count() == n - 1);
    proceed.countDown();
    Subscription replacement = replacing.get(30, TimeUnit.SECONDS);
    assertThat(replacement.id()).isEqualTo(old.id());
    await().atMost(Duration.ofSeconds(30)).until(() -> tally.total.get() >= n);
    await().atMost(Duration.ofSeconds(5)).until(() -> pending("handover", "g") == 0);
    assertThat(tally.runs).hasSize(n);
    assertThat(tally.twice()).isEmpty();
    assertThat(tally.wrongCounts).isEmpty();
  }

  @Test
  void twoIdsOnOneGroupHaveTheirOwnConsumersAndShareTheEntriesThroughSixRestartsOfOne() {
    int n = 2_000;
    Tally tally = new Tally();
    RedisBroker broker = broker(b -> b.bufferSize(50)); // neither takes in everything at once
    broker.start();
    publishInChunks(broker, payloads("w", n), stream("twoids"), 500);
    StreamDestination dest = stream("twoids").group("g").startFrom(StreamDestination.BEGINNING);
    Subscription w1 = broker.subscriber(dest).id("w1").handle(String.class, (s, ctx) -> {
      LockSupport.parkNanos(200_000);
      tally.handled(s);
      return null;
    });
    broker.subscriber(dest).id("w2").handle(String.class, (s, ctx) -> {
      LockSupport.parkNanos(200_000);
      tally.handled(s);
      return null;
    });
    for (int stopAt : stopPoints(5, 6, 100, 1_700)) {
      await().atMost(Duration.ofSeconds(30)).until(() -> tally.total.get() >= stopAt);
      w1.stop();
      w1.start();
    }
    await().atMost(Duration.ofSeconds(60)).until(() -> tally.total.get() >= n);
    await().atMost(Duration.ofSeconds(5)).until(() -> pending("twoids", "g") == 0);
    assertThat(tally.runs).hasSize(n);
    assertThat(tally.twice()).isEmpty();
    assertThat(redis.command("EXISTS", "{twoids}:dlq")).isEqualTo(0L);
    List<String> consumers = new ArrayList<>();
    for (Object c : (List<?>) redis.command("XINFO", "CONSUMERS", "twoids", "g")) {
      List<?> info = (List<?>) c;
      consumers.add((String) info.get(info.indexOf("name") + 1));
    }
    assertThat(consumers).hasSize(2).anyMatch(c -> c.endsWith("/w1")).anyMatch(c -> c.endsWith("/w2"));
  }

  // ---- item 6: a handler interrupted at the graceful deadline ------------------------------------

  enum Interrupted {
    THROWS_INTERRUPTED_EXCEPTION, WRAPS_IT, BLOCKED_IN_REQUEST, THROWS_BROOK_EXCEPTION
  }

  @ParameterizedTest
  @EnumSource(Interrupted.class)
  void anEntryWhoseHandlerTheStopInterruptedStaysPendingUncountedAndIsHandledOnceMoreAfterTheRestart(Interrupted shape) throws Exception {
    RedisBroker broker = broker(b -> b.gracefulTimeout(Duration.ofMillis(300)));
    broker.start();
    String name = "interrupted-" + shape.name().toLowerCase();
    List<Long> counts = new CopyOnWriteArrayList<>();
    CountDownLatch inHandler = new CountDownLatch(1);
    Subscription sub = broker.subscriber(stream(name).group("g").consumer("c")).handle(String.class, (s, ctx) -> {
      counts.add(ctx.deliveryCount());
      if (counts.size() == 1) {
        inHandler.countDown();
        block(shape, broker);
      }
      return null;
    });
    broker.publish("job", stream(name));
    assertThat(inHandler.await(10, TimeUnit.SECONDS)).isTrue();
    sub.stop();
    // Given back with its attempt undone: pending, count 0, no dead letter.
    await().atMost(Duration.ofSeconds(5)).until(() -> pendingCounts(name, "g").equals(List.of(0L)));
    assertThat(redis.command("EXISTS", "{" + name + "}:dlq")).isEqualTo(0L);
    sub.start();
    await().atMost(Duration.ofSeconds(10)).until(() -> counts.size() == 2);
    await().atMost(Duration.ofSeconds(5)).until(() -> pending(name, "g") == 0);
    assertThat(counts).containsExactly(1L, 1L);
    assertThat(redis.command("EXISTS", "{" + name + "}:dlq")).isEqualTo(0L);
    assertThat(sub.metrics().failed()).isZero();
  }

  private static void block(Interrupted shape, RedisBroker broker) throws Exception {
    CountDownLatch never = new CountDownLatch(1);
    switch (shape) {
      case THROWS_INTERRUPTED_EXCEPTION -> never.await();
      case WRAPS_IT -> {
        try {
          never.await();
        } catch (InterruptedException e) {
          throw new IllegalStateException("could not finish", e);
        }
      }
      case BLOCKED_IN_REQUEST -> broker.request("ping", channel("nobody-answers"), String.class, Duration.ofSeconds(60));
      case THROWS_BROOK_EXCEPTION -> {
        try {
          never.await();
        } catch (InterruptedException e) {
          throw new BrookException("gave up waiting");
        }
      }
    }
  }

  // ---- batches: what one read returned is one delivery -----------------------------------------

  @Test
  void aBatchSubscriptionGetsWhatOneReadReturnedInOneBatch() {
    RedisBroker broker = broker();
    broker.start();
    // Ten rounds: a read handed over one entry at a time splits the first batch only now and then.
    for (int round = 0; round < 10; round++) {
      String name = "batched" + round;
      publishInChunks(broker, payloads("b", 150), stream(name), 150);
      List<Integer> sizes = new CopyOnWriteArrayList<>();
      List<String> all = new CopyOnWriteArrayList<>();
      Subscription sub = broker.subscriber(stream(name).group("g").consumer("c").startFrom(StreamDestination.BEGINNING))
          .batch(100).handle(String.class, (List<String> items, MessageContext ctx) -> {
            if (sizes.isEmpty()) {
              // Let the consumer read the rest meanwhile (each read of up to 100 is handed over whole).
              await().atMost(Duration.ofSeconds(10)).until(() -> pending(name, "g") == 150);
            }
            sizes.add(items.size());
            all.addAll(items);
            return null;
          });
      await().atMost(Duration.ofSeconds(10)).until(() -> all.size() >= 150);
      assertThat(sizes).as("round %d", round).containsExactly(100, 50);
      assertThat(all).containsExactlyElementsOf(payloads("b", 150));
      sub.close();
    }
  }

  // ---- soak: random stops, starts and failures -------------------------------------------------

  @Test
  @Tag("soak")
  @Timeout(value = 20, unit = TimeUnit.MINUTES)
  void randomStopsStartsAndFailuresOnTwoIdsLoseNothingAndDuplicateOnlyWhatFailed() {
    for (long seed = 1; seed <= 5; seed++) {
      randomRun(seed, 20_000, 30);
      redis.command("FLUSHALL");
    }
  }

  /**
   * Two subscriptions on one group; entry i fails on its first attempt when i % 17 == 0 (NACK_ON_ERROR:
   * retried); random stops and starts of both. Every entry is handled, none dead-lettered, and only
   * those that failed ran more than once.
   */
  private void randomRun(long seed, int n, int restarts) {
    Random random = new Random(seed);
    Tally tally = new Tally();
    Set<String> failedOnce = ConcurrentHashMap.newKeySet();
    RedisBroker broker = broker();
    broker.start();
    String name = "soak" + seed;
    publishInChunks(broker, payloads("s", n), stream(name), 1_000);
    StreamDestination dest = stream(name).group("g").startFrom(StreamDestination.BEGINNING).maxDeliveries(5);
    List<Subscription> subs = new ArrayList<>();
    for (String id : List.of("s1", "s2")) {
      subs.add(broker.subscriber(dest).id(id).concurrency(1 + random.nextInt(8)).ackPolicy(AckPolicy.NACK_ON_ERROR)
          .handle(String.class, (s, ctx) -> {
            if (Integer.parseInt(s.substring(1)) % 17 == 0 && failedOnce.add(s)) {
              throw new IllegalStateException("first attempt of " + s);
            }
            if (random.nextInt(1000) == 0) {
              LockSupport.parkNanos(2_000_000);
            }
            tally.handled(s);
            return null;
          }));
    }
    for (int stopAt : stopPoints(seed, restarts, 0, n - n / 10)) {
      await().atMost(Duration.ofSeconds(60)).until(() -> tally.total.get() >= stopAt);
      Subscription s = subs.get(random.nextInt(subs.size()));
      s.stop();
      s.start();
    }
    await().atMost(Duration.ofMinutes(3)).until(() -> tally.runs.size() >= n);
    await().atMost(Duration.ofSeconds(10)).until(() -> pending(name, "g") == 0);
    assertThat(tally.runs).hasSize(n);
    assertThat(tally.twice()).as("handled twice without failing (seed %d)", seed).isEmpty();
    assertThat(redis.command("EXISTS", "{" + name + "}:dlq")).as("seed %d", seed).isEqualTo(0L);
    for (Subscription s : subs) {
      s.close();
    }
  }

  /** Redis' MONITOR on a socket of its own: every command the server runs, one line each. */
  private static final class Monitor implements AutoCloseable {
    private final Socket socket;
    private final List<String> lines = new CopyOnWriteArrayList<>();
    private final Thread reader;

    Monitor(int port) throws Exception {
      socket = new Socket("127.0.0.1", port);
      OutputStream out = socket.getOutputStream();
      out.write("MONITOR\r\n".getBytes(StandardCharsets.US_ASCII));
      out.flush();
      BufferedReader in = new BufferedReader(new InputStreamReader(socket.getInputStream(), StandardCharsets.ISO_8859_1));
      String ok = in.readLine();
      if (!"+OK".equals(ok)) {
        throw new IllegalStateException("MONITOR answered " + ok);
      }
      reader = Thread.ofVirtual().name("test-monitor").start(() -> {
        try {
          String line;
          while ((line = in.readLine()) != null) {
            lines.add(line);
          }
        } catch (java.io.IOException closed) {
          // the test closed the socket
        }
      });
    }

    Collection<String> lines() {
      return lines;
    }

    @Override
    public void close() throws Exception {
      socket.close();
      reader.join(Duration.ofSeconds(5));
    }
  }
}
