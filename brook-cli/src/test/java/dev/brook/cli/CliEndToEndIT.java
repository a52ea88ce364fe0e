package dev.brook.cli;

import static dev.brook.cli.Processes.brook;
import static dev.brook.redis.Redis.channel;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import dev.brook.asyncapi.OfficialSchema;
import dev.brook.cli.Processes.Child;
import dev.brook.cli.Processes.Result;
import dev.brook.redis.RedisBroker;
import dev.brook.testing.RedisServer;
import dev.brook.testing.WithRedisServer;
import java.io.File;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The packaged CLI end to end, each command in its own JVM ({@code java -jar target/brook.jar}),
 * against a private redis-server: a service run with {@code brook run}, messages and a request
 * from {@code brook publish}, a graceful stop on SIGTERM; {@code docs gen} checked against the
 * official AsyncAPI schema; {@code docs serve}'s page, JSON and YAML over HTTP. With {@code -Pbrowser}
 * (which {@code .ci/run} enables after installing Chromium) also the page loaded in headless Chromium,
 * with a screenshot in {@code target/docs-page.png}.
 */
@WithRedisServer
class CliEndToEndIT {

  private static final Duration START = Duration.ofSeconds(30);
  private static final Duration COMMAND = Duration.ofSeconds(30);
  private static final String TEST_CLASSES = Path.of("target/test-classes").toAbsolutePath().toString();

  @Test
  void run_publish_request_thenSigtermStopsGracefullyWithExitCode0(RedisServer redis) throws Exception {
    try (Child service = new Child(brook("run", "--classpath", TEST_CLASSES, "dev.brook.cli.testapp.OrderService",
        "--url", redis.url()));
        RedisBroker observer = RedisBroker.create(redis.url())) {
      service.awaitLine(l -> l.equals("order-service ready"), START);
      List<String> receipts = new CopyOnWriteArrayList<>();
      observer.subscriber(channel("receipts")).handle(JsonNode.class, (r, ctx) -> receipts.add(r.toString()));
      observer.start();

      Result published = Processes.run(COMMAND, brook("publish", "--url", redis.url(), "--channel", "orders",
          "--header", "tenant=acme", "{\"id\": 7, \"item\": \"book\", \"quantity\": 2}"));
      assertThat(published.code()).as(published.err()).isZero();
      assertThat(published.err()).startsWith("Published to channel:orders (correlation_id ");
      service.awaitLine(l -> l.equals("orders <- Order[id=7, item=book, quantity=2] tenant=acme"), COMMAND);
      await().atMost(COMMAND).untilAsserted(() -> assertThat(receipts).containsExactly("{\"orderId\":7,\"text\":\"2 x book\"}"));

      Result reply = Processes.run(COMMAND, brook("publish", "--url", redis.url(), "--channel", "orders", "--request",
          "--timeout", "10s", "{\"id\": 8, \"item\": \"lamp\", \"quantity\": 1}"));
      assertThat(reply.code()).as(reply.err()).isZero();
      assertThat(reply.out()).isEqualTo("{\"orderId\":8,\"text\":\"1 x lamp\"}\n");

      int code = service.sigtermAndAwaitExit(COMMAND);

      assertThat(code).as("exit code; output:%n%s", String.join("\n", service.lines())).isZero();
      assertThat(service.lines()).anyMatch(l -> l.contains("Received SIGTERM; shutting down gracefully."))
          .contains("order-service stopped cleanly");
    }
    assertThat(((String) redis.command("CLIENT", "LIST")).lines().filter(l -> l.contains("name=order-service"))).isEmpty();
  }

  @Test
  void health_fromTheJar_exitsZeroWhenUp_andThreeWhenDown(RedisServer redis) throws Exception {
    Result up = Processes.run(COMMAND, brook("health", "--url", redis.url(), "--json"));
    assertThat(up.code()).as(up.err()).isZero();
    assertThat(up.out()).startsWith("{\"status\":\"UP\",");

    Result down = Processes.run(COMMAND, brook("health", "--url", "redis://127.0.0.1:1", "--timeout", "300ms"));
    assertThat(down.code()).as(down.err()).isEqualTo(3);
    assertThat(down.out()).startsWith("DOWN  redis://127.0.0.1:1  not reachable");
  }

  @Test
  void docsGen_fromTheJar_passesTheOfficialSchema_andDocsServeServesAFile(@TempDir Path dir) throws Exception {
    Result json = Processes.run(COMMAND, brook("docs", "gen", "--classpath", TEST_CLASSES, "dev.brook.cli.testapp.DocsService"));
    assertThat(json.code()).as(json.err()).isZero();
    JsonNode doc = OfficialSchema.assertValidJson(json.out());
    assertThat(doc.at("/components/schemas/Order/required").toString()).contains("id", "item");

    Path yaml = dir.resolve("asyncapi.yaml");
    Result written = Processes.run(COMMAND, brook("docs", "gen", "-cp", TEST_CLASSES, "dev.brook.cli.testapp.DocsService",
        "--yaml", "--out", yaml.toString()));
    assertThat(written.code()).as(written.err()).isZero();
    assertThat(OfficialSchema.assertValidYaml(Files.readString(yaml))).isEqualTo(doc);

    try (Child serve = new Child(brook("docs", "serve", yaml.toString(), "--port", "0"))) {
      URI base = servedAt(serve);
      HttpResponse<String> served = get(base.resolve("asyncapi.json"));
      assertThat(served.statusCode()).isEqualTo(200);
      assertThat(OfficialSchema.assertValidJson(served.body())).isEqualTo(doc);
      assertThat(serve.sigtermAndAwaitExit(COMMAND)).isZero();
    }
  }

  /** What the page shows without script: the title, every channel with its address, the payload fields. */
  private static final String[] PAGE_CONTENT = {"<h1>Docs service</h1>",
      "id=\"channel-channel.orders\"", "id=\"channel-list.jobs\"", "id=\"channel-stream.events.billing\"",
      "id=\"channel-pattern.alerts.region.severity\"",
      "<code class=\"address\">orders</code>", "<code class=\"address\">receipts</code>",
      "<code class=\"field\">quantity</code>", "<code class=\"field\">severity</code>"};

  @Test
  void docsServe_servesThePageTheJsonAndTheYamlOverHttp() throws Exception {
    Result generated = Processes.run(COMMAND, brook("docs", "gen", "--classpath", TEST_CLASSES,
        "dev.brook.cli.testapp.DocsService", "--title", "Docs service"));
    assertThat(generated.code()).as(generated.err()).isZero();
    JsonNode doc = OfficialSchema.assertValidJson(generated.out());
    try (Child serve = new Child(brook("docs", "serve", "--classpath", TEST_CLASSES, "dev.brook.cli.testapp.DocsService",
        "--port", "0", "--title", "Docs service"))) {
      URI base = servedAt(serve);
      HttpResponse<String> page = get(base);
      assertThat(page.statusCode()).isEqualTo(200);
      assertThat(page.headers().firstValue("Content-Type")).hasValue("text/html; charset=utf-8");
      assertThat(page.body()).as("the page").startsWith("<!DOCTYPE html>").contains(PAGE_CONTENT).endsWith("</html>\n");

      HttpResponse<String> json = get(base.resolve("asyncapi.json"));
      assertThat(json.statusCode()).isEqualTo(200);
      assertThat(OfficialSchema.assertValidJson(json.body())).isEqualTo(doc);
      HttpResponse<String> yaml = get(base.resolve("asyncapi.yaml"));
      assertThat(yaml.statusCode()).isEqualTo(200);
      assertThat(yaml.body()).startsWith("asyncapi: 3.0.0");
      assertThat(OfficialSchema.assertValidYaml(yaml.body())).isEqualTo(doc);
      assertThat(get(base.resolve("nope")).statusCode()).isEqualTo(404);

      assertThat(serve.sigtermAndAwaitExit(COMMAND)).isZero();
    }
  }

  /** Runs with -Pbrowser only: the machine needs Chromium (.ci/run installs it and enables the profile). */
  @Test
  @Tag("browser")
  void docsServe_pageRendersInHeadlessChromium(@TempDir Path profile) throws Exception {
    String chromium = chromium();
    try (Child serve = new Child(brook("docs", "serve", "--classpath", TEST_CLASSES, "dev.brook.cli.testapp.DocsService",
        "--port", "0", "--title", "Docs service"))) {
      URI base = servedAt(serve);

      Result dom = Processes.run(Duration.ofSeconds(90), chromium(chromium, profile.resolve("dom"), "--dump-dom", base.toString()));
      assertThat(dom.code()).as(dom.err()).isZero();
      assertThat(dom.out()).as("the rendered DOM").contains(PAGE_CONTENT);

      Path screenshot = Path.of("target/docs-page.png").toAbsolutePath();
      Files.deleteIfExists(screenshot);
      Result shot = Processes.run(Duration.ofSeconds(90), chromium(chromium, profile.resolve("shot"),
          "--hide-scrollbars", "--window-size=1280,2400", "--screenshot=" + screenshot, base.toString()));
      assertThat(shot.code()).as(shot.err()).isZero();
      assertThat(screenshot).isRegularFile();
      byte[] png = Files.readAllBytes(screenshot);
      assertThat(png.length).as("screenshot size").isGreaterThan(20_000);
      assertThat(new String(png, 1, 3, java.nio.charset.StandardCharsets.US_ASCII)).isEqualTo("PNG");

      assertThat(serve.sigtermAndAwaitExit(COMMAND)).isZero();
    }
  }

  /** The URL the serve command printed. */
  private static URI servedAt(Child serve) throws InterruptedException {
    String line = serve.awaitLine(l -> l.startsWith("Serving the AsyncAPI docs of "), START);
    Matcher m = Pattern.compile(" at (http://127\\.0\\.0\\.1:\\d+/) ").matcher(line);
    assertThat(m.find()).as("URL in: %s", line).isTrue();
    return URI.create(m.group(1));
  }

  private static HttpResponse<String> get(URI uri) throws Exception {
    try (HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build()) {
      return http.send(HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
    }
  }

  /** Headless Chromium with a fresh profile and nothing that reaches the network on its own. */
  private static List<String> chromium(String binary, Path profile, String... args) throws Exception {
    Files.createDirectories(profile);
    List<String> command = new ArrayList<>(List.of(binary, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-quic",
        "--user-data-dir=" + profile));
    command.addAll(List.of(args));
    return command;
  }

  /** The Chromium binary on the PATH; with -Pbrowser the test fails (never skips) without it. */
  private static String chromium() {
    for (String name : new String[] {"chromium", "chromium-browser", "google-chrome"}) {
      for (String dir : System.getenv().getOrDefault("PATH", "/usr/bin").split(File.pathSeparator)) {
        Path candidate = Path.of(dir, name);
        if (Files.isExecutable(candidate)) {
          return candidate.toString();
        }
      }
    }
    return fail("Chromium is missing, and the docs page's browser test (-Pbrowser) needs it. Install it with "
        + "'apt-get install -y chromium chromium-driver' (.ci/run does this, then runs ./mvnw verify -Pbrowser).");
  }
}
