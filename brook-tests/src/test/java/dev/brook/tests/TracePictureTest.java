package dev.brook.tests;

import static dev.brook.redis.Redis.channel;
import static dev.brook.redis.Redis.list;
import static dev.brook.redis.Redis.stream;
import static org.assertj.core.api.Assertions.assertThat;

import dev.brook.MessageContext;
import dev.brook.opentelemetry.BrookTracing;
import dev.brook.redis.RedisBroker;
import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.api.trace.StatusCode;
import io.opentelemetry.api.trace.propagation.W3CTraceContextPropagator;
import io.opentelemetry.context.propagation.ContextPropagators;
import io.opentelemetry.sdk.OpenTelemetrySdk;
import io.opentelemetry.sdk.testing.exporter.InMemorySpanExporter;
import io.opentelemetry.sdk.trace.SdkTracerProvider;
import io.opentelemetry.sdk.trace.data.SpanData;
import io.opentelemetry.sdk.trace.export.SimpleSpanProcessor;
import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import javax.imageio.ImageIO;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The trace picture of docs/observability.md, from a real run on a private redis-server: a
 * request to {@code orders} whose handler replies and publishes to a List, whose handler publishes to
 * a Stream group, whose handler fails (the entry is dead-lettered). Asserts the whole trace (one
 * trace id, every span's parent, exact count), exports the spans as JSON lines and draws them as a
 * waterfall into {@code target/trace-picture.png}; with {@code -Dbrook.trace.picture.update=true}
 * both files are copied to {@code docs/}.
 */
class TracePictureTest extends RedisTestBase {

  record Order(int id, String item) {}

  private final InMemorySpanExporter spans = InMemorySpanExporter.create();
  private final SdkTracerProvider provider = SdkTracerProvider.builder().addSpanProcessor(SimpleSpanProcessor.create(spans)).build();
  private final BrookTracing tracing = BrookTracing.create(OpenTelemetrySdk.builder().setTracerProvider(provider)
      .setPropagators(ContextPropagators.create(W3CTraceContextPropagator.getInstance())).build());

  @AfterEach
  void closeProvider() {
    provider.close();
  }

  /** One drawn row: a span at its depth in the tree. */
  record Row(SpanData span, int depth) {}

  @Test
  void aRequestThroughThreeKindsIsOneTraceAndItsPicture() throws Exception {
    RedisBroker broker = broker();
    tracing.bindTo(broker);
    broker.subscriber(channel("orders")).publishTo(list("billing"))
        .handle(Order.class, (Order o, MessageContext c) -> "receipt-" + o.id());
    broker.subscriber(list("billing")).publishTo(stream("audit"))
        .handle(String.class, (String receipt, MessageContext c) -> "billed " + receipt);
    broker.subscriber(stream("audit").group("auditors").consumer("a1"))
        .handle(String.class, (String line, MessageContext c) -> {
          throw new IllegalStateException("audit store unavailable");
        });
    broker.start();

    assertThat(broker.request(new Order(7, "book"), channel("orders"), String.class, Duration.ofSeconds(5)))
        .isEqualTo("receipt-7");
    // nine spans, and no tenth arriving late
    Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> spans.getFinishedSpanItems().size() >= 9);
    Awaitility.await().during(Duration.ofMillis(200)).atMost(Duration.ofSeconds(2))
        .until(() -> spans.getFinishedSpanItems().size() == 9);
    List<SpanData> all = spans.getFinishedSpanItems();
    assertThat(all).hasSize(9);
    assertThat(all.stream().map(SpanData::getTraceId).distinct()).hasSize(1);

    List<Row> rows = tree(all);
    assertThat(rows.stream().map(r -> "  ".repeat(r.depth()) + r.span().getName()
        .replaceAll("brook\\.reply\\.[0-9a-f-]+", "brook.reply.*")).toList()).containsExactly(
        "send orders",
        "  process orders",
        "    send billing",
        "      process billing",
        "        send audit",
        "          process audit",
        "            reject audit",
        "    send brook.reply.*",
        "      process brook.reply.*");
    SpanData audit = rows.get(5).span();
    assertThat(audit.getStatus().getStatusCode()).isEqualTo(StatusCode.ERROR);
    assertThat(audit.getAttributes().get(AttributeKey.stringKey("messaging.consumer.group.name"))).isEqualTo("auditors");
    Awaitility.await().atMost(Duration.ofSeconds(5)).until(() -> redis.command("XLEN", "{audit}:dlq").equals(1L));

    Path target = Path.of("target");
    Files.createDirectories(target);
    Path json = target.resolve("trace-picture.jsonl");
    Files.writeString(json, rows.stream().map(r -> json(r.span())).collect(Collectors.joining("\n", "", "\n")), StandardCharsets.UTF_8);
    Path png = target.resolve("trace-picture.png");
    ImageIO.write(draw(rows), "png", png.toFile());
    assertThat(png).isNotEmptyFile();
    if (Boolean.getBoolean("brook.trace.picture.update")) {
      Path docs = Path.of("..", "docs");
      Files.copy(png, docs.resolve("trace-picture.png"), StandardCopyOption.REPLACE_EXISTING);
      Files.copy(json, docs.resolve("trace-picture.jsonl"), StandardCopyOption.REPLACE_EXISTING);
    }
  }

  /** Depth-first from the root, children by start time. */
  static List<Row> tree(List<SpanData> all) {
    Map<String, List<SpanData>> children = all.stream().sorted(Comparator.comparingLong(SpanData::getStartEpochNanos))
        .collect(Collectors.groupingBy(s -> s.getParentSpanContext().isValid() ? s.getParentSpanId() : "", java.util.LinkedHashMap::new,
            Collectors.toList()));
    List<Row> rows = new ArrayList<>();
    for (SpanData root : children.getOrDefault("", List.of())) {
      walk(root, 0, children, rows);
    }
    return rows;
  }

  private static void walk(SpanData span, int depth, Map<String, List<SpanData>> children, List<Row> rows) {
    rows.add(new Row(span, depth));
    for (SpanData child : children.getOrDefault(span.getSpanId(), List.of())) {
      walk(child, depth + 1, children, rows);
    }
  }

  /** One span as a JSON object: what an exporter to a file would keep. */
  static String json(SpanData s) {
    StringBuilder b = new StringBuilder("{");
    b.append("\"name\":\"").append(s.getName()).append("\",\"kind\":\"").append(s.getKind())
        .append("\",\"trace_id\":\"").append(s.getTraceId()).append("\",\"span_id\":\"").append(s.getSpanId())
        .append("\",\"parent_span_id\":\"").append(s.getParentSpanContext().isValid() ? s.getParentSpanId() : "")
        .append("\",\"start_ns\":").append(s.getStartEpochNanos()).append(",\"end_ns\":").append(s.getEndEpochNanos())
        .append(",\"status\":\"").append(s.getStatus().getStatusCode()).append("\",\"attributes\":{");
    b.append(s.getAttributes().asMap().entrySet().stream()
        .map(e -> "\"" + e.getKey().getKey() + "\":" + (e.getValue() instanceof String v
            ? "\"" + v.replace("\\", "\\\\").replace("\"", "\\\"") + "\"" : e.getValue()))
        .sorted().collect(Collectors.joining(",")));
    return b.append("}}").toString();
  }

  /** A waterfall: one row per span, indented by depth, its bar on a common time axis. */
  static BufferedImage draw(List<Row> rows) {
    int labelWidth = 330;
    int barsWidth = 640;
    int rowHeight = 30;
    int top = 70;
    int width = labelWidth + barsWidth + 40;
    int height = top + rows.size() * rowHeight + 70;
    long start = rows.stream().mapToLong(r -> r.span().getStartEpochNanos()).min().orElse(0);
    long end = rows.stream().mapToLong(r -> r.span().getEndEpochNanos()).max().orElse(start + 1);
    double scale = (double) barsWidth / Math.max(1, end - start);
    BufferedImage image = new BufferedImage(width, height, BufferedImage.TYPE_INT_RGB);
    Graphics2D g = image.createGraphics();
    g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
    g.setRenderingHint(RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
    g.setColor(Color.WHITE);
    g.fillRect(0, 0, width, height);
    g.setColor(new Color(0x222222));
    g.setFont(new Font(Font.SANS_SERIF, Font.BOLD, 17));
    g.drawString("One request through Brook on Redis: 9 spans, one trace (brook-opentelemetry)", 20, 30);
    g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 12));
    g.drawString("trace " + rows.get(0).span().getTraceId() + "   ·   total " + millis(end - start), 20, 52);
    // time grid
    g.setColor(new Color(0xdddddd));
    for (int i = 0; i <= 4; i++) {
      int x = labelWidth + i * barsWidth / 4;
      g.drawLine(x, top - 6, x, top + rows.size() * rowHeight);
      g.setColor(new Color(0x777777));
      g.drawString(millis((end - start) * i / 4), x - 14, top + rows.size() * rowHeight + 16);
      g.setColor(new Color(0xdddddd));
    }
    for (int i = 0; i < rows.size(); i++) {
      Row r = rows.get(i);
      SpanData s = r.span();
      int y = top + i * rowHeight;
      if (i % 2 == 0) {
        g.setColor(new Color(0xf6f8fa));
        g.fillRect(0, y, width, rowHeight);
      }
      boolean error = s.getStatus().getStatusCode() == StatusCode.ERROR;
      Color color = error ? new Color(0xd62728)
          : s.getKind() == SpanKind.PRODUCER ? new Color(0x1f77b4)
          : s.getKind() == SpanKind.CONSUMER ? new Color(0x2ca02c) : new Color(0x7f7f7f);
      g.setColor(new Color(0x222222));
      g.setFont(new Font(Font.MONOSPACED, Font.PLAIN, 12));
      String name = s.getName().replaceAll("brook\\.reply\\.[0-9a-f-]+", "brook.reply.…");
      g.drawString("  ".repeat(r.depth()) + name, 20, y + 19);
      int x = labelWidth + (int) ((s.getStartEpochNanos() - start) * scale);
      int w = Math.max(3, (int) ((s.getEndEpochNanos() - s.getStartEpochNanos()) * scale));
      g.setColor(color);
      g.fillRoundRect(x, y + 7, w, rowHeight - 14, 5, 5);
      g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 11));
      String label = millis(s.getEndEpochNanos() - s.getStartEpochNanos()) + (error ? "  " + s.getAttributes()
          .get(AttributeKey.stringKey("error.type")) : "");
      int lx = x + w + 6;
      if (lx + g.getFontMetrics().stringWidth(label) > width - 10) {
        lx = x - 6 - g.getFontMetrics().stringWidth(label);
      }
      g.setColor(new Color(0x444444));
      g.drawString(label, lx, y + 19);
    }
    // legend
    int ly = height - 22;
    int lx = 20;
    g.setStroke(new BasicStroke(1));
    for (Object[] item : new Object[][] {{"PRODUCER (send)", new Color(0x1f77b4)}, {"CONSUMER (process)", new Color(0x2ca02c)},
        {"INTERNAL (reject → dead letter)", new Color(0x7f7f7f)}, {"status ERROR", new Color(0xd62728)}}) {
      g.setColor((Color) item[1]);
      g.fillRoundRect(lx, ly - 10, 14, 12, 3, 3);
      g.setColor(new Color(0x222222));
      g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 12));
      g.drawString((String) item[0], lx + 20, ly);
      lx += 40 + g.getFontMetrics().stringWidth((String) item[0]);
    }
    g.dispose();
    return image;
  }

  private static String millis(long nanos) {
    return String.format(java.util.Locale.ROOT, "%.2f ms", nanos / 1e6);
  }
}
