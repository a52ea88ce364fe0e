package dev.brook.tests;

import static dev.brook.redis.Redis.list;
import static dev.brook.redis.Redis.stream;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.brook.AckPolicy;
import dev.brook.Destination;
import dev.brook.MessageContext;
import dev.brook.Subscription;
import dev.brook.redis.RedisBroker;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Stop, start, replace and broker restarts at random moments (fixed seeds) while a reliable List
 * and a Stream group are consumed, with handlers that sometimes fail and sometimes are still busy
 * when a stop's graceful deadline interrupts them. Every message is accounted for exactly: handled
 * successfully once; run again only after a failure or an interrupt of its own (counted apart);
 * never lost, never dead-lettered without failing, and — without failures, one worker — never
 * reordered by a stop.
 *
 * <p>The default build runs two seeds per kind for a few seconds each; {@code -Psoak} adds the long
 * randomized runs ({@link #longRuns}).
 */
class ChaosTest extends RedisTestBase {

  /** What happened to each message, by payload. */
  static final class Ledger {
    final ConcurrentHashMap<String, AtomicInteger> successes = new ConcurrentHashMap<>();
    final ConcurrentHashMap<String, AtomicInteger> failures = new ConcurrentHashMap<>();
    final ConcurrentHashMap<String, AtomicInteger> interrupts = new ConcurrentHashMap<>();
    final ConcurrentHashMap<String, AtomicInteger> attempts = new ConcurrentHashMap<>();
    final List<String> successOrder = new CopyOnWriteArrayList<>();
    final AtomicInteger active = new AtomicInteger();
    final AtomicInteger maxActive = new AtomicInteger();

    static void inc(ConcurrentHashMap<String, AtomicInteger> m, String k) {
      m.computeIfAbsent(k, x -> new AtomicInteger()).incrementAndGet();
    }

    static int get(ConcurrentHashMap<String, AtomicInteger> m, String k) {
      AtomicInteger v = m.get(k);
      return v == null ? 0 : v.get();
    }
  }

  private record Run(String kind, long seed, int messages, double failRate, double slowRate, long chaosMillis) {}

  @ParameterizedTest(name = "{0} seed {1}")
  @CsvSource({
      "list, 11, 0.00, 0.00",
      "list, 12, 0.03, 0.01",
      "stream, 21, 0.00, 0.00",
      "stream, 22, 0.03, 0.01",
  })
  void randomStopsStartsAndReplacesLoseAndDuplicateNothing(String kind, long seed, double failRate, double slowRate)
      throws Exception {
    run(new Run(kind, seed, 1_500, failRate, slowRate, 4_000));
  }

  @Tag("soak")
  @ParameterizedTest(name = "{0} seed {1}")
  @CsvSource({
      "list, 101", "list, 102", "list, 103", "list, 104",
      "stream, 201", "stream, 202", "stream, 203", "stream, 204",
  })
  void longRuns(String kind, long seed) throws Exception {
    run(new Run(kind, seed, 20_000, 0.02, 0.005, 60_000));
    run(new Run(kind, seed + 1000, 10_000, 0.0, 0.0, 30_000));
  }

  private void run(Run run) throws Exception {
    String name = "chaos-" + run.kind() + "-" + run.seed();
    Destination destination = run.kind().equals("list")
        ? list(name).deadLetter().maxDeliveries(1_000)
        : stream(name).group("g").maxDeliveries(1_000);
    RedisBroker broker = broker(b -> b.gracefulTimeout(Duration.ofMillis(150)));
    Ledger ledger = new Ledger();
    SplittableRandom handlerRandom = new SplittableRandom(run.seed());
    // Each message's fate per attempt is fixed by the seed: fail, be slow (interrupted by a stop), or pass.
    ConcurrentHashMap<String, Integer> fate = new ConcurrentHashMap<>();

    dev.brook.Handler<String> handler = (payload, ctx) -> handle(run, ledger, fate, handlerRandom, payload, ctx);
    AtomicReference<Subscription> live = new AtomicReference<>(register(broker, destination, handler));
    broker.start();

    AtomicBoolean publishing = new AtomicBoolean(true);
    Thread publisher = Thread.ofPlatform().name("chaos-publisher").start(() -> {
      List<String> batch = new ArrayList<>();
      for (int i = 0; i < run.messages(); i++) {
        batch.add(String.format("m%06d", i));
        if (batch.size() == 50 || i == run.messages() - 1) {
          broker.publishBatch(batch, destination);
          batch.clear();
        }
      }
      publishing.set(false);
    });

    SplittableRandom chaos = new SplittableRandom(run.seed() * 31 + 7);
    long until = System.nanoTime() + run.chaosMillis() * 1_000_000;
    int ops = 0;
    while (System.nanoTime() < until) {
      Thread.sleep(20 + chaos.nextInt(120));
      switch (chaos.nextInt(4)) {
        case 0 -> {
          live.get().stop();
          Thread.sleep(chaos.nextInt(30));
          live.get().start();
        }
        case 1 -> live.set(register(broker, destination, handler)); // REPLACE, as a re-run cell does
        case 2 -> {
          broker.stop();
          Thread.sleep(chaos.nextInt(30));
          broker.start();
        }
        default -> { }
      }
      ops++;
    }
    publisher.join();
    await().atMost(Duration.ofSeconds(60)).until(() -> ledger.successes.size() == run.messages());
    // Let the last settlements reach Redis, then compare.
    await().atMost(Duration.ofSeconds(10)).until(() -> settledInRedis(run, name));

    List<String> lost = new ArrayList<>();
    List<String> duplicated = new ArrayList<>();
    List<String> unexplained = new ArrayList<>();
    for (int i = 0; i < run.messages(); i++) {
      String p = String.format("m%06d", i);
      int ok = Ledger.get(ledger.successes, p);
      if (ok == 0) lost.add(p);
      if (ok > 1) duplicated.add(p);
      int explained = ok + Ledger.get(ledger.failures, p) + Ledger.get(ledger.interrupts, p);
      if (Ledger.get(ledger.attempts, p) != explained) unexplained.add(p);
    }
    String summary = String.format("CHAOS %s seed %d: %d messages, %d chaos ops, %d failures, %d interrupts, %d attempts",
        run.kind(), run.seed(), run.messages(), ops, sum(ledger.failures), sum(ledger.interrupts), sum(ledger.attempts));
    System.out.println(summary);
    assertThat(lost).as("lost; " + summary).isEmpty();
    assertThat(duplicated).as("handled successfully twice; " + summary).isEmpty();
    assertThat(unexplained).as("attempts without a failure or interrupt to explain them; " + summary).isEmpty();
    assertThat(ledger.maxActive.get()).as("handlers of one id running at once").isEqualTo(1);
    assertThat(deadLetters(run, name)).as("dead letters without a handler giving up; " + summary).isZero();
    if (run.failRate() == 0 && run.slowRate() == 0) {
      assertThat(inversions(ledger.successOrder)).as("order inversions; " + summary).isZero();
    }
  }

  private static Subscription register(RedisBroker broker, Destination destination, dev.brook.Handler<String> handler) {
    return broker.subscriber(destination).id("chaos").ackPolicy(AckPolicy.NACK_ON_ERROR).handle(String.class, handler);
  }

  private static Object handle(Run run, Ledger ledger, ConcurrentHashMap<String, Integer> fate, SplittableRandom random,
      String payload, MessageContext ctx) throws Exception {
    int now = ledger.active.incrementAndGet();
    ledger.maxActive.accumulateAndGet(now, Math::max);
    try {
      int attempt = ledger.attempts.computeIfAbsent(payload, k -> new AtomicInteger()).incrementAndGet();
      int f = fate.computeIfAbsent(payload + "#" + attempt, k -> {
        double r;
        synchronized (random) {
          r = random.nextDouble();
        }
        return r < run.failRate() ? 1 : r < run.failRate() + run.slowRate() ? 2 : 0;
      });
      if (f == 1) {
        Ledger.inc(ledger.failures, payload);
        throw new IllegalStateException("chaos: attempt " + attempt + " of " + payload + " fails");
      }
      if (f == 2) {
        try {
          Thread.sleep(2_000); // a stop's graceful deadline (150 ms) interrupts it, or it just passes slowly
        } catch (InterruptedException e) {
          Ledger.inc(ledger.interrupts, payload);
          throw e;
        }
      }
      Ledger.inc(ledger.successes, payload);
      ledger.successOrder.add(payload);
      return null;
    } finally {
      ledger.active.decrementAndGet();
    }
  }

  private boolean settledInRedis(Run run, String name) {
    if (run.kind().equals("list")) {
      return ((Long) redis.command("LLEN", name)) == 0 && ((List<?>) redis.command("KEYS", "{" + name + "}:processing:*")).isEmpty();
    }
    List<?> pending = (List<?>) redis.command("XPENDING", name, "g");
    return ((Long) pending.get(0)) == 0;
  }

  private long deadLetters(Run run, String name) {
    String dlq = "{" + name + "}:dlq";
    return run.kind().equals("list") ? (Long) redis.command("LLEN", dlq) : (Long) redis.command("XLEN", dlq);
  }

  private static long sum(ConcurrentHashMap<String, AtomicInteger> m) {
    return m.values().stream().mapToLong(AtomicInteger::get).sum();
  }

  /** Pairs handled in the opposite order of publishing, counted between neighbours. */
  private static long inversions(List<String> order) {
    long n = 0;
    for (int i = 1; i < order.size(); i++) {
      if (order.get(i).compareTo(order.get(i - 1)) < 0) n++;
    }
    return n;
  }
}
