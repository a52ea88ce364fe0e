package dev.brook.bench;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.FontMetrics;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import javax.imageio.ImageIO;

/**
 * Draws the {@code RESULT} lines of one {@code benchmarks/run.sh} run as a PNG for {@code
 * docs/benchmarks.md}: one panel per scenario, one bar per implementation (Brook, the hand-written
 * Lettuce loop, Spring Data Redis, redis-benchmark), the median with its min–max range as a
 * whisker, each panel on its own linear scale (scenarios have different units and magnitudes).
 * Latency panels show p99 in µs (lower is better); throughput panels msgs/s or round trips/s.
 *
 * <p>Plain Java2D, headless, so the script needs nothing beyond the JDK.
 *
 * <pre>java -Djava.awt.headless=true dev.brook.bench.Chart results.txt chart.png</pre>
 */
public final class Chart {

  private static final List<String> IMPLS = List.of("native", "brook", "lettuce", "spring", "redis-benchmark");
  private static final Map<String, String> LABELS = Map.of(
      "native", "native C", "brook", "Brook", "lettuce", "Lettuce loop", "spring", "Spring", "redis-benchmark", "redis-bench");
  private static final Map<String, Color> COLORS = Map.of(
      "brook", new Color(0x1f77b4), "lettuce", new Color(0x2ca02c), "spring", new Color(0xff7f0e),
      "redis-benchmark", new Color(0x7f7f7f), "native", new Color(0x9467bd));

  private static final int PANEL_W = 330;
  private static final int PANEL_H = 260;
  private static final int COLUMNS = 4;

  public static void main(String[] args) throws IOException {
    if (args.length != 2) {
      System.err.println("Usage: Chart <file with RESULT lines> <out.png>");
      System.exit(2);
    }
    List<Map<String, String>> results = Report.parse(Files.readAllLines(Path.of(args[0])));
    BufferedImage image = draw(results, Files.readAllLines(Path.of(args[0])).stream()
        .filter(l -> l.startsWith("# ")).findFirst().orElse("").replaceFirst("^# ", ""));
    ImageIO.write(image, "png", Path.of(args[1]).toFile());
    System.out.println("Chart: " + args[1]);
  }

  static BufferedImage draw(List<Map<String, String>> results, String subtitle) {
    Map<String, Map<String, Map<String, String>>> byScenario = new LinkedHashMap<>();
    for (Map<String, String> r : results) {
      byScenario.computeIfAbsent(r.get("scenario"), k -> new LinkedHashMap<>()).put(r.get("impl"), r);
    }
    int panels = Math.max(1, byScenario.size());
    int rows = (panels + COLUMNS - 1) / COLUMNS;
    int header = 70;
    int width = COLUMNS * PANEL_W;
    int height = header + rows * PANEL_H + 10;
    BufferedImage image = new BufferedImage(width, height, BufferedImage.TYPE_INT_RGB);
    Graphics2D g = image.createGraphics();
    g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
    g.setRenderingHint(RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
    g.setColor(Color.WHITE);
    g.fillRect(0, 0, width, height);
    g.setColor(Color.BLACK);
    g.setFont(new Font(Font.SANS_SERIF, Font.BOLD, 18));
    g.drawString("Brook vs. native C (the limit), a Lettuce loop, Spring Data Redis, redis-benchmark: same run, same redis-server", 12, 26);
    g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 12));
    g.drawString(subtitle, 12, 46);
    int lx = 12;
    for (String impl : IMPLS) {
      g.setColor(COLORS.get(impl));
      g.fillRect(lx, 54, 12, 12);
      g.setColor(Color.BLACK);
      g.drawString(LABELS.get(impl), lx + 16, 65);
      lx += 16 + g.getFontMetrics().stringWidth(LABELS.get(impl)) + 20;
    }
    int i = 0;
    for (var e : byScenario.entrySet()) {
      int x = (i % COLUMNS) * PANEL_W;
      int y = header + (i / COLUMNS) * PANEL_H;
      panel(g, x, y, e.getKey(), e.getValue());
      i++;
    }
    g.dispose();
    return image;
  }

  private record Bar(String impl, double value, double min, double max, boolean lost) {}

  private static void panel(Graphics2D g, int x0, int y0, String scenario, Map<String, Map<String, String>> impls) {
    boolean latency = impls.values().stream().anyMatch(r -> "us".equals(r.get("unit")));
    String unit = impls.values().iterator().next().get("unit");
    List<Bar> bars = new ArrayList<>();
    for (String impl : IMPLS) {
      Map<String, String> r = impls.get(impl);
      if (r == null) {
        continue;
      }
      boolean lost = !"0".equals(r.getOrDefault("lost", "0"));
      if (latency) {
        bars.add(new Bar(impl, num(r, "p99"), num(r, "p50"), num(r, "p999"), lost));
      } else {
        bars.add(new Bar(impl, num(r, "median"), num(r, "min"), num(r, "max"), lost));
      }
    }
    double top = bars.stream().mapToDouble(b -> Double.isNaN(b.max()) ? b.value() : Math.max(b.value(), b.max())).max().orElse(1);
    top = top <= 0 ? 1 : top * 1.15;
    int left = x0 + 56;
    int right = x0 + PANEL_W - 14;
    int topY = y0 + 34;
    int bottom = y0 + PANEL_H - 40;
    g.setColor(Color.BLACK);
    g.setFont(new Font(Font.SANS_SERIF, Font.BOLD, 13));
    g.drawString(scenario + (latency ? " — p99 µs (p50–p99.9), lower is better" : " — " + unit), x0 + 10, y0 + 20);
    g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 11));
    FontMetrics fm = g.getFontMetrics();
    g.setColor(new Color(0xdddddd));
    for (int t = 0; t <= 4; t++) {
      int ty = bottom - (int) ((bottom - topY) * t / 4.0);
      g.drawLine(left, ty, right, ty);
      g.setColor(Color.DARK_GRAY);
      String label = Report.k(top * t / 4.0);
      g.drawString(label, left - 6 - fm.stringWidth(label), ty + 4);
      g.setColor(new Color(0xdddddd));
    }
    g.setColor(Color.BLACK);
    g.drawLine(left, bottom, right, bottom);
    if (bars.isEmpty()) {
      return;
    }
    int slot = (right - left) / bars.size();
    int barW = Math.min(52, slot - 14);
    for (int b = 0; b < bars.size(); b++) {
      Bar bar = bars.get(b);
      int cx = left + slot * b + slot / 2;
      int h = (int) ((bottom - topY) * bar.value() / top);
      g.setColor(COLORS.get(bar.impl()));
      g.fillRect(cx - barW / 2, bottom - h, barW, h);
      int textY = bottom - h - 4;
      if (!Double.isNaN(bar.min()) && !Double.isNaN(bar.max())) {
        int yMin = bottom - (int) ((bottom - topY) * bar.min() / top);
        int yMax = bottom - (int) ((bottom - topY) * bar.max() / top);
        g.setColor(Color.BLACK);
        g.setStroke(new BasicStroke(1.2f));
        g.drawLine(cx, yMin, cx, yMax);
        g.drawLine(cx - 5, yMin, cx + 5, yMin);
        g.drawLine(cx - 5, yMax, cx + 5, yMax);
        textY = Math.min(textY, yMax - 4);
      }
      g.setColor(Color.BLACK);
      String value = Report.k(bar.value()) + (bar.lost() ? " lost!" : "");
      g.drawString(value, cx - fm.stringWidth(value) / 2, textY);
      String name = LABELS.get(bar.impl());
      g.drawString(name, cx - fm.stringWidth(name) / 2, bottom + 15);
    }
    Map<String, String> brook = impls.get("brook");
    Map<String, String> lettuce = impls.get("lettuce");
    Map<String, String> nat = impls.get("native");
    String key = latency ? "p99" : "median";
    StringBuilder ratios = new StringBuilder();
    if (brook != null && nat != null) {
      ratios.append(String.format(Locale.ROOT, "Brook ÷ native = %.2f", num(brook, key) / num(nat, key)));
    }
    if (brook != null && lettuce != null) {
      ratios.append(ratios.isEmpty() ? "Brook " : ", ").append(String.format(Locale.ROOT, "÷ Lettuce = %.2f", num(brook, key) / num(lettuce, key)));
    }
    if (!ratios.isEmpty()) {
      g.setColor(Color.DARK_GRAY);
      g.drawString(ratios + (latency ? " (p99)" : ""), left, bottom + 32);
    }
  }

  private static double num(Map<String, String> r, String key) {
    String v = r.get(key);
    return v == null ? Double.NaN : Double.parseDouble(v);
  }

  private Chart() {}
}
