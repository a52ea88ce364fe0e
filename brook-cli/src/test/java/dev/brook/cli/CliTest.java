package dev.brook.cli;

import static dev.brook.redis.Redis.channel;
import static dev.brook.redis.Redis.list;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import dev.brook.asyncapi.OfficialSchema;
import dev.brook.redis.RedisBroker;
import dev.brook.testing.RedisServer;
import dev.brook.testing.WithRedisServer;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The commands in process (fast): help, errors and exit codes, {@code docs gen}, and {@code
 * publish} against a private redis-server. {@code CliEndToEndIT} runs the packaged jar.
 */
@WithRedisServer
class CliTest {

  /** One run of the CLI: exit code, standard output and standard error. */
  record Run(int code, String out, String err) {
    List<String> errLines() {
      return err.lines().toList();
    }
  }

  static Run brook(String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    int code = Main.execute(args, new PrintWriter(out, true), new PrintWriter(err, true));
    return new Run(code, out.toString(), err.toString());
  }

  @Test
  void help_onEveryCommand() {
    for (String[] command : new String[][] {{}, {"run"}, {"publish"}, {"docs"}, {"docs", "gen"}, {"docs", "serve"}, {"health"}}) {
      String[] args = java.util.stream.Stream.concat(java.util.Arrays.stream(command), java.util.stream.Stream.of("--help"))
          .toArray(String[]::new);
      Run run = brook(args);
      String name = String.join(" ", java.util.stream.Stream.concat(java.util.stream.Stream.of("brook"), java.util.Arrays.stream(command)).toList());
      assertThat(run.code()).as("exit code of %s --help", name).isZero();
      assertThat(run.out()).as("help of %s", name).startsWith("Usage: " + name + " ").contains("-h, --help");
      assertThat(run.err()).isEmpty();
    }
    assertThat(brook("--version").out()).startsWith("brook 0.1.0");
  }

  @Test
  void console_refusesAMissingOrForeignAsyncApiDocument_beforeConnecting(@org.junit.jupiter.api.io.TempDir java.nio.file.Path tmp)
      throws Exception {
    // Port 1: nothing listens, so reaching Redis would be another error; the document is checked first.
    Run missing = brook("console", "--url", "redis://127.0.0.1:1", "--port", "0", "--asyncapi", tmp.resolve("none.json").toString());
    assertThat(missing.code()).isNotZero();
    assertThat(missing.err()).contains("No AsyncAPI file", "none.json");
    java.nio.file.Path openApi = java.nio.file.Files.writeString(tmp.resolve("openapi.json"), "{\"openapi\": \"3.1.0\"}");
    Run foreign = brook("console", "--url", "redis://127.0.0.1:1", "--port", "0", "--asyncapi", openApi.toString());
    assertThat(foreign.code()).isNotZero();
    assertThat(foreign.err()).contains("AsyncAPI").doesNotContain("127.0.0.1:1");
  }

  @Test
  void wrongCommandLine_isOneLineOnStderr_andExitCode2() {
    Run unknown = brook("publish", "--channel", "orders", "--bogus", "{}");
    assertThat(unknown.code()).isEqualTo(2);
    assertThat(unknown.out()).isEmpty();
    assertThat(unknown.errLines()).containsExactly("brook publish: Unknown option: '--bogus' (see 'brook publish --help')");

    Run twoTargets = brook("publish", "--channel", "a", "--list", "b", "{}");
    assertThat(twoTargets.code()).isEqualTo(2);
    assertThat(twoTargets.errLines()).hasSize(1).first().asString()
        .startsWith("brook publish: Error: --channel=NAME, --list=NAME are mutually exclusive");

    Run noCommand = brook();
    assertThat(noCommand.code()).isEqualTo(2);
    assertThat(noCommand.errLines()).containsExactly("brook: Missing a command: run, publish, docs, health or console (see 'brook --help')");

    Run notJson = brook("publish", "--channel", "orders", "{id: 1");
    assertThat(notJson.code()).isEqualTo(2);
    assertThat(notJson.errLines()).hasSize(1).first().asString()
        .startsWith("brook publish: The payload is not JSON (")
        .endsWith("Quote it for the shell, e.g. '{\"id\": 1}', or pass --text to send text (see 'brook publish --help')");

    Run timeoutWithoutRequest = brook("publish", "--channel", "orders", "--timeout", "5s", "{}");
    assertThat(timeoutWithoutRequest.errLines())
        .containsExactly("brook publish: --timeout is for --request; add --request or leave it out (see 'brook publish --help')");

    Run badDuration = brook("publish", "--channel", "orders", "--request", "--timeout", "soon", "{}");
    assertThat(badDuration.code()).isEqualTo(2);
    assertThat(badDuration.err()).contains("'soon' is not a duration; write e.g. 500ms, 5s, 2m or PT5S");
  }

  @Test
  void noRedis_isOneLine_exitCode1_andNeverThePassword() {
    Run run = brook("publish", "--url", "redis://app:hunter2@127.0.0.1:1", "--channel", "orders", "{\"id\": 1}");

    assertThat(run.code()).isEqualTo(1);
    assertThat(run.errLines()).hasSize(1).first().asString()
        .startsWith("brook publish: No Redis at redis://app:****@127.0.0.1:1");
    assertThat(run.out() + run.err()).doesNotContain("hunter2");

    Run positional = brook("publish", "--channel", "orders", "{}", "redis://app:hunter2@example:1");
    assertThat(positional.code()).isEqualTo(2);
    assertThat(positional.err()).contains("redis://app:****@example:1").doesNotContain("hunter2");
  }

  @Test
  void unknownService_namesTheClassAndTheFix() {
    Run missing = brook("docs", "gen", "com.acme.Nope");
    assertThat(missing.code()).isEqualTo(1);
    assertThat(missing.errLines()).containsExactly("brook docs gen: Class com.acme.Nope not found. Pass the service's jars or "
        + "class directories with --classpath, and the class's full name (e.g. com.acme.Orders).");

    Run noFactory = brook("docs", "gen", "java.lang.String");
    assertThat(noFactory.errLines()).containsExactly("brook docs gen: java.lang.String has no App factory: add 'public static "
        + "App app()' (or app(String redisUrl)) returning the service's App or Broker, or name another method as "
        + "java.lang.String#method.");

    Run noMethod = brook("docs", "gen", "dev.brook.cli.testapp.DocsService#nope");
    assertThat(noMethod.errLines()).containsExactly("brook docs gen: dev.brook.cli.testapp.DocsService has no factory method "
        + "nope: write 'public static App nope()' or 'nope(String redisUrl)' returning an App or a Broker.");

    Run badPath = brook("run", "--classpath", "/no/such/dir", "com.acme.Orders");
    assertThat(badPath.errLines()).containsExactly("brook run: The class path entry /no/such/dir does not exist; pass jars "
        + "and class directories separated by ':'.");
  }

  @Test
  void run_mainClass_getsTheArgumentsAfterTheDoubleDash_andTheUrlAsSystemProperty() {
    String before = System.getProperty("brook.redis.url");
    try {
      Run run = brook("run", "dev.brook.cli.testapp.Hello", "--url", "redis://127.0.0.1:6390", "--log-level", "warn",
          "--", "one", "--two");
      assertThat(run.code()).as(run.err()).isZero();
      assertThat(dev.brook.cli.testapp.Hello.SEEN).containsExactly("one", "--two", "url=redis://127.0.0.1:6390");
    } finally {
      if (before == null) {
        System.clearProperty("brook.redis.url");
      } else {
        System.setProperty("brook.redis.url", before);
      }
    }
  }

  @Test
  void run_factoryWhoseRedisIsDown_failsWithOneLine_andArgumentsForAFactoryAreRefused() {
    Run down = brook("run", "dev.brook.cli.testapp.OrderService", "--url", "redis://app:hunter2@127.0.0.1:1", "--log-level", "off");
    assertThat(down.code()).isEqualTo(1);
    assertThat(down.errLines()).hasSize(1).first().asString().startsWith("brook run: No Redis at redis://app:****@127.0.0.1:1");
    assertThat(down.out() + down.err()).doesNotContain("hunter2");

    Run args = brook("run", "dev.brook.cli.testapp.OrderService", "--log-level", "off", "--", "extra");
    assertThat(args.code()).isEqualTo(1);
    assertThat(args.errLines()).containsExactly("brook run: dev.brook.cli.testapp.OrderService#app is an App factory and "
        + "takes no arguments; arguments after TARGET are for a main method. Configure the service in its factory or with "
        + "system properties.");
  }

  @Test
  void docsGen_writesAValidDocument_asJsonOrYaml(@TempDir Path dir) throws Exception {
    Run json = brook("docs", "gen", "dev.brook.cli.testapp.DocsService", "--url", "redis://app:hunter2@redis.internal:6380/1");
    assertThat(json.code()).as(json.err()).isZero();
    JsonNode doc = OfficialSchema.assertValidJson(json.out());
    assertThat(doc.at("/info/title").asText()).isEqualTo("DocsService");
    assertThat(doc.at("/servers/redis/host").asText()).isEqualTo("redis.internal:6380");
    assertThat(json.out()).doesNotContain("hunter2");
    assertThat(doc.path("channels").properties()).extracting(Map.Entry::getKey).contains("channel.orders", "channel.receipts",
        "list.jobs", "stream.job-results", "stream.events.billing", "pattern.alerts.region.severity", "reply");
    // The annotated handler declares its result: the send operation and the reply carry Receipt.
    assertThat(doc.at("/operations/send.channel.receipts/messages/0/$ref").asText()).isEqualTo("#/channels/channel.receipts/messages/Receipt");
    assertThat(doc.at("/operations/receive.dev.brook.cli.testapp.OrderService_OrderHandlers_onOrder/reply/messages/0/$ref").asText())
        .isEqualTo("#/channels/reply/messages/Receipt");
    assertThat(doc.at("/components/schemas/Job/properties/task/pattern").asText()).isEqualTo("^(?:[a-z]+)$");

    Path file = dir.resolve("docs/asyncapi.yaml");
    Run yaml = brook("docs", "gen", "dev.brook.cli.testapp.DocsService#other", "--yaml", "--out", file.toString(),
        "--title", "Other", "--api-version", "2.0.0", "--description", "The other one.");
    assertThat(yaml.code()).as(yaml.err()).isZero();
    assertThat(yaml.out()).isEmpty();
    assertThat(yaml.errLines()).containsExactly("Wrote " + file + " (1 channels, 1 operations).");
    JsonNode other = OfficialSchema.assertValidYaml(Files.readString(file));
    assertThat(other.at("/info/title").asText()).isEqualTo("Other");
    assertThat(other.at("/info/version").asText()).isEqualTo("2.0.0");
    assertThat(other.at("/info/description").asText()).isEqualTo("The other one.");
  }

  @Test
  void publish_sendsJsonWithHeaders_orText(RedisServer redis) throws Exception {
    List<String> received = new CopyOnWriteArrayList<>();
    try (RedisBroker broker = RedisBroker.create(redis.url())) {
      broker.subscriber(channel("orders")).handle(JsonNode.class, (order, ctx) -> {
        received.add(order + " " + ctx.header("content-type") + " tenant=" + ctx.header("tenant") + " id=" + ctx.correlationId());
        return null;
      });
      broker.subscriber(channel("lines")).handle(String.class, (line, ctx) -> {
        received.add(line + " " + ctx.header("content-type"));
        return null;
      });
      broker.start();

      Run json = brook("publish", "--url", redis.url(), "--channel", "orders", "-H", "tenant=acme", "--header", "x=1",
          "{\"id\": 7, \"item\": \"book\"}");
      Run text = brook("publish", "--url", redis.url(), "--channel", "lines", "--text", "hello there");

      assertThat(json.code()).as(json.err()).isZero();
      assertThat(text.code()).as(text.err()).isZero();
      assertThat(json.out()).isEmpty();
      String correlationId = json.err().replaceAll("(?s).*correlation_id ([0-9a-f-]+)\\).*", "$1");
      assertThat(json.errLines()).containsExactly("Published to channel:orders (correlation_id " + correlationId + ").");
      await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(received).containsExactlyInAnyOrder(
          "{\"id\":7,\"item\":\"book\"} application/json tenant=acme id=" + correlationId,
          "hello there text/plain"));
    }
  }

  @Test
  void publish_toAList_isRpush(RedisServer redis) {
    Run run = brook("publish", "--url", redis.url(), "--list", "jobs", "{\"task\": \"resize\"}");
    assertThat(run.code()).as(run.err()).isZero();
    assertThat(redis.command("LLEN", "jobs")).isEqualTo(1L);
  }

  @Test
  void publishRequest_printsTheReply_orSaysNobodyReplied(RedisServer redis) {
    try (RedisBroker broker = RedisBroker.create(redis.url())) {
      broker.subscriber(channel("orders")).handle(JsonNode.class,
          (order, ctx) -> Map.of("orderId", order.path("id").asLong(), "tenant", String.valueOf(ctx.header("tenant"))));
      broker.start();

      Run reply = brook("publish", "--url", redis.url(), "--channel", "orders", "--request", "--timeout", "5s",
          "-H", "tenant=acme", "{\"id\": 7}");
      assertThat(reply.code()).as(reply.err()).isZero();
      assertThat(reply.out().strip()).isIn("{\"orderId\":7,\"tenant\":\"acme\"}", "{\"tenant\":\"acme\",\"orderId\":7}");

      Run silence = brook("publish", "--url", redis.url(), "--channel", "nobody-here", "--request", "--timeout", "300ms", "{}");
      assertThat(silence.code()).isEqualTo(1);
      assertThat(silence.errLines()).containsExactly("brook publish: No reply from channel:nobody-here within 300 ms (Redis at "
          + redis.url() + "). Check that a service subscribes there and replies, or wait longer with --timeout.");
    }
  }

  @Test
  void health_urlOnly_upWithTheRoundTrip_orDownWithExitCode3(RedisServer redis) {
    Run up = brook("health", "--url", redis.url());
    assertThat(up.code()).isZero();
    assertThat(up.out()).startsWith("UP  " + redis.url() + "  reachable, round trip ").endsWith(" ms\n");
    assertThat(up.err()).isEmpty();

    Run json = brook("health", "--url", redis.url(), "--json");
    assertThat(json.code()).isZero();
    assertThat(json.out()).startsWith("{\"status\":\"UP\",\"server\":{\"name\":\"" + redis.url()
        + "\",\"reachable\":true,\"roundTripMillis\":").endsWith("},\"subscriptions\":[],\"problems\":[]}\n");

    Run down = brook("health", "--url", "redis://app:hunter2@127.0.0.1:1", "--timeout", "300ms");
    assertThat(down.code()).isEqualTo(3);
    assertThat(down.out()).startsWith("DOWN  redis://app:****@127.0.0.1:1  not reachable\n").doesNotContain("hunter2");
  }

  @Test
  void health_ofAService_printsEachSubscriptionsBacklog_withoutStartingIt(RedisServer redis) {
    redis.command("XGROUP", "CREATE", "cli-events", "g", "$", "MKSTREAM");
    for (int i = 0; i < 3; i++) {
      redis.command("XADD", "cli-events", "*", "__data__", "e" + i);
    }
    redis.command("RPUSH", "cli-jobs", "a", "b");
    redis.command("RPUSH", "{cli-jobs}:dlq", "dead");

    Run run = brook("health", "dev.brook.cli.testapp.JobService", "--url", redis.url(), "--json");
    assertThat(run.code()).isZero();
    assertThat(run.out()).contains("\"subscriptions\":[{\"id\":\"events\",\"destination\":\"stream:cli-events/g/w1\","
        + "\"length\":3,\"lag\":3,\"pending\":0,\"consumerPending\":0,\"processing\":-1,\"deadLetters\":0},"
        + "{\"id\":\"jobs\",\"destination\":\"list:cli-jobs\",\"length\":2,\"lag\":-1,\"pending\":-1,"
        + "\"consumerPending\":-1,\"processing\":0,\"deadLetters\":1}],\"problems\":[]}");
    // Nothing was consumed.
    assertThat(redis.command("LLEN", "cli-jobs")).isEqualTo(2L);

    Run lagging = brook("health", "dev.brook.cli.testapp.JobService", "--url", redis.url(), "--max-lag", "2");
    assertThat(lagging.code()).isZero();
    assertThat(lagging.out()).startsWith("DEGRADED  " + redis.url() + "  reachable")
        .contains("  - subscription 'events': its group lags 3 entries behind the stream (max-lag 2)\n")
        .contains("  events  stream:cli-events/g/w1  length 3  lag 3  pending 0  consumer pending 0  dead letters 0\n")
        .contains("  jobs  list:cli-jobs  length 2  processing 0  dead letters 1\n");
  }
}
