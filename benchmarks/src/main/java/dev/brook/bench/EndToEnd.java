package dev.brook.bench;

import static dev.brook.redis.Redis.list;
import static dev.brook.redis.Redis.stream;

import dev.brook.Destination;
import dev.brook.MessageContext;
import dev.brook.Subscription;
import dev.brook.redis.RedisBroker;
import dev.brook.redis.StreamDestination;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * End-to-end throughput of Brook's batch paths against a Redis the caller started (see
 * {@code benchmarks/run.sh}, which also measures redis-benchmark on the same server for the ratio).
 *
 * <p>Each run publishes N messages of the given size in batches of 100 (one RPUSH, or 100
 * pipelined XADDs) while a batch subscriber (up to 100 per handler call, one ack per batch) takes
 * them; the figure is messages per second from the first publish until the last is handled and
 * nothing is left pending. A warm-up run is discarded.
 *
 * <pre>
 * java -cp "$(cat benchmarks/target/classpath.txt):benchmarks/target/classes" dev.brook.bench.EndToEnd \
 *     redis://127.0.0.1:PORT list-batch 200000 100 3
 * </pre>
 */
public final class EndToEnd {

  public static void main(String[] args) throws Exception {
    String url = args[0];
    String scenario = args[1];
    int messages = Integer.parseInt(args[2]);
    int size = Integer.parseInt(args[3]);
    int runs = Integer.parseInt(args[4]);
    List<Double> rates = new ArrayList<>();
    for (int run = 0; run <= runs; run++) {
      double rate = run(url, scenario, run == 0 ? Math.min(messages, 50_000) : messages, size, run);
      if (run > 0) {
        rates.add(rate);
      }
    }
    Collections.sort(rates);
    System.out.printf("RESULT %s median=%.0f min=%.0f max=%.0f msgs/s%n", scenario, rates.get(rates.size() / 2),
        rates.get(0), rates.get(rates.size() - 1));
  }

  private static double run(String url, String scenario, int n, int size, int run) throws Exception {
    String name = "bench-" + scenario + "-" + run + "-" + System.nanoTime();
    Destination target;
    Destination source;
    switch (scenario) {
      case "list-batch" -> {
        target = list(name);
        source = list(name).consumer("bench");
      }
      case "stream-group" -> {
        target = stream(name);
        source = stream(name).group("g").consumer("bench").startFrom(StreamDestination.BEGINNING);
      }
      default -> throw new IllegalArgumentException("Unknown scenario " + scenario + "; use list-batch or stream-group.");
    }
    byte[] payload = new byte[size];
    Arrays.fill(payload, (byte) 'x');
    List<byte[]> batch = Collections.nCopies(100, payload);
    CountDownLatch done = new CountDownLatch(1);
    AtomicLong handled = new AtomicLong();
    try (RedisBroker consumer = RedisBroker.create(url); RedisBroker producer = RedisBroker.create(url)) {
      Subscription sub = consumer.subscriber(source).batch(100).handle(byte[].class, (List<byte[]> items, MessageContext ctx) -> {
        if (handled.addAndGet(items.size()) >= n) {
          done.countDown();
        }
        return null;
      });
      consumer.start();
      long t0 = System.nanoTime();
      for (int sent = 0; sent < n; sent += 100) {
        producer.publishBatch(batch, target);
      }
      if (!done.await(120, TimeUnit.SECONDS)) {
        throw new IllegalStateException("Only " + handled.get() + " of " + n + " handled in 120 s");
      }
      double seconds = (System.nanoTime() - t0) / 1e9;
      sub.close();
      double rate = n / seconds;
      System.out.printf("%s run %d: %d messages of %d bytes in %.2f s = %.0f msgs/s%s%n", scenario, run, n, size, seconds, rate,
          run == 0 ? " (warm-up, discarded)" : "");
      return rate;
    }
  }

  private EndToEnd() {}
}
