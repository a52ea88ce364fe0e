package dev.brook.bench;

import static dev.brook.redis.Redis.stream;

import dev.brook.redis.RedisBroker;
import dev.brook.redis.StreamDestination;
import dev.brook.testing.RedisCluster;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * One logical stream, 16 partitions, on a Redis Cluster of 1 master and of 3 masters (no replicas;
 * private redis-server processes): end-to-end messages per second (publish in pipelined batches,
 * consume with one group member) and the ratio. Plain Java, not JMH: each round moves whole
 * messages through Redis. Four threads publish batches of 1,000 (each a pipeline of XADDs, routed
 * round-robin over the partitions, so over the masters); one member (4 handler workers) consumes.
 * Also prints each master's CPU use during a round ({@code INFO cpu}): how the Redis work splits.
 *
 * <pre>{@code benchmarks/partitions.sh [messages per round] [rounds]}</pre>
 */
public final class PartitionBenchmark {

  private static final int PARTITIONS = 16;
  private static final int BATCH = 1_000;
  /** Publishing threads, each sending one batch (pipelined XADDs) at a time. */
  private static final int PRODUCERS = 4;

  public static void main(String[] args) throws Exception {
    int messages = args.length > 0 ? Integer.parseInt(args[0]) : 200_000;
    int rounds = args.length > 1 ? Integer.parseInt(args[1]) : 3;
    System.out.printf("# %d cores, %s; %d partitions, %d messages per round, %d rounds after a warm-up%n",
        Runtime.getRuntime().availableProcessors(), Runtime.version(), PARTITIONS, messages, rounds);
    // Both clusters at once, warmed up both, then their rounds alternate: neither gets a warmer JIT.
    try (RedisCluster one = RedisCluster.builder().masters(1).replicasPerMaster(0).start();
        RedisCluster three = RedisCluster.builder().masters(3).replicasPerMaster(0).start()) {
      RedisCluster[] clusters = {one, three};
      List<List<Double>> rates = List.of(new ArrayList<>(), new ArrayList<>());
      for (int c = 0; c < 2; c++) {
        run(clusters[c].url(), Math.max(20_000, messages / 2), (c == 0 ? 1 : 3) + "m-warmup");
      }
      List<List<Double>> busiest = List.of(new ArrayList<>(), new ArrayList<>());
      for (int r = 0; r < rounds; r++) {
        for (int c = 0; c < 2; c++) {
          double[] before = cpu(clusters[c]);
          long start = System.nanoTime();
          rates.get(c).add(run(clusters[c].url(), messages, (c == 0 ? 1 : 3) + "m-round" + r));
          double seconds = (System.nanoTime() - start) / 1e9;
          double[] after = cpu(clusters[c]);
          double max = 0;
          StringBuilder each = new StringBuilder();
          for (int i = 0; i < after.length; i++) {
            double share = (after[i] - before[i]) / seconds;
            max = Math.max(max, share);
            each.append(String.format(Locale.ROOT, " %.0f%%", share * 100));
          }
          busiest.get(c).add(max);
          System.out.println("    CPU of each master while the round ran:" + each);
        }
      }
      double[] median = new double[2];
      for (int c = 0; c < 2; c++) {
        List<Double> sorted = new ArrayList<>(rates.get(c));
        sorted.sort(null);
        median[c] = sorted.get(sorted.size() / 2);
        List<Double> cpu = new ArrayList<>(busiest.get(c));
        cpu.sort(null);
        System.out.printf(Locale.ROOT, "%d master(s): %,.0f msgs/s (median of %s); busiest master %.0f%% of a core%n",
            c == 0 ? 1 : 3, median[c], rates.get(c).stream().map(x -> String.format(Locale.ROOT, "%,.0f", x)).toList(),
            cpu.get(cpu.size() / 2) * 100);
      }
      System.out.printf(Locale.ROOT, "ratio 3 masters / 1 master: %.2f%n", median[1] / median[0]);
    }
  }

  /** CPU seconds (user + system, {@code INFO cpu}) each master has used so far. */
  private static double[] cpu(RedisCluster cluster) {
    List<dev.brook.testing.RedisServer> masters = cluster.masters();
    double[] out = new double[masters.size()];
    for (int i = 0; i < out.length; i++) {
      String info = String.valueOf(masters.get(i).command("INFO", "cpu"));
      for (String line : info.split("\r?\n")) {
        if (line.startsWith("used_cpu_user:") || line.startsWith("used_cpu_sys:")) {
          out[i] += Double.parseDouble(line.substring(line.indexOf(':') + 1).trim());
        }
      }
    }
    return out;
  }

  /** Publishes {@code n} messages in pipelined batches and waits until one member consumed them all; msgs/s. */
  private static double run(String url, int n, String name) throws Exception {
    StreamDestination dest = stream("bench-" + name).partitions(PARTITIONS).maxLen(0);
    AtomicLong consumed = new AtomicLong();
    CountDownLatch done = new CountDownLatch(1);
    try (RedisBroker consumer = RedisBroker.create(url); RedisBroker producer = RedisBroker.create(url)) {
      consumer.subscriber(dest.group("g").leaseTime(Duration.ofSeconds(10))).concurrency(4)
          .handle(byte[].class, (body, ctx) -> {
            if (consumed.incrementAndGet() == n) {
              done.countDown();
            }
            return null;
          });
      consumer.start();
      producer.start();
      byte[] payload = new byte[64];
      List<byte[]> batch = new ArrayList<>(BATCH);
      for (int i = 0; i < BATCH; i++) {
        batch.add(payload);
      }
      AtomicLong next = new AtomicLong();
      long start = System.nanoTime();
      List<Thread> producers = new ArrayList<>();
      for (int t = 0; t < PRODUCERS; t++) {
        producers.add(Thread.ofVirtual().start(() -> {
          long from;
          while ((from = next.getAndAdd(BATCH)) < n) {
            producer.publishBatch(from + BATCH <= n ? batch : batch.subList(0, (int) (n - from)), dest);
          }
        }));
      }
      for (Thread t : producers) {
        t.join();
      }
      long published = System.nanoTime();
      if (!done.await(5, TimeUnit.MINUTES)) {
        throw new IllegalStateException("consumed only " + consumed.get() + " of " + n);
      }
      long end = System.nanoTime();
      double rate = n / ((end - start) / 1e9);
      System.out.printf(Locale.ROOT, "  %s: %,d in %d ms end to end (published in %d ms): %,.0f msgs/s%n", name, n,
          TimeUnit.NANOSECONDS.toMillis(end - start), TimeUnit.NANOSECONDS.toMillis(published - start), rate);
      return rate;
    }
  }

  private PartitionBenchmark() {}
}
