package dev.brook.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * Turns the {@code RESULT} lines of one {@code benchmarks/run.sh} run into the markdown tables of
 * {@code docs/benchmarks.md}: each scenario's median per implementation, Brook's ratio to each
 * reference measured in the same run, CPU per message, and the target next to the figure.
 *
 * <pre>java dev.brook.bench.Report results.txt</pre>
 */
public final class Report {

  /** Targets for 100-byte messages on the 2-core machine (issue 8); throughput in its unit, latency p99 in µs. */
  private static final Map<String, Double> TARGETS = Map.of(
      "pubsub", 350_000.0, "list-batch", 600_000.0, "stream-group", 280_000.0, "ping-pong", 7_000.0, "latency-1k", 250.0);

  /**
   * Targets as Brook ÷ the native client of the same run (issue 21): throughput at least this
   * share of native; for latency, p99 at most twice and p50 at most three times native's.
   */
  private static final Map<String, Double> NATIVE_TARGETS = Map.of(
      "pubsub", 0.6, "list-batch", 0.5, "stream-group", 0.5, "ping-pong", 0.5);

  public static void main(String[] args) throws IOException {
    if (args.length != 1) {
      System.err.println("Usage: Report <file with RESULT lines>");
      System.exit(2);
    }
    List<Map<String, String>> results = parse(Files.readAllLines(Path.of(args[0])));
    System.out.print(render(results));
  }

  static List<Map<String, String>> parse(List<String> lines) {
    List<Map<String, String>> out = new ArrayList<>();
    for (String line : lines) {
      int at = line.indexOf("RESULT ");
      if (at < 0) {
        continue;
      }
      Map<String, String> fields = new LinkedHashMap<>();
      for (String pair : line.substring(at + 7).trim().split("\\s+")) {
        int eq = pair.indexOf('=');
        if (eq > 0) {
          fields.put(pair.substring(0, eq), pair.substring(eq + 1));
        }
      }
      out.add(fields);
    }
    return out;
  }

  static String render(List<Map<String, String>> results) {
    Map<String, Map<String, Map<String, String>>> byScenario = new LinkedHashMap<>();
    Set<String> latency = new LinkedHashSet<>();
    for (Map<String, String> r : results) {
      byScenario.computeIfAbsent(r.get("scenario"), k -> new HashMap<>()).put(r.get("impl"), r);
      if ("us".equals(r.get("unit"))) {
        latency.add(r.get("scenario"));
      }
    }
    StringBuilder md = new StringBuilder();
    md.append("| scenario | unit | Brook (min–max) | native | Lettuce loop | Spring Data Redis | redis-benchmark -P 100 | Brook ÷ native "
        + "| Brook ÷ Lettuce | Brook ÷ Spring | Brook ÷ redis-benchmark | CPU µs/msg Brook / native / Lettuce / Spring "
        + "| framework CPU µs/msg (Brook − Lettuce) | target | met | target ÷ native | met |\n");
    md.append("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n");
    for (var e : byScenario.entrySet()) {
      if (latency.contains(e.getKey())) {
        continue;
      }
      Map<String, Map<String, String>> impls = e.getValue();
      Map<String, String> brook = impls.get("brook");
      Map<String, String> any = brook != null ? brook : impls.values().iterator().next();
      double b = brook == null ? Double.NaN : num(brook, "median");
      Double target = TARGETS.get(e.getKey());
      Double nativeTarget = NATIVE_TARGETS.get(e.getKey());
      Map<String, String> nat = impls.get("native");
      md.append(String.format(Locale.ROOT, "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s / %s / %s / %s | %s | %s | %s | %s | %s |%n",
          e.getKey(), any.get("unit"),
          brook == null ? "—" : k(b) + " (" + k(num(brook, "min")) + "–" + k(num(brook, "max")) + ")" + loss(brook),
          cell(nat), cell(impls.get("lettuce")), cell(impls.get("spring")), cell(impls.get("redis-benchmark")),
          ratio(b, nat), ratio(b, impls.get("lettuce")), ratio(b, impls.get("spring")), ratio(b, impls.get("redis-benchmark")),
          cpu(brook), cpu(nat), cpu(impls.get("lettuce")), cpu(impls.get("spring")), frameworkCpu(brook, impls.get("lettuce")),
          target == null ? "—" : "≥ " + k(target), met(brook, b, target),
          nativeTarget == null || nat == null ? "—" : String.format(Locale.ROOT, "≥ %.2f", nativeTarget),
          nativeTarget == null || nat == null ? "—" : met(brook, b / num(nat, "median"), nativeTarget)));
    }
    if (!latency.isEmpty()) {
      md.append("\n| latency (publish → handler entry, µs) | impl | p50 | p99 | p99.9 | max | lost | target p99 | met |\n");
      md.append("|---|---|---|---|---|---|---|---|---|\n");
      for (String s : latency) {
        for (var impl : List.of("native", "brook", "lettuce", "spring", "raw-socket")) {
          Map<String, String> r = byScenario.get(s).get(impl);
          if (r == null) {
            continue;
          }
          Double target = "brook".equals(impl) ? TARGETS.get(s) : null;
          md.append(String.format(Locale.ROOT, "| %s | %s | %s | %s | %s | %s | %s | %s | %s |%n", s, impl, r.get("p50"), r.get("p99"), r.get("p999"),
              r.get("max"), r.get("lost"), target == null ? "—" : "≤ " + target.intValue(),
              target == null ? "—" : num(r, "p99") <= target ? "yes" : "no"));
        }
      }
      md.append("\n| latency | Brook ÷ native p50 (target ≤ 3) | met | Brook ÷ native p99 (target ≤ 2) | met |\n");
      md.append("|---|---|---|---|---|\n");
      for (String s : latency) {
        Map<String, String> brook = byScenario.get(s).get("brook");
        Map<String, String> nat = byScenario.get(s).get("native");
        if (brook == null || nat == null) {
          continue;
        }
        double p50 = num(brook, "p50") / num(nat, "p50");
        double p99 = num(brook, "p99") / num(nat, "p99");
        md.append(String.format(Locale.ROOT, "| %s | %.1f | %s | %.1f | %s |%n", s, p50, p50 <= 3 ? "yes" : "no", p99, p99 <= 2 ? "yes" : "no"));
      }
    }
    // Issue 21's experiment: the Lettuce loop with its subscriber replaced by a blocking socket.
    Map<String, Map<String, String>> pubsub = byScenario.get("pubsub");
    if (pubsub != null && pubsub.get("raw-socket") != null) {
      Map<String, String> raw = pubsub.get("raw-socket");
      Map<String, String> lettuce = pubsub.get("lettuce");
      Map<String, String> nat = pubsub.get("native");
      md.append("\n| experiment (pubsub, Lettuce publisher) | subscriber | msgs/s | CPU µs/msg | ÷ native | ÷ Lettuce loop |\n");
      md.append("|---|---|---|---|---|---|\n");
      md.append(String.format(Locale.ROOT, "| pubsub | blocking socket, virtual thread | %s | %s | %s | %s |%n", cell(raw), cpu(raw),
          ratio(num(raw, "median"), nat), ratio(num(raw, "median"), lettuce)));
    }
    return md.toString();
  }

  /** Met when at or above the target with nothing lost (a throughput with losses is no throughput). */
  private static String met(Map<String, String> brook, double b, Double target) {
    if (target == null || brook == null) {
      return "—";
    }
    if (!"0".equals(brook.getOrDefault("lost", "0"))) {
      return "no (lost messages)";
    }
    return b >= target ? "yes" : String.format(Locale.ROOT, "no (%.0f%%)", 100 * b / target);
  }

  private static double num(Map<String, String> r, String key) {
    String v = r.get(key);
    return v == null ? Double.NaN : Double.parseDouble(v);
  }

  private static String cell(Map<String, String> r) {
    return r == null ? "—" : k(num(r, "median")) + loss(r);
  }

  private static String loss(Map<String, String> r) {
    String lost = r.get("lost");
    return lost != null && !"0".equals(lost) ? " **lost " + lost + "**" : "";
  }

  private static String ratio(double brook, Map<String, String> ref) {
    if (ref == null || Double.isNaN(brook)) {
      return "—";
    }
    return String.format(Locale.ROOT, "%.2f", brook / num(ref, "median"));
  }

  private static String cpu(Map<String, String> r) {
    return r == null || r.get("cpu_us") == null || "redis-benchmark".equals(r.get("impl")) ? "—" : r.get("cpu_us");
  }

  /**
   * Brook's CPU per message beyond what the Lettuce loop spends on the same Redis commands: the
   * framework's own cost (envelope, codec, hand-off to virtual threads, settlement bookkeeping).
   */
  private static String frameworkCpu(Map<String, String> brook, Map<String, String> lettuce) {
    if (brook == null || lettuce == null || brook.get("cpu_us") == null || lettuce.get("cpu_us") == null) {
      return "—";
    }
    return String.format(Locale.ROOT, "%.2f", num(brook, "cpu_us") - num(lettuce, "cpu_us"));
  }

  /** 412345 → "412k"; 5321 → "5.3k"; below 1000 as is. */
  static String k(double v) {
    if (Double.isNaN(v)) {
      return "—";
    }
    if (v >= 100_000) {
      return String.format(Locale.ROOT, "%.0fk", v / 1000);
    }
    if (v >= 1000) {
      return String.format(Locale.ROOT, "%.1fk", v / 1000);
    }
    return String.format(Locale.ROOT, "%.0f", v);
  }

  private Report() {}
}
