package dev.brook.console;

import static dev.brook.redis.Redis.list;
import static dev.brook.redis.Redis.stream;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpServer;
import dev.brook.PublishOptions;
import dev.brook.asyncapi.AsyncApi;
import dev.brook.Subscription;
import dev.brook.redis.Schedule;
import dev.brook.redis.RedisBroker;
import dev.brook.testing.RedisServer;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The console's JSON API on a private redis-server, over the JDK HTTP client: each view (brokers,
 * destinations with list and stream backlog, dead letters with their error), each action (replay,
 * delete, purge, pause/resume, publish), read-only refusal and token refusal.
 */
class ConsoleApiTest {

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Duration WAIT = Duration.ofSeconds(20);

  private RedisServer server;
  private RedisBroker broker;
  private final AtomicBoolean broken = new AtomicBoolean(true);
  private final List<String> handled = new CopyOnWriteArrayList<>();
  private Subscription jobs;
  private HttpClient http;
  private final java.util.Deque<AutoCloseable> toClose = new java.util.ArrayDeque<>();

  @BeforeEach
  void start() throws Exception {
    server = RedisServer.start();
    broker = RedisBroker.builder().url(server.url()).appName("billing").build();
    jobs = broker.subscriber(list("jobs").deadLetter()).id("jobs-worker").handle(String.class, (job, ctx) -> {
      if (broken.get() && job.startsWith("poison")) {
        throw new IllegalStateException("cannot handle " + job);
      }
      handled.add(job);
      return null;
    });
    broker.subscriber(stream("events").group("audit")).id("events-audit").handle(String.class, (e, ctx) -> {
      if (e.startsWith("poison")) {
        throw new IllegalArgumentException("bad event " + e);
      }
      return null;
    });
    broker.start();
    http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
  }

  @AfterEach
  void stop() throws Exception {
    while (!toClose.isEmpty()) {
      toClose.pop().close();
    }
    if (http != null) {
      http.close();
    }
    if (broker != null) {
      broker.close();
    }
    if (server != null) {
      server.close();
    }
  }

  /** Serves a console on 127.0.0.1 and returns its base URI. */
  private URI serve(BrookConsole.Builder options) throws Exception {
    BrookConsole console = options.url(server.url()).build();
    HttpServer httpServer = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
    httpServer.createContext("/", console);
    httpServer.start();
    toClose.push(console);
    toClose.push(() -> httpServer.stop(0));
    return URI.create("http://127.0.0.1:" + httpServer.getAddress().getPort() + "/");
  }

  private JsonNode get(URI base, String path) throws Exception {
    HttpResponse<String> r = http.send(HttpRequest.newBuilder(base.resolve(path)).timeout(Duration.ofSeconds(10)).build(),
        HttpResponse.BodyHandlers.ofString());
    assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
    return JSON.readTree(r.body());
  }

  private HttpResponse<String> post(URI base, String action, Map<String, ?> body, String token) throws Exception {
    HttpRequest.Builder b = HttpRequest.newBuilder(base.resolve("api/" + action)).timeout(Duration.ofSeconds(10))
        .header("Content-Type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofString(JSON.writeValueAsString(body)));
    if (token != null) {
      b.header("Authorization", "Bearer " + token);
    }
    return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
  }

  private JsonNode destination(URI base, String kind, String name) throws Exception {
    for (JsonNode d : get(base, "api/overview").get("destinations")) {
      if (d.get("kind").asText().equals(kind) && d.get("name").asText().equals(name)) {
        return d;
      }
    }
    return null;
  }

  @Test
  void pageAndAssetsAreServedFromTheJar() throws Exception {
    URI base = serve(BrookConsole.builder());
    for (String asset : List.of("", "console.js", "console.css")) {
      HttpResponse<String> r = http.send(HttpRequest.newBuilder(base.resolve(asset)).build(), HttpResponse.BodyHandlers.ofString());
      assertThat(r.statusCode()).isEqualTo(200);
      assertThat(r.body()).doesNotContain("http://", "https://"); // no external requests
    }
  }

  @Test
  void brokersAndDestinationsShowWhatRuns() throws Exception {
    URI base = serve(BrookConsole.builder());
    await().atMost(WAIT).until(() -> get(base, "api/brokers").get("brokers").size() == 1
        && get(base, "api/brokers").get("brokers").get(0).get("subscriptions").size() == 2);
    // A killed broker: its index entry outlives its expired key; the console leaves it out, and prunes it once expired.
    server.command("ZADD", "brook:brokers", Long.toString(System.currentTimeMillis() + 60_000), "killed");
    server.command("ZADD", "brook:brokers", Long.toString(System.currentTimeMillis() - 1), "expired");
    assertThat(get(base, "api/brokers").get("brokers")).hasSize(1);
    assertThat(server.command("ZSCORE", "brook:brokers", "expired")).isNull();
    JsonNode b = get(base, "api/brokers").get("brokers").get(0);
    assertThat(b.get("app").asText()).isEqualTo("billing");
    assertThat(b.get("id").asText()).isEqualTo(broker.instanceId().orElseThrow());
    assertThat(b.get("pid").asLong()).isEqualTo(ProcessHandle.current().pid());

    jobs.stop(); // so that the list keeps its items
    broker.publish("a", list("jobs"));
    broker.publish("b", list("jobs"));
    JsonNode jobsView = destination(base, "list", "jobs");
    assertThat(jobsView.get("length").asLong()).isEqualTo(2);
    assertThat(jobsView.get("deadLetters").asLong()).isZero();

    broker.publish("poison-1", stream("events"));
    await().atMost(WAIT).until(() -> destination(base, "stream", "events").get("deadLetters").asLong() == 1);
    JsonNode events = destination(base, "stream", "events");
    assertThat(events.get("groups")).hasSize(1);
    JsonNode group = events.get("groups").get(0);
    assertThat(group.get("name").asText()).isEqualTo("audit");
    assertThat(group.get("consumers")).hasSize(1);
    assertThat(group.get("pending").asLong()).isZero();
    JsonNode dl = get(base, "api/deadletters?kind=stream&destination=events");
    assertThat(dl.get("count").asLong()).isEqualTo(1);
    assertThat(dl.get("deadLetters").get(0).get("error").asText()).contains("bad event poison-1");
    assertThat(dl.get("deadLetters").get(0).get("payload").asText()).isEqualTo("poison-1");
  }

  @Test
  void aPartitionedStreamShowsEachPartitionAndTheirSums() throws Exception {
    URI base = serve(BrookConsole.builder());
    broker.subscriber(stream("orders").partitions(3).group("billing").maxDeliveries(1)).id("orders-billing")
        .handle(String.class, (o, ctx) -> {
          if (o.startsWith("poison")) {
            throw new IllegalStateException("cannot bill " + o);
          }
          return null;
        });
    for (int i = 0; i < 6; i++) {
      broker.publish("poison-" + i, stream("orders").partitions(3), "key-" + i);
    }
    await().atMost(WAIT).untilAsserted(() -> {
      JsonNode all = destination(base, "stream", "orders");
      assertThat(all).isNotNull();
      assertThat(all.get("partitions").asInt()).isEqualTo(3);
      assertThat(all.get("deadLetters").asLong()).isEqualTo(6);
    });
    long perPartition = 0;
    for (int i = 0; i < 3; i++) {
      JsonNode p = destination(base, "stream", "{orders:" + i + "}");
      assertThat(p).as("partition %d", i).isNotNull();
      assertThat(p.get("partitionOf").asText()).isEqualTo("orders");
      perPartition += p.get("deadLetters").asLong();
      // Each partition's dead letters are readable on their own, like any stream's.
      assertThat(get(base, "api/deadletters?kind=stream&destination=" + java.net.URLEncoder.encode("{orders:" + i + "}",
          java.nio.charset.StandardCharsets.UTF_8)).get("count").asLong()).isEqualTo(p.get("deadLetters").asLong());
    }
    assertThat(perPartition).isEqualTo(6);
  }

  @Test
  void replayDeleteAndPurgeDeadLetters() throws Exception {
    URI base = serve(BrookConsole.builder());
    broker.publish("poison-1", list("jobs"), Map.of("tenant", "a"));
    broker.publish("poison-2", list("jobs"), Map.of("tenant", "b"));
    broker.publish("poison-3", list("jobs"), Map.of("tenant", "b"));
    await().atMost(WAIT).until(() -> get(base, "api/deadletters?kind=list&destination=jobs").get("count").asLong() == 3);
    JsonNode letters = get(base, "api/deadletters?kind=list&destination=jobs").get("deadLetters");
    assertThat(letters.get(0).get("error").asText()).contains("cannot handle poison-1");
    assertThat(letters.get(0).get("headers").get("tenant").asText()).isEqualTo("a");

    broken.set(false); // the handler is fixed
    HttpResponse<String> one = post(base, "replay", Map.of("kind", "list", "destination", "jobs",
        "id", letters.get(0).get("id").asText()), null);
    assertThat(one.statusCode()).as(one.body()).isEqualTo(200);
    assertThat(JSON.readTree(one.body()).get("replayed").asInt()).isEqualTo(1);
    await().atMost(WAIT).until(() -> handled.contains("poison-1"));

    broken.set(true);
    String second = get(base, "api/deadletters?kind=list&destination=jobs").get("deadLetters").get(0).get("id").asText();
    HttpResponse<String> del = post(base, "delete", Map.of("kind", "list", "destination", "jobs", "id", second), null);
    assertThat(JSON.readTree(del.body()).get("deleted").asBoolean()).isTrue();
    assertThat(get(base, "api/deadletters?kind=list&destination=jobs").get("count").asLong()).isEqualTo(1);

    broken.set(false);
    HttpResponse<String> none = post(base, "replay", Map.of("kind", "list", "destination", "jobs", "header", "tenant",
        "value", "a"), null);
    assertThat(JSON.readTree(none.body()).get("replayed").asInt()).isZero();
    HttpResponse<String> all = post(base, "replay", Map.of("kind", "list", "destination", "jobs", "header", "tenant",
        "value", "b"), null);
    assertThat(JSON.readTree(all.body()).get("replayed").asInt()).isEqualTo(1);
    await().atMost(WAIT).until(() -> handled.contains("poison-3"));
    assertThat(handled).containsExactly("poison-1", "poison-3");

    broken.set(true);
    broker.publish("poison-4", list("jobs"));
    broker.publish("poison-5", list("jobs"));
    await().atMost(WAIT).until(() -> get(base, "api/deadletters?kind=list&destination=jobs").get("count").asLong() == 2);
    HttpResponse<String> purge = post(base, "purge", Map.of("kind", "list", "destination", "jobs"), null);
    assertThat(JSON.readTree(purge.body()).get("purged").asLong()).isEqualTo(2);
    assertThat(get(base, "api/deadletters?kind=list&destination=jobs").get("count").asLong()).isZero();
  }

  @Test
  void pauseAndResumeReachTheBrokerWithinASecond() throws Exception {
    URI base = serve(BrookConsole.builder());
    await().atMost(WAIT).until(() -> get(base, "api/brokers").get("brokers").size() == 1);
    long start = System.nanoTime();
    HttpResponse<String> pause = post(base, "pause", Map.of("subscription", "jobs-worker"), null);
    assertThat(pause.statusCode()).as(pause.body()).isEqualTo(200);
    assertThat(JSON.readTree(pause.body()).get("brokers").asInt()).isEqualTo(1);
    await().atMost(WAIT).until(() -> jobs.state() == Subscription.State.STOPPED);
    assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(3));
    broker.publish("while-paused", list("jobs"));
    await().atMost(WAIT).until(() -> destination(base, "list", "jobs").get("length").asLong() == 1);

    HttpResponse<String> resume = post(base, "resume", Map.of("subscription", "jobs-worker"), null);
    assertThat(resume.statusCode()).isEqualTo(200);
    await().atMost(WAIT).until(() -> handled.contains("while-paused"));
    assertThat(jobs.state()).isEqualTo(Subscription.State.RUNNING);

    HttpResponse<String> unknown = post(base, "pause", Map.of("subscription", "nobody"), null);
    assertThat(unknown.statusCode()).isEqualTo(400);
  }

  @Test
  void delayedJobsShowAndPromoteNow_schedulesAreListed() throws Exception {
    URI base = serve(BrookConsole.builder());
    long before = System.currentTimeMillis();
    broker.publish("later-1", list("jobs"), Map.of("tenant", "a"), PublishOptions.delay(Duration.ofHours(1)));
    broker.publish("later-2", list("jobs"), PublishOptions.delay(Duration.ofHours(2)));
    broker.publish("later-event", stream("events"), PublishOptions.delay(Duration.ofHours(1)));
    assertThat(destination(base, "list", "jobs").get("delayed").asLong()).isEqualTo(2);
    assertThat(destination(base, "stream", "events").get("delayed").asLong()).isEqualTo(1);

    JsonNode view = get(base, "api/delayed?kind=list&destination=jobs");
    assertThat(view.get("count").asLong()).isEqualTo(2);
    JsonNode first = view.get("delayed").get(0);
    assertThat(first.get("payload").asText()).isEqualTo("later-1");
    assertThat(first.get("headers").get("tenant").asText()).isEqualTo("a");
    // A delay counts from the server's clock: the same machine here, so within a minute of ours.
    assertThat(first.get("dueAt").asLong()).isBetween(before + 3_540_000, System.currentTimeMillis() + 3_660_000);
    assertThat(view.get("delayed").get(1).get("payload").asText()).isEqualTo("later-2");

    HttpResponse<String> promoted = post(base, "promote", Map.of("kind", "list", "destination", "jobs",
        "id", first.get("id").asText()), null);
    assertThat(promoted.statusCode()).as(promoted.body()).isEqualTo(200);
    assertThat(JSON.readTree(promoted.body()).get("promoted").asBoolean()).isTrue();
    await().atMost(WAIT).until(() -> handled.contains("later-1"));
    assertThat(handled).doesNotContain("later-2");
    JsonNode after = get(base, "api/delayed?kind=list&destination=jobs");
    assertThat(after.get("count").asLong()).isEqualTo(1);
    assertThat(after.get("delayed").get(0).get("payload").asText()).isEqualTo("later-2");
    // Promoted once: a second click finds it gone.
    HttpResponse<String> again = post(base, "promote", Map.of("kind", "list", "destination", "jobs",
        "id", first.get("id").asText()), null);
    assertThat(JSON.readTree(again.body()).get("promoted").asBoolean()).isFalse();

    // A stream's brokers announce its maxLen, which promote now trims to (MAXLEN ~, as their promotion).
    broker.subscriber(stream("capped").group("g").maxLen(1000)).id("capped").handle(String.class, (e, ctx) -> null);
    await().atMost(WAIT).until(() -> get(base, "api/brokers").get("brokers").get(0).get("subscriptions")
        .findValues("maxLen").stream().anyMatch(n -> n.asLong() == 1000));
    String eventId = get(base, "api/delayed?kind=stream&destination=events").get("delayed").get(0).get("id").asText();
    assertThat(JSON.readTree(post(base, "promote", Map.of("kind", "stream", "destination", "events", "id", eventId),
        null).body()).get("promoted").asBoolean()).isTrue();
    assertThat((Long) server.command("XLEN", "events")).isEqualTo(1);
    assertThat(get(base, "api/delayed?kind=stream&destination=events").get("count").asLong()).isZero();

    HttpResponse<String> badId = post(base, "promote", Map.of("kind", "list", "destination", "jobs", "id", "x"), null);
    assertThat(badId.statusCode()).isEqualTo(400);
    assertThat(badId.body()).contains("Not a delayed job id");

    var nightly = broker.schedule("nightly", Schedule.every(Duration.ofMillis(200)), () -> "tick", list("ticks"));
    try {
      await().atMost(WAIT).until(() -> get(base, "api/overview").get("schedules").size() == 1);
      JsonNode schedule = get(base, "api/schedules").get("schedules").get(0);
      assertThat(schedule.get("name").asText()).isEqualTo("nightly");
      assertThat(schedule.get("lastTick").asLong()).isBetween(before - 1000, System.currentTimeMillis() + 1000);
    } finally {
      nightly.cancel();
    }
  }

  @Test
  void publishChecksJsonSyntax() throws Exception {
    URI base = serve(BrookConsole.builder());
    HttpResponse<String> ok = post(base, "publish", Map.of("kind", "list", "destination", "jobs", "payload", "from-console"), null);
    assertThat(ok.statusCode()).as(ok.body()).isEqualTo(200);
    await().atMost(WAIT).until(() -> handled.contains("from-console"));
    HttpResponse<String> bad = post(base, "publish", Map.of("kind", "list", "destination", "jobs", "payload", "{\"id\": "), null);
    assertThat(bad.statusCode()).isEqualTo(400);
    assertThat(bad.body()).contains("does not parse");
  }

  /** A payload type the AsyncAPI document describes: {@code quantity} is a primitive, so required. */
  record Order(String id, int quantity, Size size) {}

  enum Size { SMALL, LARGE }

  @Test
  void publishChecksThePayloadAgainstTheAsyncApiSchema() throws Exception {
    List<Order> orders = new CopyOnWriteArrayList<>();
    RedisBroker shop = RedisBroker.builder().url(server.url()).appName("shop").build();
    toClose.push(shop);
    shop.subscriber(list("orders")).id("orders").handle(Order.class, (o, ctx) -> {
      orders.add(o);
      return null;
    });
    shop.start();
    String document = AsyncApi.of(shop).toJson();
    URI base = serve(BrookConsole.builder().asyncApi(document));
    await().atMost(WAIT).until(() -> destination(base, "list", "orders") != null);
    assertThat(destination(base, "list", "orders").get("messages").get(0).asText()).isEqualTo("Order");

    HttpResponse<String> valid = post(base, "publish", Map.of("kind", "list", "destination", "orders",
        "payload", "{\"id\": \"o-1\", \"quantity\": 2, \"size\": \"LARGE\"}"), null);
    assertThat(valid.statusCode()).as(valid.body()).isEqualTo(200);
    await().atMost(WAIT).until(() -> orders.contains(new Order("o-1", 2, Size.LARGE)));

    HttpResponse<String> wrongType = post(base, "publish", Map.of("kind", "list", "destination", "orders",
        "payload", "{\"id\": \"o-2\", \"quantity\": \"two\"}"), null);
    assertThat(wrongType.statusCode()).as(wrongType.body()).isEqualTo(400);
    assertThat(JSON.readTree(wrongType.body()).get("error").asText())
        .contains("AsyncAPI schema of message Order", "list 'orders'", "field 'quantity'");

    HttpResponse<String> missing = post(base, "publish", Map.of("kind", "list", "destination", "orders",
        "payload", "{\"id\": \"o-3\"}"), null);
    assertThat(missing.statusCode()).as(missing.body()).isEqualTo(400);
    assertThat(JSON.readTree(missing.body()).get("error").asText()).contains("field 'quantity'", "required");

    HttpResponse<String> badEnum = post(base, "publish", Map.of("kind", "list", "destination", "orders",
        "payload", "{\"id\": \"o-4\", \"quantity\": 1, \"size\": \"HUGE\"}"), null);
    assertThat(badEnum.statusCode()).as(badEnum.body()).isEqualTo(400);
    assertThat(JSON.readTree(badEnum.body()).get("error").asText()).contains("field 'size'");

    HttpResponse<String> text = post(base, "publish", Map.of("kind", "list", "destination", "orders",
        "payload", "not json"), null);
    assertThat(text.statusCode()).as(text.body()).isEqualTo(400);
    assertThat(JSON.readTree(text.body()).get("error").asText()).contains("not JSON", "message Order");

    // A destination the document does not describe: syntax only, as before.
    HttpResponse<String> other = post(base, "publish", Map.of("kind", "list", "destination", "jobs",
        "payload", "{\"anything\": true}"), null);
    assertThat(other.statusCode()).as(other.body()).isEqualTo(200);
    assertThat(orders).containsExactly(new Order("o-1", 2, Size.LARGE));
  }

  @Test
  void aDocumentThatIsNotAsyncApiIsRefusedAtBuild() {
    org.assertj.core.api.Assertions.assertThatThrownBy(() -> BrookConsole.builder().url(server.url())
        .asyncApi("{\"openapi\": \"3.1.0\"}").build())
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("Not an AsyncAPI 3 document");
  }

  @Test
  void readOnlyRefusesEveryAction() throws Exception {
    URI base = serve(BrookConsole.builder().readOnly(true));
    assertThat(get(base, "api/overview").get("readOnly").asBoolean()).isTrue();
    for (String action : List.of("replay", "delete", "purge", "pause", "resume", "promote", "publish")) {
      HttpResponse<String> r = post(base, action, Map.of("kind", "list", "destination", "jobs", "id", "0",
          "subscription", "jobs-worker", "payload", "x"), null);
      assertThat(r.statusCode()).as(action).isEqualTo(403);
      assertThat(r.body()).contains("read-only");
    }
    assertThat(jobs.state()).isEqualTo(Subscription.State.RUNNING);
  }

  @Test
  void aTokenIsRequiredForActionsWhenSet() throws Exception {
    URI base = serve(BrookConsole.builder().token("s3cret"));
    get(base, "api/overview"); // views need none
    HttpResponse<String> none = post(base, "purge", Map.of("kind", "list", "destination", "jobs"), null);
    assertThat(none.statusCode()).isEqualTo(403);
    assertThat(none.body()).contains("token");
    HttpResponse<String> wrong = post(base, "purge", Map.of("kind", "list", "destination", "jobs"), "nope");
    assertThat(wrong.statusCode()).isEqualTo(403);
    HttpResponse<String> right = post(base, "purge", Map.of("kind", "list", "destination", "jobs"), "s3cret");
    assertThat(right.statusCode()).isEqualTo(200);
  }
}
