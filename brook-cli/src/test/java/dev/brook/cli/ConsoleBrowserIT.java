package dev.brook.cli;

import static dev.brook.cli.Processes.brook;
import static dev.brook.redis.Redis.list;
import static org.assertj.core.api.Assertions.assertThat;

import dev.brook.PublishOptions;
import dev.brook.cli.Processes.Child;
import dev.brook.redis.RedisBroker;
import dev.brook.redis.Schedule;
import dev.brook.testing.RedisServer;
import dev.brook.testing.WithRedisServer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The Brook console in headless Chromium (tag "browser", run with -Pbrowser): {@code brook console}
 * and two services ({@code brook run}) each in its own JVM on a private redis-server. Both brokers
 * appear; killing one (SIGKILL by PID) removes it; a poison message dead-lettered by the handler
 * shows with its error; clicking Replay gets it handled once the handler is fixed; a read-only
 * console refuses a click on Pause; with a token, an action without it is refused and with it done; a
 * delayed job shows and Promote now gets it handled in the service's JVM; with {@code --asyncapi}
 * the publish form's payload is checked against the destination's schema.
 * Every wait is for a condition in the page or a line of a child; screenshots go to
 * {@code docs/console-*.png}.
 */
@WithRedisServer
@Tag("browser")
class ConsoleBrowserIT {

  private static final Duration START = Duration.ofSeconds(60);
  private static final Duration WAIT = Duration.ofSeconds(45);
  private static final String TEST_CLASSES = Path.of("target/test-classes").toAbsolutePath().toString();
  private static final Path DOCS = Path.of("..", "docs");

  /** A service JVM: {@code brook run ConsoleService} with its app name and fix file. */
  private static Child service(RedisServer redis, String app, Path fixed) throws Exception {
    List<String> command = new ArrayList<>(brook("run", "--classpath", TEST_CLASSES, "dev.brook.cli.testapp.ConsoleService",
        "--url", redis.url()));
    int jar = command.indexOf("-jar");
    command.addAll(jar, List.of("-Dconsole.app=" + app, "-Dconsole.fixed=" + fixed));
    Child child = new Child(command);
    try {
      child.awaitLine(l -> l.equals(app + " ready"), START);
    } catch (AssertionError | RuntimeException e) {
      child.close();
      throw e;
    }
    return child;
  }

  private static String console(Child console) throws InterruptedException {
    String line = console.awaitLine(l -> l.startsWith("Serving the Brook console of "), START);
    Matcher m = Pattern.compile(" at (http://127\\.0\\.0\\.1:\\d+/)").matcher(line);
    assertThat(m.find()).as("URL in: %s", line).isTrue();
    return m.group(1);
  }

  private static String rows() {
    return "document.querySelectorAll('#brokers tbody tr').length";
  }

  @Test
  void brokersAppearAndGo_deadLetterShowsAndReplays(RedisServer redis, @TempDir Path tmp) throws Exception {
    Path fixed = tmp.resolve("fixed");
    try (Child a = service(redis, "orders-a", fixed); Child b = service(redis, "orders-b", fixed);
        Child console = new Child(brook("console", "--url", redis.url(), "--port", "0"));
        Chromium page = new Chromium(tmp.resolve("chromium"));
        RedisBroker publisher = RedisBroker.builder().url(redis.url()).announce(false).build()) {
      String url = console(console);
      page.navigate(url);
      page.await(rows() + " === 2", WAIT);
      page.await("document.body.innerText.includes('orders-a') && document.body.innerText.includes('orders-b')", WAIT);
      page.screenshot(DOCS.resolve("console-brokers.png"));

      b.kill(WAIT);
      page.await(rows() + " === 1", WAIT);
      assertThat(page.eval("document.querySelector('#brokers tbody tr').dataset.app").asText()).isEqualTo("orders-a");

      publisher.publish("poison-1", list("console-jobs"));
      String row = "document.querySelector('#destinations tr[data-destination=\"console-jobs\"]')";
      page.await(row + " && " + row + ".querySelector('.dl-count').textContent.startsWith('1')", WAIT);
      page.eval(row + ".querySelector('button.show-dl').click()");
      page.await("document.querySelector('.letter .error') && document.querySelector('.letter .error').textContent"
          + ".includes('cannot handle poison-1 yet')", WAIT);
      page.screenshot(DOCS.resolve("console-dead-letters.png"));

      Files.writeString(fixed, "fixed"); // the handler is fixed
      page.eval("document.querySelector('.letter button.replay').click()");
      a.awaitLine(l -> l.equals("handled poison-1"), WAIT);
      page.await(row + ".querySelector('.dl-count').textContent.startsWith('0')", WAIT);
      page.await("document.querySelectorAll('.letter').length === 0", WAIT);
    }
  }

  @Test
  void aDelayedJobShowsAndPromoteNowDeliversIt(RedisServer redis, @TempDir Path tmp) throws Exception {
    // An AsyncAPI document for a list the console publishes to: its payload must have an integer id.
    Path doc = Files.writeString(tmp.resolve("asyncapi.json"), """
        {"asyncapi": "3.0.0", "info": {"title": "orders", "version": "1"},
         "channels": {"list.console-orders": {"address": "console-orders", "bindings": {"redis": {"kind": "list"}},
           "messages": {"Order": {"$ref": "#/components/messages/Order"}}}},
         "components": {"messages": {"Order": {"name": "Order", "contentType": "application/json",
             "payload": {"$ref": "#/components/schemas/Order"}}},
           "schemas": {"Order": {"type": "object", "required": ["id"], "properties": {"id": {"type": "integer"}}}}}}
        """);
    try (Child a = service(redis, "orders-delayed", tmp.resolve("fixed"));
        Child console = new Child(brook("console", "--url", redis.url(), "--port", "0", "--asyncapi", doc.toString()));
        Chromium page = new Chromium(tmp.resolve("chromium"));
        RedisBroker publisher = RedisBroker.builder().url(redis.url()).announce(false).build()) {
      publisher.publish("monthly-report-11", list("console-jobs"),
          java.util.Map.of("correlation_id", "report-11"), PublishOptions.delay(Duration.ofHours(1)));
      publisher.publish("later-2", list("console-jobs"), PublishOptions.delay(Duration.ofHours(3)));
      var nightly = publisher.schedule("nightly-report", Schedule.every(Duration.ofMillis(500)), () -> "tick",
          dev.brook.redis.Redis.channel("reports"));
      try {
        page.navigate(console(console));
        String row = "document.querySelector('#destinations tr[data-destination=\"console-jobs\"]')";
        page.await(row + " && " + row + ".querySelector('.dj-count').textContent.startsWith('2')", WAIT);
        page.await("document.querySelector('#schedules tr[data-schedule=\"nightly-report\"]')", WAIT);
        page.eval(row + ".querySelector('button.show-dj').click()");
        page.await("document.querySelectorAll('#dj-list .job').length === 2", WAIT);
        assertThat(page.eval("document.querySelector('#dj-list .job .payload').textContent").asText()).contains("monthly");
        page.screenshot(DOCS.resolve("console-delayed.png"));

        page.eval("document.querySelector('#dj-list .job button.promote').click()");
        a.awaitLine(l -> l.equals("handled monthly-report-11"), WAIT); // in the service's JVM
        page.await("document.querySelectorAll('#dj-list .job').length === 1", WAIT);
        page.await(row + ".querySelector('.dj-count').textContent.startsWith('1')", WAIT);
        assertThat(page.eval("document.querySelector('#dj-list .job .payload').textContent").asText()).isEqualTo("later-2");

        // The publish form: a payload the AsyncAPI schema refuses names the field; a valid one goes.
        page.eval("document.getElementById('pub-kind').value = 'list';"
            + "document.getElementById('pub-destination').value = 'console-orders';"
            + "document.getElementById('pub-payload').value = '{\"id\": \"seven\"}';"
            + "document.querySelector('#publish button').click()");
        page.await("document.body.dataset.lastAction === 'refused'", WAIT);
        assertThat(page.eval("document.getElementById('message').textContent").asText())
            .contains("400", "message Order", "field 'id'");
        page.eval("document.getElementById('pub-payload').value = '{\"id\": 7}';"
            + "document.querySelector('#publish button').click()");
        page.await("document.body.dataset.lastAction === 'ok'", WAIT);
        assertThat((Long) redis.command("LLEN", "console-orders")).isEqualTo(1);
      } finally {
        nightly.cancel();
      }
    }
  }

  @Test
  void readOnlyConsoleRefusesAClick(RedisServer redis, @TempDir Path tmp) throws Exception {
    try (Child a = service(redis, "orders-ro", tmp.resolve("fixed"));
        Child console = new Child(brook("console", "--url", redis.url(), "--port", "0", "--read-only"));
        Chromium page = new Chromium(tmp.resolve("chromium"))) {
      page.navigate(console(console));
      page.await("document.querySelector('#brokers button.pause')", WAIT);
      assertThat(page.eval("document.getElementById('mode').textContent").asText()).isEqualTo("read-only");
      page.eval("document.querySelector('#brokers button.pause').click()");
      page.await("document.body.dataset.lastAction === 'refused'", WAIT);
      assertThat(page.eval("document.getElementById('message').textContent").asText()).contains("403", "read-only");
      page.screenshot(DOCS.resolve("console-read-only.png"));
      // Still running: the next announcements keep showing it (the pause button stays).
      assertThat((Long) redis.command("EXISTS", "brook:control:{" + page.eval(
          "document.querySelector('#brokers tbody tr').dataset.id").asText() + "}")).isZero();
    }
  }

  @Test
  void anActionWithoutTheTokenIsRefused_withItDone(RedisServer redis, @TempDir Path tmp) throws Exception {
    try (Child a = service(redis, "orders-token", tmp.resolve("fixed"));
        Child console = new Child(brook("console", "--url", redis.url(), "--port", "0", "--token", "s3cret"));
        Chromium page = new Chromium(tmp.resolve("chromium"))) {
      page.navigate(console(console));
      page.await("document.querySelector('#brokers button.pause')", WAIT);
      page.eval("document.querySelector('#brokers button.pause').click()");
      page.await("document.body.dataset.lastAction === 'refused'", WAIT);
      assertThat(page.eval("document.getElementById('message').textContent").asText()).contains("403", "token");

      page.eval("document.getElementById('token').value = 's3cret'; document.querySelector('#brokers button.pause').click()");
      page.await("document.body.dataset.lastAction === 'ok'", WAIT);
      page.await("document.querySelector('#brokers .state-STOPPED') && document.querySelector('#brokers .state-STOPPED')"
          + ".textContent === 'PAUSED'", WAIT);
      page.screenshot(DOCS.resolve("console-paused.png"));
      page.eval("document.querySelector('#brokers button.resume').click()");
      page.await("document.querySelector('#brokers .state-RUNNING')", WAIT);
    }
  }
}
