package dev.brook.bench;

import static dev.brook.redis.Redis.list;

import dev.brook.Backoff;
import dev.brook.MessageContext;
import dev.brook.PublishOptions;
import dev.brook.PublishResult;
import dev.brook.Subscription;
import dev.brook.redis.ListDestination;
import dev.brook.redis.RedisBroker;
import io.lettuce.core.RedisClient;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.sync.RedisCommands;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;

/**
 * Brook's side of {@code benchmarks/jobs.sh} (issue 19): job-queue work that {@code
 * benchmarks/bullmq/jobs.js} does with BullMQ on the same redis-server, in the same script run.
 * Every job carries a unique id (0 … n−1); the handler records it, so lost and duplicated jobs are
 * counted exactly (a retried job counts once: when it succeeds). Producer and worker are two
 * brokers in this process, on the public API only ({@code list(...).consumer(...)}: reliable
 * consumption through a processing list).
 *
 * <ul>
 *   <li>{@code drain n c}: n jobs queued first ({@code publishBatch}, 1,000 per call), then one
 *       subscription at {@code concurrency(c)} drains them with a no-op handler; jobs/s from its
 *       start to the last handler call.
 *   <li>{@code retry n c backoffMs} (scenario {@code retry-c<c>-<backoffMs>ms}): the same, but each
 *       job's first attempt throws and its second succeeds, with {@code
 *       retry(Backoff.fixed(backoffMs))}: completed jobs/s.
 *   <li>{@code delayed rate seconds minMs maxMs c}: {@code rate} jobs/s for {@code seconds}, each
 *       published with {@code PublishOptions.delay(d)}, d from minMs to maxMs (the same
 *       pseudo-random sequence as the BullMQ side); lateness = handler entry − (scheduled send
 *       time + d), the first tenth left out as warm-up ({@code max_all}: the maximum with it).
 *   <li>{@code promote n c dueMs}: n jobs published with {@code PublishOptions.at(due)}, all due
 *       at the same instant dueMs after the start; jobs/s from the due time (or the end of the
 *       publishing, if later) to the last handler call: promotion throughput.
 * </ul>
 *
 * <p>Each prints one {@code RESULT} line (read by {@link JobsReport}) and one {@code COMMANDS}
 * line. Redis cost is measured on the server: {@code INFO cpu} (used_cpu_sys + used_cpu_user)
 * and {@code INFO commandstats} (calls, summed over commands, including those run inside Lua
 * scripts) before the first publish and once every job has been settled in Redis, divided by the
 * jobs; {@code client_cpu_us} is this process's CPU time over the same span per job.
 *
 * <pre>
 * java -cp "$(cat benchmarks/target/classpath.txt):benchmarks/target/classes" dev.brook.bench.Jobs \
 *     redis://127.0.0.1:PORT drain 50000 50
 * </pre>
 */
public final class Jobs {

  public static void main(String[] args) throws Exception {
    String url = args[0];
    String scenario = args[1];
    int[] a = Arrays.stream(args, 2, args.length).mapToInt(Integer::parseInt).toArray();
    try (RedisClient client = RedisClient.create(url); StatefulRedisConnection<String, String> conn = client.connect()) {
      RedisCommands<String, String> redis = conn.sync();
      switch (scenario) {
        case "drain" -> drain(url, redis, a[0], a[1], 0, "drain-c" + a[1]);
        case "retry" -> drain(url, redis, a[0], a[1], a[2], "retry-c" + a[1] + "-" + a[2] + "ms");
        case "delayed" -> delayed(url, redis, a[0], a[1], a[2], a[3], a[4]);
        case "promote" -> promote(url, redis, a[0], a[1], a[2]);
        default -> throw new IllegalArgumentException("Unknown scenario " + scenario + "; use drain, retry, delayed or promote.");
      }
    }
    // Lettuce's and Netty's non-daemon threads are gone with the brokers; nothing else to wait for.
  }

  /** Drain (backoffMs == 0: no failures) or retry (every job fails once, then succeeds). */
  private static void drain(String url, RedisCommands<String, String> redis, int n, int concurrency, int backoffMs, String scenario)
      throws Exception {
    boolean retry = scenario.startsWith("retry");
    String name = "jobs-" + scenario;
    ListDestination source = list(name).consumer("bench");
    Ids ids = new Ids(n);
    AtomicIntegerArray attempts = new AtomicIntegerArray(n);
    Start start = Start.now(redis);
    try (RedisBroker producer = RedisBroker.create(url); RedisBroker consumer = RedisBroker.create(url)) {
      producer.start();
      List<byte[]> chunk = new ArrayList<>(1_000);
      for (int i = 0; i < n; i++) {
        chunk.add(Integer.toString(i).getBytes(StandardCharsets.US_ASCII));
        if (chunk.size() == 1_000 || i == n - 1) {
          producer.publishBatch(chunk, list(name));
          chunk.clear();
        }
      }
      var builder = consumer.subscriber(source).concurrency(concurrency);
      if (retry) {
        builder = builder.retry(Backoff.fixed(Duration.ofMillis(backoffMs)));
      }
      Subscription sub = builder.handle(byte[].class, (byte[] p, MessageContext ctx) -> {
        int id = Integer.parseInt(new String(p, StandardCharsets.US_ASCII));
        if (retry && attempts.incrementAndGet(id) == 1) {
          throw new IllegalStateException("job " + id + ": the first attempt fails");
        }
        ids.done(id);
        return null;
      });
      long t0 = System.nanoTime();
      consumer.start();
      ids.await(Duration.ofSeconds(300));
      double seconds = (ids.lastNanos() - t0) / 1e9;
      start.finish(redis, scenario, source, sub, ids, String.format(Locale.ROOT, "unit=jobs/s rate=%.0f", n / seconds));
    }
  }

  /** Paced delayed publishes; lateness of each handler call behind its job's due time. */
  private static void delayed(String url, RedisCommands<String, String> redis, int rate, int seconds, int minMs, int maxMs,
      int concurrency) throws Exception {
    int n = rate * seconds;
    String name = "jobs-delayed";
    ListDestination source = list(name).consumer("bench");
    Ids ids = new Ids(n);
    double[] lateness = new double[n]; // ms; written once per id by the handler
    int warmup = n / 10;
    long interval = TimeUnit.SECONDS.toNanos(1) / rate;
    Start start = Start.now(redis);
    try (RedisBroker producer = RedisBroker.create(url); RedisBroker consumer = RedisBroker.create(url)) {
      // Times are this JVM's monotonic clock in µs from t0; a job carries its due time in it.
      long t0 = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(200);
      Subscription sub = consumer.subscriber(source).concurrency(concurrency).handle(byte[].class, (byte[] p, MessageContext ctx) -> {
        long now = (System.nanoTime() - t0) / 1_000;
        String[] f = new String(p, StandardCharsets.US_ASCII).split(":");
        int id = Integer.parseInt(f[0]);
        lateness[id] = (now - Long.parseLong(f[1])) / 1e3;
        ids.done(id);
        return null;
      });
      consumer.start();
      producer.start();
      XorShift delays = new XorShift();
      ArrayDeque<CompletableFuture<PublishResult>> inFlight = new ArrayDeque<>();
      for (int i = 0; i < n; i++) {
        long at = t0 + i * interval;
        long wait;
        while ((wait = at - System.nanoTime()) > 0) {
          LockSupport.parkNanos(wait);
        }
        int delay = delays.between(minMs, maxMs);
        long due = (at - t0) / 1_000 + delay * 1_000L;
        byte[] p = (i + ":" + due).getBytes(StandardCharsets.US_ASCII);
        inFlight.add(producer.publishAsync(p, list(name), Map.of(), PublishOptions.delay(Duration.ofMillis(delay))));
        while (!inFlight.isEmpty() && inFlight.peek().isDone()) {
          inFlight.poll().join();
        }
      }
      inFlight.forEach(CompletableFuture::join);
      ids.await(Duration.ofSeconds(seconds + maxMs / 1000 + 60));
      String dump = System.getProperty("jobs.dump");
      if (dump != null) { // one line per job: id, due (ms after the start), lateness (ms); for looking into a run
        StringBuilder sb = new StringBuilder();
        XorShift again = new XorShift();
        for (int i = 0; i < n; i++) {
          sb.append(i).append(' ').append(i * 1000.0 / rate + again.between(minMs, maxMs)).append(' ').append(lateness[i]).append('\n');
        }
        java.nio.file.Files.writeString(java.nio.file.Path.of(dump), sb);
      }
      double[] measured = new double[n - warmup];
      int k = 0;
      double maxAll = Double.NEGATIVE_INFINITY;
      for (int i = 0; i < n; i++) {
        if (ids.count(i) > 0) {
          maxAll = Math.max(maxAll, lateness[i]);
          if (i >= warmup) {
            measured[k++] = lateness[i];
          }
        }
      }
      start.finish(redis, "delayed", source, sub, ids, percentiles(Arrays.copyOf(measured, k)) + String.format(Locale.ROOT, " max_all=%.1f", maxAll));
    }
  }

  /** n jobs all due at one instant: how fast they are promoted and handled. */
  private static void promote(String url, RedisCommands<String, String> redis, int n, int concurrency, int dueMs) throws Exception {
    String name = "jobs-promote";
    ListDestination source = list(name).consumer("bench");
    Ids ids = new Ids(n);
    Start start = Start.now(redis);
    try (RedisBroker producer = RedisBroker.create(url); RedisBroker consumer = RedisBroker.create(url)) {
      long dueNanos = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(dueMs);
      PublishOptions at = PublishOptions.at(Instant.now().plusMillis(dueMs));
      AtomicLong early = new AtomicLong(); // handled more than 1 ms before the due time: a bug
      Subscription sub = consumer.subscriber(source).concurrency(concurrency).handle(byte[].class, (byte[] p, MessageContext ctx) -> {
        if (System.nanoTime() - dueNanos < -1_000_000) {
          early.incrementAndGet();
        }
        ids.done(Integer.parseInt(new String(p, StandardCharsets.US_ASCII)));
        return null;
      });
      consumer.start();
      producer.start();
      long t0 = System.nanoTime();
      ArrayDeque<CompletableFuture<PublishResult>> inFlight = new ArrayDeque<>();
      for (int i = 0; i < n; i++) {
        if (inFlight.size() == 1_000) {
          inFlight.poll().join();
        }
        inFlight.add(producer.publishAsync(Integer.toString(i).getBytes(StandardCharsets.US_ASCII), list(name), Map.of(), at));
      }
      inFlight.forEach(CompletableFuture::join);
      long published = System.nanoTime();
      ids.await(Duration.ofSeconds(dueMs / 1000 + 120));
      double seconds = (ids.lastNanos() - Math.max(dueNanos, published)) / 1e9;
      start.finish(redis, "promote", source, sub, ids, String.format(Locale.ROOT,
          "unit=jobs/s rate=%.0f publish_ms=%d late_publish=%d early=%d", n / seconds, (published - t0) / 1_000_000,
          published > dueNanos ? 1 : 0, early.get()));
    }
  }

  /** Waits until the queue, the processing list and the delayed set are empty: every job settled in Redis. */
  private static void settle(RedisCommands<String, String> redis, String name, String processingKey) throws InterruptedException {
    String delayed = "{" + name + "}:delayed";
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (redis.llen(name) + redis.llen(processingKey) + redis.zcard(delayed) > 0) {
      if (System.nanoTime() > deadline) {
        System.out.printf("WARN not settled after 30 s: queue %d, processing %d, delayed %d%n", redis.llen(name), redis.llen(processingKey),
            redis.zcard(delayed));
        return;
      }
      Thread.sleep(10);
    }
  }

  /** Redis' and this process's counters when a scenario begins, before its first publish. */
  private record Start(Server server, long cpuNanos) {

    static Start now(RedisCommands<String, String> redis) {
      return new Start(Server.snapshot(redis), Harness.processCpuNanos());
    }

    /**
     * Once every job is settled in Redis: the counters' deltas, then half a second more with the
     * worker running (a late duplicate is counted too), then the {@code RESULT} line.
     */
    void finish(RedisCommands<String, String> redis, String scenario, ListDestination source, Subscription sub, Ids ids, String figures)
        throws InterruptedException {
      settle(redis, source.name(), source.processingKey());
      Server after = Server.snapshot(redis);
      long cpu = Harness.processCpuNanos() - cpuNanos;
      Thread.sleep(500);
      sub.close();
      int n = ids.size();
      System.out.printf(Locale.ROOT, "RESULT impl=brook scenario=%s jobs=%d %s redis_cpu_us=%.2f cmds=%.2f client_cpu_us=%.2f lost=%d dup=%d%n",
          scenario, n, figures, (after.cpuSeconds - server.cpuSeconds) * 1e6 / n, (double) (after.calls - server.calls) / n, cpu / 1e3 / n,
          ids.lost(), ids.duplicated());
      System.out.println("COMMANDS impl=brook scenario=" + scenario + " per_job " + Server.perJob(server, after, n));
    }
  }

  static String percentiles(double[] ms) {
    Arrays.sort(ms);
    if (ms.length == 0) {
      return "unit=ms p50=NaN p99=NaN max=NaN min=NaN";
    }
    return String.format(Locale.ROOT, "unit=ms p50=%.1f p99=%.1f max=%.1f min=%.1f", ms[(int) (ms.length * 0.50)],
        ms[Math.min(ms.length - 1, (int) (ms.length * 0.99))], ms[ms.length - 1], ms[0]);
  }

  /** Which ids completed, how often, and when the last one did. */
  static final class Ids {
    private final AtomicIntegerArray counts;
    private final AtomicLong handled = new AtomicLong();
    private final CountDownLatch all = new CountDownLatch(1);
    private volatile long lastNanos;

    Ids(int n) {
      counts = new AtomicIntegerArray(n);
    }

    void done(int id) {
      counts.incrementAndGet(id);
      lastNanos = System.nanoTime();
      if (handled.incrementAndGet() == counts.length()) {
        all.countDown();
      }
    }

    long handled() {
      return handled.get();
    }

    int count(int id) {
      return counts.get(id);
    }

    long lastNanos() {
      return lastNanos;
    }

    void await(Duration max) throws InterruptedException {
      if (!all.await(max.toMillis(), TimeUnit.MILLISECONDS)) {
        System.out.println("WARN only " + handled.get() + " of " + counts.length() + " jobs completed within " + max);
      }
    }

    int size() {
      return counts.length();
    }

    long lost() {
      long lost = 0;
      for (int i = 0; i < counts.length(); i++) {
        lost += counts.get(i) == 0 ? 1 : 0;
      }
      return lost;
    }

    long duplicated() {
      long dup = 0;
      for (int i = 0; i < counts.length(); i++) {
        dup += Math.max(0, counts.get(i) - 1);
      }
      return dup;
    }
  }

  /** The server's CPU seconds and command calls, from INFO. */
  record Server(double cpuSeconds, long calls, Map<String, Long> byCommand) {

    static Server snapshot(RedisCommands<String, String> redis) {
      double cpu = 0;
      for (String line : redis.info("cpu").split("\r?\n")) {
        if (line.startsWith("used_cpu_sys:") || line.startsWith("used_cpu_user:")) {
          cpu += Double.parseDouble(line.substring(line.indexOf(':') + 1).trim());
        }
      }
      long calls = 0;
      Map<String, Long> byCommand = new java.util.TreeMap<>();
      for (String line : redis.info("commandstats").split("\r?\n")) {
        if (line.startsWith("cmdstat_")) {
          int colon = line.indexOf(':');
          int start = line.indexOf("calls=") + 6;
          long c = Long.parseLong(line.substring(start, line.indexOf(',', start)));
          byCommand.put(line.substring(8, colon), c);
          calls += c;
        }
      }
      return new Server(cpu, calls, byCommand);
    }

    /** The commands that ran per job between two snapshots, most first, those under 0.01 left out. */
    static String perJob(Server before, Server after, int n) {
      StringBuilder sb = new StringBuilder();
      after.byCommand.entrySet().stream()
          .map(e -> Map.entry(e.getKey(), (e.getValue() - before.byCommand.getOrDefault(e.getKey(), 0L)) / (double) n))
          .filter(e -> e.getValue() >= 0.01)
          .sorted((x, y) -> Double.compare(y.getValue(), x.getValue()))
          .forEach(e -> sb.append(String.format(Locale.ROOT, " %s=%.2f", e.getKey(), e.getValue())));
      return sb.toString().trim();
    }
  }

  /** xorshift32 from seed 42: the same delays on the BullMQ side (benchmarks/bullmq/common.js). */
  static final class XorShift {
    private int x = 42;

    int between(int min, int max) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      return min + Integer.remainderUnsigned(x, max - min + 1);
    }
  }

  private Jobs() {}
}
