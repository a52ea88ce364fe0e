package dev.brook.bench;

import static dev.brook.redis.Redis.channel;
import static dev.brook.redis.Redis.list;
import static dev.brook.redis.Redis.stream;

import dev.brook.Destination;
import dev.brook.MessageContext;
import dev.brook.Subscription;
import dev.brook.redis.RedisBroker;
import dev.brook.redis.StreamDestination;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.SynchronousQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import org.HdrHistogram.Histogram;

/**
 * Brook's end-to-end scenarios against a Redis the caller started ({@code benchmarks/run.sh} also
 * runs the references — redis-benchmark, a hand-written Lettuce loop, Spring Data Redis — on the
 * same server, for the ratios). Producer and consumer are two brokers in this process.
 *
 * <ul>
 *   <li>{@code pubsub}: {@code publishAsync} pipelined (at most {@value #WINDOW} in flight) to one
 *       channel, one subscriber; a run that lost messages says so.
 *   <li>{@code list-batch}: {@code publishBatch} (100 per RPUSH) + a reliable {@code batch(100)}
 *       subscriber (one ack command per batch); nothing left in the processing list.
 *   <li>{@code stream-group}: {@code publishBatch} (100 pipelined XADDs) + a group {@code
 *       batch(100)} subscriber (one XACK per batch).
 *   <li>{@code ping-pong}: one message in flight; the server's handler returns the payload, which
 *       Brook publishes to the client's channel ({@code publishTo}). Round trips per second.
 *   <li>{@code request-reply}: {@code broker.request(...)} one at a time; round trips per second.
 *   <li>{@code latency-1k}, {@code latency-10k}: Pub/Sub publish → handler entry at a paced rate,
 *       measured from each message's scheduled send time (no coordinated omission).
 * </ul>
 *
 * <pre>
 * java -cp "$(cat benchmarks/target/classpath.txt):benchmarks/target/classes" dev.brook.bench.EndToEnd \
 *     redis://127.0.0.1:PORT list-batch 200000 100 3
 * </pre>
 */
public final class EndToEnd {

  /** Pub/Sub publishes in flight at most: enough to fill the pipe, few enough to leave Redis' buffers alone. */
  static final int WINDOW = 1_000;

  public static void main(String[] args) throws Exception {
    String url = args[0];
    String scenario = args[1];
    int n = Integer.parseInt(args[2]);
    int size = Integer.parseInt(args[3]);
    int runs = Integer.parseInt(args[4]);
    switch (scenario) {
      case "pubsub" -> Harness.throughput("brook", scenario, "msgs/s", n, size, runs, 50_000, (c, s, r) -> pubsub(url, c, s, r));
      case "list-batch", "stream-group" ->
          Harness.throughput("brook", scenario, "msgs/s", n, size, runs, 50_000, (c, s, r) -> batch(url, scenario, c, s, r));
      case "ping-pong" -> Harness.throughput("brook", scenario, "rt/s", n, size, runs, 2_000, (c, s, r) -> pingPong(url, c, s, r));
      case "request-reply" ->
          Harness.throughput("brook", scenario, "rt/s", n, size, runs, 2_000, (c, s, r) -> requestReply(url, c, s, r));
      case "latency-1k" -> latency(url, scenario, n, size, 1_000);
      case "latency-10k" -> latency(url, scenario, n, size, 10_000);
      case "consume" -> consume(url, n);
      default -> throw new IllegalArgumentException("Unknown scenario " + scenario
          + "; use pubsub, list-batch, stream-group, ping-pong, request-reply, latency-1k or latency-10k.");
    }
  }

  private static String name(String scenario, int run) {
    return "bench-" + scenario + "-" + run + "-" + System.nanoTime();
  }

  private static Harness.Run pubsub(String url, int n, int size, int run) throws Exception {
    Destination target = channel(name("pubsub", run));
    byte[] payload = Harness.payload(size);
    Counter received = new Counter(n);
    try (RedisBroker consumer = RedisBroker.create(url); RedisBroker producer = RedisBroker.create(url)) {
      consumer.subscriber(target).handle(byte[].class, (byte[] p, MessageContext ctx) -> received.add(1));
      consumer.start();
      producer.start();
      return Harness.measure(n, () -> {
        ArrayDeque<CompletableFuture<Void>> inFlight = new ArrayDeque<>(WINDOW);
        for (int i = 0; i < n; i++) {
          if (inFlight.size() == WINDOW) {
            inFlight.poll().join();
          }
          inFlight.add(producer.publishAsync(payload, target, Map.of()));
        }
        inFlight.forEach(CompletableFuture::join);
        return received.awaitAllOrQuiet();
      });
    }
  }

  private static Harness.Run batch(String url, String scenario, int n, int size, int run) throws Exception {
    String name = name(scenario, run);
    Destination target;
    Destination source;
    if (scenario.equals("list-batch")) {
      target = list(name);
      source = list(name).consumer("bench");
    } else {
      target = stream(name);
      source = stream(name).group("g").consumer("bench").startFrom(StreamDestination.BEGINNING);
    }
    List<byte[]> batch = Collections.nCopies(100, Harness.payload(size));
    Counter handled = new Counter(n);
    try (RedisBroker consumer = RedisBroker.create(url); RedisBroker producer = RedisBroker.create(url)) {
      Subscription sub = consumer.subscriber(source).batch(100).handle(byte[].class, (List<byte[]> items, MessageContext ctx) -> {
        handled.add(items.size());
        return null;
      });
      consumer.start();
      Harness.Run r = Harness.measure(n, () -> {
        for (int sent = 0; sent < n; sent += 100) {
          producer.publishBatch(batch, target);
        }
        if (handled.awaitAllOrQuiet() > 0) {
          throw new IllegalStateException("Only " + handled.count() + " of " + n + " handled: a reliable path lost messages");
        }
        return 0;
      });
      sub.close();
      return r;
    }
  }

  private static Harness.Run pingPong(String url, int n, int size, int run) throws Exception {
    Destination ping = channel(name("ping", run));
    Destination pong = channel(name("pong", run));
    byte[] payload = Harness.payload(size);
    SynchronousQueue<byte[]> replies = new SynchronousQueue<>();
    try (RedisBroker server = RedisBroker.create(url); RedisBroker client = RedisBroker.create(url)) {
      server.subscriber(ping).publishTo(pong).handle(byte[].class, (byte[] p, MessageContext ctx) -> p);
      client.subscriber(pong).handle(byte[].class, (byte[] p, MessageContext ctx) -> {
        replies.put(p);
        return null;
      });
      server.start();
      client.start();
      return Harness.measure(n, () -> {
        for (int i = 0; i < n; i++) {
          client.publish(payload, ping);
          if (replies.poll(5, TimeUnit.SECONDS) == null) {
            throw new IllegalStateException("No pong for ping " + i + " within 5 s");
          }
        }
        return 0;
      });
    }
  }

  private static Harness.Run requestReply(String url, int n, int size, int run) throws Exception {
    Destination service = channel(name("rpc", run));
    byte[] payload = Harness.payload(size);
    try (RedisBroker server = RedisBroker.create(url); RedisBroker client = RedisBroker.create(url)) {
      server.subscriber(service).handle(byte[].class, (byte[] p, MessageContext ctx) -> p);
      server.start();
      client.start();
      return Harness.measure(n, () -> {
        for (int i = 0; i < n; i++) {
          client.request(payload, service, byte[].class, Duration.ofSeconds(5));
        }
        return 0;
      });
    }
  }

  /**
   * Publishes n messages at {@code rate} per second, each carrying its scheduled send time; the
   * handler records now minus that time. The first tenth is warm-up and not recorded.
   */
  private static void latency(String url, String scenario, int n, int size, int rate) throws Exception {
    Destination target = channel(name(scenario, 0));
    Histogram histogram = new Histogram(TimeUnit.SECONDS.toNanos(10), 3);
    Counter received = new Counter(n);
    long interval = TimeUnit.SECONDS.toNanos(1) / rate;
    int warmup = n / 10;
    try (RedisBroker consumer = RedisBroker.create(url); RedisBroker producer = RedisBroker.create(url)) {
      consumer.subscriber(target).handle(byte[].class, (byte[] p, MessageContext ctx) -> {
        long now = System.nanoTime();
        ByteBuffer b = ByteBuffer.wrap(p);
        long scheduled = b.getLong(0);
        if (b.getLong(8) >= warmup) {
          synchronized (histogram) {
            histogram.recordValue(Math.min(histogram.getHighestTrackableValue(), Math.max(0, now - scheduled)));
          }
        }
        return received.add(1);
      });
      consumer.start();
      producer.start();
      long t0 = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(100);
      long switches0 = Harness.voluntarySwitches();
      long cpu0 = Harness.processCpuNanos();
      for (int i = 0; i < n; i++) {
        long at = t0 + i * interval;
        long wait;
        while ((wait = at - System.nanoTime()) > 0) {
          LockSupport.parkNanos(wait);
        }
        byte[] p = new byte[Math.max(16, size)];
        ByteBuffer.wrap(p).putLong(0, at).putLong(8, i);
        producer.publishAsync(p, target, Map.of());
      }
      long lost = received.awaitAllOrQuiet();
      Harness.paced("brook", scenario, n, switches0, cpu0);
      Harness.latency("brook", scenario, histogram.getValueAtPercentile(50) / 1e3, histogram.getValueAtPercentile(99) / 1e3,
          histogram.getValueAtPercentile(99.9) / 1e3, histogram.getMaxValue() / 1e3, lost);
    }
  }

  /**
   * The read path alone (issue 21's experiment, see {@code RawSocketPubSub#consume}): a channel
   * subscriber on {@code bench-consume}, {@code READY} once subscribed, then this process's CPU per
   * message while another process publishes (values that are no envelope: payloads as they are).
   */
  private static void consume(String url, int n) throws Exception {
    AtomicLong count = new AtomicLong();
    CountDownLatch first = new CountDownLatch(1);
    CountDownLatch all = new CountDownLatch(1);
    try (RedisBroker consumer = RedisBroker.create(url)) {
      consumer.subscriber(channel("bench-consume")).handle(byte[].class, (byte[] p, MessageContext ctx) -> {
        long c = count.incrementAndGet();
        if (c == 1) {
          first.countDown();
        } else if (c == n) {
          all.countDown();
        }
        return null;
      });
      consumer.start();
      System.out.println("READY");
      first.await();
      long cpu0 = Harness.processCpuNanos();
      long switches0 = Harness.voluntarySwitches();
      long t0 = System.nanoTime();
      if (!all.await(120, TimeUnit.SECONDS)) {
        throw new IllegalStateException("only " + count.get() + " of " + n + " messages arrived");
      }
      double seconds = (System.nanoTime() - t0) / 1e9;
      System.out.printf(java.util.Locale.ROOT, "CONSUME impl=brook n=%d msgs/s=%.0f cpu_us=%.2f switches=%.3f%n", n,
          (n - 1) / seconds, (Harness.processCpuNanos() - cpu0) / 1e3 / (n - 1),
          (double) (Harness.voluntarySwitches() - switches0) / (n - 1));
    }
  }

  /** Counts handled messages; waits until all arrived, or none arrived for 2 s (Pub/Sub may drop). */
  static final class Counter {
    private final long expected;
    private final AtomicLong count = new AtomicLong();
    private final CountDownLatch all = new CountDownLatch(1);

    Counter(long expected) {
      this.expected = expected;
    }

    Object add(int k) {
      if (count.addAndGet(k) >= expected) {
        all.countDown();
      }
      return null;
    }

    long count() {
      return count.get();
    }

    /** Returns how many never arrived. */
    long awaitAllOrQuiet() throws InterruptedException {
      long seen = -1;
      while (!all.await(2, TimeUnit.SECONDS)) {
        long now = count.get();
        if (now == seen) {
          return expected - now;
        }
        seen = now;
      }
      return 0;
    }
  }

  private EndToEnd() {}
}
