package dev.brook.bench;

import java.lang.management.ManagementFactory;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.function.ToDoubleFunction;

/**
 * What every benchmark implementation (Brook, the hand-written Lettuce loop, Spring Data Redis)
 * shares: one warm-up run discarded, then {@code runs} measured runs, and one {@code RESULT} line
 * that {@code benchmarks/run.sh} collects into its table and chart.
 *
 * <p>The line is {@code key=value} pairs so the script and {@link Chart} read it without guessing:
 * <pre>
 * RESULT impl=brook scenario=list-batch unit=msgs/s median=123456 min=120000 max=125000 cpu_us=2.10 lost=0 runs=3
 * RESULT impl=brook scenario=latency-1k unit=us p50=80 p99=190 p999=400 max=900 runs=1
 * </pre>
 * {@code cpu_us} is this process's CPU time (all threads, producer and consumer) divided by the
 * messages of the run: the framework's cost plus the client's, measured the same way for every
 * implementation so the ratio between them is what counts.
 */
public final class Harness {

  /** One measured run of a throughput scenario. */
  public record Run(double rate, double cpuMicrosPerMessage, long lost, double switchesPerMessage) {
    public Run(double rate, double cpuMicrosPerMessage, long lost) {
      this(rate, cpuMicrosPerMessage, lost, Double.NaN);
    }
  }

  /** Runs a scenario once with {@code n} messages; {@code run} 0 is the warm-up. */
  @FunctionalInterface
  public interface Scenario {
    Run run(int n, int size, int run) throws Exception;
  }

  /**
   * Warm-up (at most {@code warmup} messages, discarded), then {@code runs} runs of {@code n};
   * prints per-run lines and the {@code RESULT} line. A run that lost messages is reported with
   * its loss, never silently as a throughput.
   */
  public static void throughput(String impl, String scenario, String unit, int n, int size, int runs, int warmup, Scenario s)
      throws Exception {
    List<Run> measured = new ArrayList<>();
    for (int run = 0; run <= runs; run++) {
      int count = run == 0 ? Math.min(n, warmup) : n;
      Run r = s.run(count, size, run);
      System.out.printf(Locale.ROOT, "%s %s run %d: %d x %d bytes: %.0f %s, %.2f us CPU/msg%s%s%s%n", impl, scenario, run, count, size,
          r.rate(), unit, r.cpuMicrosPerMessage(),
          Double.isNaN(r.switchesPerMessage()) ? "" : String.format(Locale.ROOT, ", %.2f voluntary context switches/msg", r.switchesPerMessage()),
          r.lost() > 0 ? ", LOST " + r.lost() : "", run == 0 ? " (warm-up, discarded)" : "");
      if (run > 0) {
        measured.add(r);
      }
    }
    double[] rates = sorted(measured, Run::rate);
    double[] cpu = sorted(measured, Run::cpuMicrosPerMessage);
    long lost = measured.stream().mapToLong(Run::lost).sum();
    System.out.printf(Locale.ROOT, "RESULT impl=%s scenario=%s unit=%s median=%.0f min=%.0f max=%.0f cpu_us=%.2f lost=%d runs=%d%n", impl,
        scenario, unit, median(rates), rates[0], rates[rates.length - 1], median(cpu), lost, measured.size());
  }

  /** Prints the {@code RESULT} line of a latency scenario, in microseconds. */
  public static void latency(String impl, String scenario, double p50, double p99, double p999, double max, long lost) {
    System.out.printf(Locale.ROOT, "RESULT impl=%s scenario=%s unit=us p50=%.0f p99=%.0f p999=%.0f max=%.0f lost=%d runs=1%n", impl,
        scenario, p50, p99, p999, max, lost);
  }

  /**
   * Prints a paced scenario's voluntary context switches and CPU per message (the pacing producer's
   * own sleep is one switch per message in every implementation).
   */
  public static void paced(String impl, String scenario, int n, long switches0, long cpu0) {
    long switches = voluntarySwitches();
    System.out.printf(Locale.ROOT, "%s %s: %.2f voluntary context switches/msg, %.2f us CPU/msg%n", impl, scenario,
        switches0 < 0 || switches < 0 ? Double.NaN : (double) (switches - switches0) / n, (processCpuNanos() - cpu0) / 1e3 / n);
  }

  /** CPU time of this whole process so far, in nanoseconds (all threads, including GC and JIT). */
  public static long processCpuNanos() {
    return ((com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean()).getProcessCpuTime();
  }

  /** A payload of {@code size} printable bytes. */
  public static byte[] payload(int size) {
    byte[] payload = new byte[size];
    Arrays.fill(payload, (byte) 'x');
    return payload;
  }

  /**
   * Measures {@code body} handling {@code n} messages: rate and CPU per message. The body returns
   * how many of the {@code n} never arrived (0 for the reliable paths).
   */
  public static Run measure(int n, Body body) throws Exception {
    mark("start");
    long switches0 = voluntarySwitches();
    long cpu0 = processCpuNanos();
    long t0 = System.nanoTime();
    long lost = body.run();
    double seconds = (System.nanoTime() - t0) / 1e9;
    double cpuMicros = (processCpuNanos() - cpu0) / 1e3;
    long switches1 = voluntarySwitches();
    mark("end");
    return new Run(n / seconds, cpuMicros / n, lost, switches0 < 0 ? Double.NaN : (double) (switches1 - switches0) / n);
  }

  /**
   * With {@code -Dbrook.bench.marks=true}: prints the wall-clock time a measured run starts and
   * ends, so a JFR recording of the whole process can be cut to the measured part.
   */
  private static void mark(String what) {
    if (Boolean.getBoolean("brook.bench.marks")) {
      System.out.println("MARK " + what + " " + java.time.LocalTime.now(java.time.ZoneOffset.UTC));
    }
  }

  /**
   * Voluntary context switches of this process's live threads so far (the sum of {@code
   * voluntary_ctxt_switches} in {@code /proc/self/task/<tid>/status}), or -1 where there is no such
   * file. Each is a thread that went to sleep waiting for something, so per message it counts the
   * wake-ups a path costs — a figure that, unlike throughput, hardly moves with the load of a shared
   * machine. Threads that ended in between are missed (virtual threads are not OS threads; their
   * carriers, the event loops and the JVM's threads live through a run).
   */
  public static long voluntarySwitches() {
    java.nio.file.Path tasks = java.nio.file.Path.of("/proc/self/task");
    if (!java.nio.file.Files.isDirectory(tasks)) {
      return -1;
    }
    long sum = 0;
    try (java.util.stream.Stream<java.nio.file.Path> all = java.nio.file.Files.list(tasks)) {
      for (java.nio.file.Path task : (Iterable<java.nio.file.Path>) all::iterator) {
        try {
          for (String line : java.nio.file.Files.readAllLines(task.resolve("status"))) {
            if (line.startsWith("voluntary_ctxt_switches:")) {
              sum += Long.parseLong(line.substring(line.indexOf(':') + 1).trim());
            }
          }
        } catch (java.io.IOException | RuntimeException e) {
          // the thread ended while we looked: its switches are lost, as documented
        }
      }
    } catch (java.io.IOException e) {
      return -1;
    }
    return sum;
  }

  /** The timed part of a run; returns the messages lost. */
  @FunctionalInterface
  public interface Body {
    long run() throws Exception;
  }

  private static double[] sorted(List<Run> runs, ToDoubleFunction<Run> f) {
    return runs.stream().sorted(Comparator.comparingDouble(f)).mapToDouble(f).toArray();
  }

  private static double median(double[] sorted) {
    return sorted[sorted.length / 2];
  }

  private Harness() {}
}
