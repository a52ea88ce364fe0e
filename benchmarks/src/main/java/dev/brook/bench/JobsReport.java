package dev.brook.bench;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The markdown tables of {@code benchmarks/jobs.sh} (issue 19) from its {@code RESULT} lines: Brook
 * and BullMQ side by side per scenario, with Brook ÷ BullMQ for every figure (throughputs: above 1
 * is Brook faster; lateness, CPU and commands: below 1 is Brook cheaper), and lost/duplicated jobs.
 *
 * <pre>
 * java -cp ... dev.brook.bench.JobsReport benchmarks/target/jobs/results.txt
 * </pre>
 */
public final class JobsReport {

  public static void main(String[] args) throws Exception {
    Map<String, Map<String, Map<String, String>>> byScenario = new LinkedHashMap<>();
    List<String> header = new ArrayList<>();
    for (String line : Files.readAllLines(Path.of(args[0]))) {
      if (line.startsWith("# ") && !line.startsWith("# load")) {
        header.add(line.substring(2));
      }
      if (!line.startsWith("RESULT ")) {
        continue;
      }
      Map<String, String> kv = new LinkedHashMap<>();
      for (String field : line.substring(7).trim().split("\\s+")) {
        int eq = field.indexOf('=');
        kv.put(field.substring(0, eq), field.substring(eq + 1));
      }
      byScenario.computeIfAbsent(kv.get("scenario"), k -> new LinkedHashMap<>()).put(kv.get("impl"), kv);
    }
    header.forEach(h -> System.out.println("<!-- " + h + " -->"));
    System.out.println();
    System.out.println("| scenario | jobs | Brook jobs/s | BullMQ jobs/s | Brook ÷ BullMQ | Redis CPU µs/job Brook / BullMQ (÷) "
        + "| Redis commands/job Brook / BullMQ (÷) | client CPU µs/job Brook / BullMQ | lost / dup Brook | lost / dup BullMQ |");
    System.out.println("|---|---|---|---|---|---|---|---|---|---|");
    byScenario.forEach((scenario, impls) -> {
      Map<String, String> b = impls.get("brook");
      Map<String, String> q = impls.get("bullmq");
      if (b == null || q == null || !"jobs/s".equals(b.get("unit"))) {
        return;
      }
      String flag = "1".equals(b.get("late_publish")) || "1".equals(q.get("late_publish")) ? " (publishing outlasted the due time: not comparable)" : "";
      System.out.printf(Locale.ROOT, "| %s%s | %s | %s | %s | %s | %s | %s | %s / %s | %s | %s |%n", scenario, flag, b.get("jobs"), rate(b), rate(q),
          ratio(b, q, "rate"), both(b, q, "redis_cpu_us"), both(b, q, "cmds"), b.get("client_cpu_us"), q.get("client_cpu_us"),
          lostDup(b), lostDup(q));
    });
    Map<String, Map<String, String>> delayed = byScenario.get("delayed");
    if (delayed != null && delayed.containsKey("brook") && delayed.containsKey("bullmq")) {
      Map<String, String> b = delayed.get("brook");
      Map<String, String> q = delayed.get("bullmq");
      System.out.println();
      System.out.println("| delayed jobs: lateness behind the due time (ms) | p50 | p99 | max | min | max incl. warm-up "
          + "| Redis CPU µs/job | Redis commands/job | lost / dup | p99 ≤ 20 ms |");
      System.out.println("|---|---|---|---|---|---|---|---|---|---|");
      for (Map<String, String> r : List.of(b, q)) {
        System.out.printf(Locale.ROOT, "| %s (%s jobs) | %s | %s | %s | %s | %s | %s | %s | %s | %s |%n", r.get("impl"), r.get("jobs"), r.get("p50"),
            r.get("p99"), r.get("max"), r.get("min"), r.get("max_all"), r.get("redis_cpu_us"), r.get("cmds"), lostDup(r),
            Double.parseDouble(r.get("p99")) <= 20 ? "yes" : "no");
      }
      System.out.printf(Locale.ROOT, "| Brook ÷ BullMQ | %s | %s | %s | | %s | %s | %s | | |%n", ratio(b, q, "p50"), ratio(b, q, "p99"),
          ratio(b, q, "max"), ratio(b, q, "max_all"), ratio(b, q, "redis_cpu_us"), ratio(b, q, "cmds"));
    }
  }

  private static String rate(Map<String, String> r) {
    return String.format(Locale.ROOT, "%,.0f", Double.parseDouble(r.get("rate")));
  }

  private static String both(Map<String, String> b, Map<String, String> q, String key) {
    return b.get(key) + " / " + q.get(key) + " (" + ratio(b, q, key) + ")";
  }

  private static String ratio(Map<String, String> b, Map<String, String> q, String key) {
    double x = Double.parseDouble(b.get(key));
    double y = Double.parseDouble(q.get(key));
    return y == 0 ? "—" : String.format(Locale.ROOT, "%.3g", x / y);
  }

  private static String lostDup(Map<String, String> r) {
    String early = r.getOrDefault("early", "0");
    return r.get("lost") + " / " + r.get("dup") + ("0".equals(early) ? "" : " (" + early + " before due)");
  }

  private JobsReport() {}
}
