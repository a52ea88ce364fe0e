package dev.brook.console;

import static dev.brook.redis.Redis.list;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.brook.PublishOptions;
import dev.brook.redis.RedisBroker;
import dev.brook.redis.Schedule;
import dev.brook.testing.RedisCluster;
import dev.brook.testing.RedisSentinel;
import dev.brook.testing.RedisSentinelExtension;
import dev.brook.testing.WithRedisCluster;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The console on a Redis Cluster ({@code redis-cluster://}) and through Sentinel ({@code
 * redis-sentinel://}): the brokers' index, dead letters (list, replay), delayed jobs with promote
 * now, and the key scans (processing lists, schedules) — on a cluster those keys live on different
 * masters, and the console finds them all. Requests go straight to {@link BrookConsole#respond}.
 */
class ConsoleTopologiesTest {

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Duration WAIT = Duration.ofSeconds(30);

  private final Deque<AutoCloseable> toClose = new ArrayDeque<>();

  @AfterEach
  void close() throws Exception {
    while (!toClose.isEmpty()) {
      toClose.pop().close();
    }
  }

  private static JsonNode get(BrookConsole console, String path, String query) throws Exception {
    BrookConsole.Response r = console.respond(new BrookConsole.Request("GET", "/", path, query, null, true, new byte[0]));
    assertThat(r.status()).as(new String(r.body(), StandardCharsets.UTF_8)).isEqualTo(200);
    return JSON.readTree(r.body());
  }

  private static JsonNode post(BrookConsole console, String action, Map<String, String> body) throws Exception {
    BrookConsole.Response r = console.respond(new BrookConsole.Request("POST", "/", "/api/" + action, null, null, true,
        JSON.writeValueAsBytes(body)));
    assertThat(r.status()).as(new String(r.body(), StandardCharsets.UTF_8)).isEqualTo(200);
    return JSON.readTree(r.body());
  }

  /** Two brokers with a failing-until-fixed list consumer; the console on the same URL. */
  private void brokersDeadLettersAndDelayedJobs(String url, String queue,
      java.util.function.Consumer<String[]> command) throws Exception {
    AtomicBoolean broken = new AtomicBoolean(true);
    List<String> handled = new CopyOnWriteArrayList<>();
    for (String app : List.of("topo-a", "topo-b")) {
      RedisBroker b = RedisBroker.builder().url(url).appName(app).build();
      toClose.push(b);
      b.subscriber(list(queue).deadLetter()).id(queue + "-worker").handle(String.class, (s, ctx) -> {
        if (broken.get() && s.startsWith("poison")) {
          throw new IllegalStateException("cannot handle " + s);
        }
        handled.add(s);
        return null;
      });
      b.start();
    }
    BrookConsole console = BrookConsole.builder().url(url).build();
    toClose.push(console);

    await().atMost(WAIT).until(() -> get(console, "/api/brokers", null).get("brokers").size() == 2);
    assertThat(get(console, "/api/brokers", null).get("brokers").findValuesAsText("app"))
        .containsExactly("topo-a", "topo-b");

    RedisBroker publisher = RedisBroker.builder().url(url).announce(false).build();
    toClose.push(publisher);
    publisher.publish("poison-1", list(queue));
    String q = "kind=list&destination=" + queue;
    await().atMost(WAIT).until(() -> get(console, "/api/deadletters", q).get("count").asLong() == 1);
    JsonNode letter = get(console, "/api/deadletters", q).get("deadLetters").get(0);
    assertThat(letter.get("error").asText()).contains("cannot handle poison-1");
    broken.set(false);
    assertThat(post(console, "replay", Map.of("kind", "list", "destination", queue, "id", letter.get("id").asText()))
        .get("replayed").asInt()).isEqualTo(1);
    await().atMost(WAIT).until(() -> handled.contains("poison-1"));

    // A processing list ({queue}:processing:<consumer>) exists while a message is in flight (Redis
    // drops an empty list): one left by a consumer that died mid-message is found by SCAN.
    command.accept(new String[] {"RPUSH", "{" + queue + "}:processing:crashed", "in-flight"});
    await().atMost(WAIT).until(() -> overviewOf(console, queue).get("processing").findValuesAsText("consumer")
        .contains("crashed"));

    publisher.publish("later", list(queue), PublishOptions.delay(Duration.ofHours(1)));
    JsonNode delayed = get(console, "/api/delayed", q);
    assertThat(delayed.get("count").asLong()).isEqualTo(1);
    assertThat(post(console, "promote", Map.of("kind", "list", "destination", queue,
        "id", delayed.get("delayed").get(0).get("id").asText())).get("promoted").asBoolean()).isTrue();
    await().atMost(WAIT).until(() -> handled.contains("later"));
  }

  private static JsonNode overviewOf(BrookConsole console, String queue) throws Exception {
    for (JsonNode d : get(console, "/api/overview", null).get("destinations")) {
      if (d.get("name").asText().equals(queue)) {
        return d;
      }
    }
    throw new AssertionError("no destination " + queue);
  }

  @Nested
  @WithRedisCluster(shared = true)
  class OnACluster {

    private final RedisCluster cluster;

    OnACluster(RedisCluster cluster) {
      this.cluster = cluster;
    }

    @Test
    void brokersDeadLettersDelayedJobsAndScansAcrossTheMasters() throws Exception {
      brokersDeadLettersAndDelayedJobs(cluster.url(), "cjobs", cluster::command);
      // Schedules on two other masters than the queue's: the console SCANs every master.
      String queueMaster = cluster.masterFor("{cjobs}:processing:x").url();
      List<String> names = new java.util.ArrayList<>();
      for (int i = 0; names.size() < 2 && i < 200; i++) {
        String name = "nightly-" + i;
        String master = cluster.masterFor("{brook:schedule:" + name + "}:last").url();
        if (!master.equals(queueMaster) && names.stream().noneMatch(n -> cluster.masterFor(
            "{brook:schedule:" + n + "}:last").url().equals(master))) {
          names.add(name);
        }
      }
      assertThat(names).hasSize(2);
      RedisBroker scheduler = RedisBroker.builder().url(cluster.url()).announce(false).build();
      toClose.push(scheduler);
      for (String name : names) {
        scheduler.schedule(name, Schedule.every(Duration.ofMillis(200)), () -> "tick", dev.brook.redis.Redis.channel("ticks"));
      }
      BrookConsole console = BrookConsole.builder().url(cluster.url()).readOnly(true).build();
      toClose.push(console);
      await().atMost(WAIT).until(() -> get(console, "/api/schedules", null).get("schedules").findValuesAsText("name")
          .containsAll(names));
    }
  }

  @Nested
  class ThroughSentinel {

    @RegisterExtension
    static RedisSentinelExtension sentinel = new RedisSentinelExtension(b -> {});

    @Test
    void brokersDeadLettersAndDelayedJobs(RedisSentinel sentinel) throws Exception {
      assertThat(sentinel.url()).startsWith("redis-sentinel://");
      ConsoleTopologiesTest.this.brokersDeadLettersAndDelayedJobs(sentinel.url(), "sjobs", sentinel.primary()::command);
    }
  }
}
