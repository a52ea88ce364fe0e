package dev.brook.tests;

import static dev.brook.redis.Redis.list;
import static dev.brook.redis.Redis.stream;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.brook.PublishOptions;
import dev.brook.redis.RedisBroker;
import dev.brook.testing.RedisSentinel;
import dev.brook.testing.RedisServer;
import dev.brook.testing.WithRedisSentinel;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;

/**
 * close() releases what a broker on a Sentinel setup ({@code redis-sentinel://}) opens: its links to
 * the sentinels, its command connection, the durable connection of {@code waitForReplicas}, consume
 * connections and the sharded Pub/Sub wake-up of delayed messages — counted on every process of the
 * setup with {@code CLIENT LIST} (the sentinels' own links and replication left out), and the
 * {@code brook-} platform threads. (LeakCheckExtension, registered for every class of this module,
 * now counts a Sentinel setup's clients too.)
 */
@WithRedisSentinel
class CloseReleasesSentinelTest {

  private static final Duration SECOND = Duration.ofSeconds(1);

  @Test
  void aSentinelBrokerWithDurablePublishesAndDelayedJobsLeavesNoConnectionOrThreadBehind(RedisSentinel sentinel) {
    Map<String, Long> before = clients(sentinel);
    long sentinelConnectionsBefore = connectionsReceived(sentinel.sentinels());
    long threadsBefore = brookPlatformThreads();
    List<String> got = new CopyOnWriteArrayList<>();
    RedisBroker broker = RedisBroker.builder().url(sentinel.url()).waitForReplicas(1, SECOND).build();
    try {
      broker.subscriber(stream("events").group("g")).handle(String.class, (s, ctx) -> got.add(s));
      broker.subscriber(list("jobs")).handle(String.class, (s, ctx) -> got.add(s));
      broker.start();
      broker.publish("e1", stream("events")); // durable: on the durable connection, with a WAIT
      broker.publish("j1", list("jobs"));
      broker.publish("later", stream("events"), PublishOptions.delay(Duration.ofMillis(200)));
      await().atMost(Duration.ofSeconds(10)).until(() -> got.containsAll(List.of("e1", "j1", "later")));
      // Once the delayed set was seen in use the stream's consumer listens for wake-ups (SSUBSCRIBE).
      await().atMost(Duration.ofSeconds(5)).until(() -> shardSubscribers(sentinel.primary()) >= 1);
      Map<String, Long> during = clients(sentinel);
      assertThat(during.get("primary")).as("command, durable, two consume connections, the wake-up")
          .isGreaterThanOrEqualTo(before.get("primary") + 5);
      // The broker asked the sentinels for the primary (Lettuce closes those links once it knows).
      assertThat(connectionsReceived(sentinel.sentinels())).as("connections the sentinels accepted")
          .isGreaterThan(sentinelConnectionsBefore);
      assertThat(sentinels(during)).as("links to the sentinels still open").isGreaterThanOrEqualTo(sentinels(before));
    } finally {
      broker.close();
    }
    // What the broker's close does not wait for (a connection's socket closing) ends within moments.
    await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> assertThat(clients(sentinel)).isEqualTo(before));
    assertThat(shardSubscribers(sentinel.primary())).isZero();
    await().atMost(Duration.ofSeconds(5)).until(() -> brookPlatformThreads() <= threadsBefore);
  }

  /** Clients per process of the setup (primary, replica, sentinel0..2), without the sentinels' and the fixtures' own. */
  private static Map<String, Long> clients(RedisSentinel sentinel) {
    Map<String, Long> out = new LinkedHashMap<>();
    out.put("primary", count(sentinel.primary()));
    out.put("replica", count(sentinel.replica()));
    List<RedisServer> sentinels = new ArrayList<>(sentinel.sentinels());
    for (int i = 0; i < sentinels.size(); i++) {
      out.put("sentinel" + i, count(sentinels.get(i)));
    }
    return out;
  }

  /** {@code total_connections_received} summed over {@code servers} (INFO stats). */
  private static long connectionsReceived(List<RedisServer> servers) {
    long sum = 0;
    for (RedisServer s : servers) {
      for (String line : ((String) s.command("INFO", "stats")).split("\r?\n")) {
        if (line.startsWith("total_connections_received:")) {
          sum += Long.parseLong(line.substring(line.indexOf(':') + 1).trim());
        }
      }
    }
    return sum;
  }

  private static long sentinels(Map<String, Long> clients) {
    return clients.entrySet().stream().filter(e -> e.getKey().startsWith("sentinel")).mapToLong(Map.Entry::getValue).sum();
  }

  private static long count(RedisServer server) {
    return ((String) server.command("CLIENT", "LIST")).lines()
        .filter(l -> !l.contains(" name=" + RedisServer.CLIENT_NAME + " ") && !l.contains(" name=sentinel-"))
        .filter(l -> !flags(l).contains("S") && !flags(l).contains("M")) // replication links
        .count();
  }

  /** Clients with a sharded Pub/Sub subscription ({@code ssub} > 0 in CLIENT LIST). */
  static long shardSubscribers(RedisServer server) {
    return ((String) server.command("CLIENT", "LIST")).lines().filter(l -> !l.contains(" ssub=0 ") && l.contains(" ssub="))
        .count();
  }

  private static String flags(String clientLine) {
    int at = clientLine.indexOf(" flags=");
    int end = clientLine.indexOf(' ', at + 7);
    return at < 0 ? "" : clientLine.substring(at + 7, end < 0 ? clientLine.length() : end);
  }

  static long brookPlatformThreads() {
    return Thread.getAllStackTraces().keySet().stream().filter(t -> t.getName().startsWith("brook-")).count();
  }
}
