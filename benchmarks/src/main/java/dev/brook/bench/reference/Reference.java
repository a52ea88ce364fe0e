package dev.brook.bench.reference;

import dev.brook.bench.Harness;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.FutureTask;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import org.HdrHistogram.ConcurrentHistogram;
import org.HdrHistogram.Histogram;

/** What the reference implementations ({@link LettuceLoop}, {@link SpringDataRedis}) share: arguments, counting, pacing. */
final class Reference {

  static final int BATCH = 100;
  /** Pub/Sub is not reliable: a run ends when no message arrived for this long. */
  static final Duration QUIET = Duration.ofSeconds(2);
  /** Reliable paths must deliver everything: a run fails when nothing was handled for this long. */
  static final Duration STALL = Duration.ofSeconds(30);
  static final Duration REPLY_TIMEOUT = Duration.ofSeconds(5);

  /** One run of a scenario with fresh names; returns what {@link Harness#measure} measured. */
  @FunctionalInterface
  interface RunFn {
    Harness.Run run(String url, String name, int n, int size) throws Exception;
  }

  /** {@code main(url, scenario, n, size, runs)}. */
  record Args(String url, String scenario, int n, int size, int runs) {

    static Args parse(Class<?> main, String[] args, List<String> scenarios) {
      String usage = "Usage: " + main.getName() + " <redis-url> <scenario> <messages> <size> <runs>; scenarios: "
          + String.join(", ", scenarios);
      if (args.length != 5) {
        throw new IllegalArgumentException(usage);
      }
      if (!scenarios.contains(args[1])) {
        throw new IllegalArgumentException("Unknown scenario '" + args[1] + "'. " + usage);
      }
      return new Args(args[0], args[1], Integer.parseInt(args[2]), Integer.parseInt(args[3]), Integer.parseInt(args[4]));
    }

    /** A throughput scenario in messages per second. */
    void messages(String impl, RunFn fn) throws Exception {
      throughput(impl, "msgs/s", 50_000, fn);
    }

    /** A one-in-flight scenario in round trips per second. */
    void roundTrips(String impl, RunFn fn) throws Exception {
      throughput(impl, "rt/s", 2_000, fn);
    }

    private void throughput(String impl, String unit, int warmup, RunFn fn) throws Exception {
      Harness.throughput(impl, scenario, unit, n, size, runs, warmup, (count, sz, run) -> fn.run(url, name(run), count, sz));
    }

    /** Fresh key / channel name for one run. */
    String name(int run) {
      return "bench-ref-" + scenario + "-" + run + "-" + System.nanoTime();
    }
  }

  /** Counts deliveries (callable from any thread) and waits for them. */
  static final class Delivery {
    private final long expected;
    private final AtomicLong count = new AtomicLong();
    private final CountDownLatch all = new CountDownLatch(1);

    Delivery(long expected) {
      this.expected = expected;
    }

    void add(long messages) {
      if (count.addAndGet(messages) >= expected) {
        all.countDown();
      }
    }

    /** Waits until all arrived or none arrived for {@code quiet}; returns how many never arrived. */
    long awaitLost(Duration quiet) throws InterruptedException {
      long seen = count.get();
      while (!all.await(quiet.toNanos(), TimeUnit.NANOSECONDS)) {
        long now = count.get();
        if (now == seen) {
          break;
        }
        seen = now;
      }
      return expected - count.get();
    }

    /** Like {@link #awaitLost} with {@link #STALL}, for reliable paths: fails instead of reporting a loss. */
    void awaitAll() throws InterruptedException {
      long lost = awaitLost(STALL);
      if (lost > 0) {
        throw new IllegalStateException((expected - lost) + " of " + expected + " handled, then nothing for " + STALL);
      }
    }
  }

  /** Fails a reliable consumer loop that made no progress for {@link #STALL}. */
  static void checkStall(long lastProgressNanos, long handled, long n) {
    if (System.nanoTime() - lastProgressNanos > STALL.toNanos()) {
      throw new IllegalStateException(handled + " of " + n + " handled, then nothing for " + STALL);
    }
  }

  /** Runs {@code producer} on its own thread and {@code consumer} on this one; rethrows the first failure. */
  static void concurrently(Callable<?> producer, Callable<?> consumer) throws Exception {
    FutureTask<?> produced = new FutureTask<>(producer);
    Thread.ofPlatform().name("bench-producer").start(produced);
    consumer.call();
    produced.get();
  }

  /** {@code n} round trips, one in flight: send, then wait for the reply. */
  static long roundTrips(int n, Callable<?> send, BlockingQueue<byte[]> replies) throws Exception {
    for (int i = 0; i < n; i++) {
      send.call();
      if (replies.poll(REPLY_TIMEOUT.toNanos(), TimeUnit.NANOSECONDS) == null) {
        throw new IllegalStateException("No reply to round trip " + i + " within " + REPLY_TIMEOUT);
      }
    }
    return 0;
  }

  /**
   * Paced Pub/Sub latency: message i is due at {@code t0 + i * interval} and carries that due time
   * (8 bytes, {@link System#nanoTime}); the receiver records {@code now - due}, so a publisher that
   * falls behind is charged for it (no coordinated omission). The first 10% are warm-up.
   */
  static final class Latency {
    private static final long HIGHEST = TimeUnit.MINUTES.toNanos(1);
    private final Histogram histogram = new ConcurrentHistogram(HIGHEST, 3);
    private final int n;
    private final long interval;
    private final Delivery delivery;
    private volatile long recordFrom = Long.MAX_VALUE;

    Latency(int n, int perSecond) {
      this.n = n;
      this.interval = TimeUnit.SECONDS.toNanos(1) / perSecond;
      this.delivery = new Delivery(n);
    }

    /** The receiver's callback (any thread). */
    void received(byte[] body) {
      long due = ByteBuffer.wrap(body).getLong();
      long latency = System.nanoTime() - due;
      if (due >= recordFrom) {
        histogram.recordValue(Math.min(latency, HIGHEST));
      }
      delivery.add(1);
    }

    /** Publishes the {@code n} messages on schedule, waits for them and prints the RESULT line. */
    void run(String impl, String scenario, int size, Publisher publish) throws Exception {
      byte[] payload = Harness.payload(Math.max(size, Long.BYTES));
      long t0 = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(10);
      recordFrom = t0 + (n / 10) * interval;
      long switches0 = Harness.voluntarySwitches();
      long cpu0 = Harness.processCpuNanos();
      for (int i = 0; i < n; i++) {
        long due = t0 + i * interval;
        for (long wait; (wait = due - System.nanoTime()) > 0; ) {
          LockSupport.parkNanos(wait);
        }
        byte[] message = payload.clone();
        ByteBuffer.wrap(message).putLong(due);
        publish.call(message);
      }
      long lost = delivery.awaitLost(QUIET);
      Harness.paced(impl, scenario, n, switches0, cpu0);
      Harness.latency(impl, scenario, micros(histogram.getValueAtPercentile(50)), micros(histogram.getValueAtPercentile(99)),
          micros(histogram.getValueAtPercentile(99.9)), micros(histogram.getMaxValue()), lost);
    }

    private static double micros(long nanos) {
      return nanos / 1e3;
    }
  }

  /** Publishes one message. */
  @FunctionalInterface
  interface Publisher {
    void call(byte[] message) throws Exception;
  }

  private Reference() {}
}
