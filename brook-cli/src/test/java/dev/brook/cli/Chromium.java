package dev.brook.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.File;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.WebSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Headless Chromium driven over the DevTools protocol (a WebSocket from the JDK's HTTP client; no
 * driver): navigate, evaluate JavaScript, wait for a condition in the page, screenshot. Started with
 * a fresh profile and nothing that reaches the network on its own; {@link #close()} kills it by PID.
 */
final class Chromium implements AutoCloseable {

  private static final ObjectMapper JSON = new ObjectMapper();

  private final Process process;
  private final HttpClient http = HttpClient.newHttpClient();
  private final WebSocket socket;
  private final Map<Integer, CompletableFuture<JsonNode>> calls = new ConcurrentHashMap<>();
  private final AtomicInteger ids = new AtomicInteger();

  Chromium(Path profile) throws Exception {
    Files.createDirectories(profile);
    List<String> command = new ArrayList<>(List.of(binary(), "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-quic",
        "--remote-debugging-address=127.0.0.1", "--remote-debugging-port=0", "--window-size=1280,1000",
        "--user-data-dir=" + profile, "about:blank"));
    process = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(profile.resolve("chromium.log").toFile()).start();
    try {
      Path portFile = profile.resolve("DevToolsActivePort");
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
      while (!(Files.isRegularFile(portFile) && Files.readAllLines(portFile).size() >= 2)) {
        assertThat(process.isAlive()).as("Chromium running; log: %s", log(profile)).isTrue();
        assertThat(System.nanoTime()).as("Chromium's DevTools port within 60 s").isLessThan(deadline);
        Thread.sleep(50); // polling a file Chromium writes; there is no event to wait on
      }
      int port = Integer.parseInt(Files.readAllLines(portFile).get(0).strip());
      String ws = null;
      while (ws == null) {
        HttpResponse<String> list = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/json/list"))
            .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
        for (JsonNode t : JSON.readTree(list.body())) {
          if ("page".equals(t.path("type").asText())) {
            ws = t.path("webSocketDebuggerUrl").asText();
          }
        }
        assertThat(System.nanoTime()).as("a page target within 60 s").isLessThan(deadline);
        if (ws == null) {
          Thread.sleep(50);
        }
      }
      socket = http.newWebSocketBuilder().connectTimeout(Duration.ofSeconds(10)).buildAsync(URI.create(ws), new Listener())
          .get(30, TimeUnit.SECONDS);
      call("Page.enable", Map.of());
      call("Runtime.enable", Map.of());
      call("Emulation.setDeviceMetricsOverride", Map.of("width", 1280, "height", 1000, "deviceScaleFactor", 1, "mobile", false));
    } catch (Exception | AssertionError e) {
      process.destroyForcibly();
      throw e;
    }
  }

  private static String log(Path profile) {
    try {
      return Files.readString(profile.resolve("chromium.log"));
    } catch (Exception e) {
      return "<no log>";
    }
  }

  /** The Chromium binary on the PATH; with -Pbrowser the test fails (never skips) without it. */
  static String binary() {
    for (String name : new String[] {"chromium", "chromium-browser", "google-chrome"}) {
      for (String dir : System.getenv().getOrDefault("PATH", "/usr/bin").split(File.pathSeparator)) {
        Path candidate = Path.of(dir, name);
        if (Files.isExecutable(candidate)) {
          return candidate.toString();
        }
      }
    }
    return fail("Chromium is missing, and the browser tests (-Pbrowser) need it. Install it with "
        + "'apt-get install -y chromium' (.ci/run does this, then runs ./mvnw verify -Pbrowser).");
  }

  private final class Listener implements WebSocket.Listener {
    private final StringBuilder text = new StringBuilder();

    @Override
    public CompletionStage<?> onText(WebSocket ws, CharSequence data, boolean last) {
      text.append(data);
      if (last) {
        try {
          JsonNode m = JSON.readTree(text.toString());
          CompletableFuture<JsonNode> f = m.has("id") ? calls.remove(m.get("id").asInt()) : null;
          if (f != null) {
            f.complete(m);
          }
        } catch (Exception e) {
          // an event we cannot read: not one we wait for
        }
        text.setLength(0);
      }
      ws.request(1);
      return null;
    }
  }

  JsonNode call(String method, Map<String, ?> params) throws Exception {
    int id = ids.incrementAndGet();
    CompletableFuture<JsonNode> reply = new CompletableFuture<>();
    calls.put(id, reply);
    ObjectNode m = JSON.createObjectNode();
    m.put("id", id);
    m.put("method", method);
    m.set("params", JSON.valueToTree(params));
    socket.sendText(JSON.writeValueAsString(m), true).get(30, TimeUnit.SECONDS);
    JsonNode r = reply.get(60, TimeUnit.SECONDS);
    assertThat(r.has("error")).as("%s: %s", method, r).isFalse();
    return r.get("result");
  }

  void navigate(String url) throws Exception {
    call("Page.navigate", Map.of("url", url));
  }

  /** Evaluates an expression in the page and returns its value (promises awaited). */
  JsonNode eval(String expression) throws Exception {
    JsonNode r = call("Runtime.evaluate", Map.of("expression", expression, "returnByValue", true, "awaitPromise", true));
    assertThat(r.has("exceptionDetails")).as("%s threw: %s", expression, r).isFalse();
    return r.path("result").path("value");
  }

  /** Waits until the expression is true in the page; fails with the page's text at the deadline. */
  void await(String expression, Duration timeout) throws Exception {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (!eval("!!(" + expression + ")").asBoolean()) {
      if (System.nanoTime() > deadline) {
        fail("Not true within " + timeout + ": " + expression + "\nPage text:\n" + eval("document.body.innerText").asText());
      }
      Thread.sleep(100); // the page polls its API every second; poll the page a little faster
    }
  }

  /** A PNG of the whole page. */
  void screenshot(Path file) throws Exception {
    JsonNode height = eval("Math.ceil(document.documentElement.scrollHeight)");
    call("Emulation.setDeviceMetricsOverride", Map.of("width", 1280, "height", Math.max(600, Math.min(4000, height.asInt())),
        "deviceScaleFactor", 1, "mobile", false));
    JsonNode r = call("Page.captureScreenshot", Map.of("format", "png"));
    Files.createDirectories(file.toAbsolutePath().getParent());
    Files.write(file, Base64.getDecoder().decode(r.get("data").asText()));
    call("Emulation.setDeviceMetricsOverride", Map.of("width", 1280, "height", 1000, "deviceScaleFactor", 1, "mobile", false));
  }

  @Override
  public void close() throws Exception {
    try {
      socket.abort();
    } finally {
      process.toHandle().descendants().forEach(ProcessHandle::destroyForcibly);
      process.destroyForcibly();
      process.waitFor(30, TimeUnit.SECONDS);
      http.close();
    }
  }
}
