package dev.brook.tests;

import static dev.brook.redis.Redis.list;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.brook.Subscription;
import dev.brook.redis.RedisBroker;
import dev.brook.testing.RedisServer;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * A broker's announcement for the console: written at start under its own key with a TTL of at
 * most 6 s, listed in {@code brook:brokers}, renewed, deleted by close; {@code announce(false)}
 * writes nothing; pause/resume commands on the control list stop and start the subscription
 * within a second, keeping its id.
 */
@SuppressWarnings("unchecked")
class AnnouncementTest {

  private static final ObjectMapper JSON = new ObjectMapper();

  @Test
  void aStartedBrokerAnnouncesItselfAndCloseRemovesIt() throws Exception {
    try (RedisServer server = RedisServer.start(); TestResources resources = new TestResources()) {
      RedisBroker broker = resources.broker(server.url(), b -> b.appName("billing"));
      broker.subscriber(list("jobs")).id("jobs-worker").handle(String.class, (s, ctx) -> null);
      broker.start();
      String id = broker.instanceId().orElseThrow();
      String key = "brook:broker:{" + id + "}";
      // The first announcement may precede the subscription's start; a renewal follows within 2 s.
      await().atMost(Duration.ofSeconds(10)).until(() -> server.command("GET", key) != null
          && ((String) server.command("GET", key)).contains("RUNNING"));
      JsonNode a = JSON.readTree((String) server.command("GET", key));
      assertThat(a.get("app").asText()).isEqualTo("billing");
      assertThat(a.get("pid").asLong()).isEqualTo(ProcessHandle.current().pid());
      assertThat(a.get("subscriptions")).hasSize(1);
      assertThat(a.get("subscriptions").get(0).get("id").asText()).isEqualTo("jobs-worker");
      assertThat(a.get("subscriptions").get(0).get("state").asText()).isEqualTo("RUNNING");
      assertThat((Long) server.command("PTTL", key)).isBetween(1L, 6000L);
      assertThat((List<Object>) server.command("ZRANGE", "brook:brokers", "0", "-1")).containsExactly(id);

      broker.close();
      assertThat(server.command("EXISTS", key)).isEqualTo(0L);
      assertThat((List<?>) server.command("ZRANGE", "brook:brokers", "0", "-1")).isEmpty();
    }
  }

  @Test
  void announceFalseWritesNothing() throws Exception {
    try (RedisServer server = RedisServer.start(); TestResources resources = new TestResources()) {
      RedisBroker broker = resources.broker(server.url(), b -> b.announce(false));
      broker.start();
      broker.publish("x", list("jobs"));
      assertThat(broker.instanceId()).isEmpty();
      assertThat(server.command("EXISTS", "brook:brokers")).isEqualTo(0L);
      assertThat((List<?>) server.command("KEYS", "brook:*")).isEmpty();
    }
  }

  @Test
  void pauseAndResumeFromTheControlListWithinASecond() throws Exception {
    try (RedisServer server = RedisServer.start(); TestResources resources = new TestResources()) {
      RedisBroker broker = resources.broker(server.url(), b -> {});
      Subscription sub = broker.subscriber(list("jobs")).id("jobs-worker").handle(String.class, (s, ctx) -> null);
      broker.start();
      String id = broker.instanceId().orElseThrow();
      await().atMost(Duration.ofSeconds(10)).until(() -> server.command("GET", "brook:broker:{" + id + "}") != null);

      long start = System.nanoTime();
      server.command("RPUSH", "brook:control:{" + id + "}", "pause jobs-worker");
      await().atMost(Duration.ofSeconds(10)).until(() -> sub.state() == Subscription.State.STOPPED);
      assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(3));
      await().atMost(Duration.ofSeconds(10)).until(() -> JSON.readTree((String) server.command("GET", "brook:broker:{" + id + "}"))
          .get("subscriptions").get(0).get("paused").asBoolean());
      assertThat(broker.subscription("jobs-worker")).isSameAs(sub);

      server.command("RPUSH", "brook:control:{" + id + "}", "resume jobs-worker");
      await().atMost(Duration.ofSeconds(10)).until(() -> sub.state() == Subscription.State.RUNNING);
      await().atMost(Duration.ofSeconds(10)).until(() -> !JSON.readTree((String) server.command("GET", "brook:broker:{" + id + "}"))
          .get("subscriptions").get(0).get("paused").asBoolean());
    }
  }

  @Test
  void aResumeWrittenWhilePauseDrainsRunsAfterItAndCloseLeavesNoControlThread() throws Exception {
    java.util.concurrent.CountDownLatch busy = new java.util.concurrent.CountDownLatch(1);
    java.util.concurrent.CountDownLatch release = new java.util.concurrent.CountDownLatch(1);
    try (RedisServer server = RedisServer.start(); TestResources resources = new TestResources()) {
      RedisBroker broker = resources.broker(server.url(), b -> {});
      Subscription sub = broker.subscriber(list("jobs")).id("jobs-worker").handle(String.class, (s, ctx) -> {
        busy.countDown();
        release.await(); // the pause's stop drains this handler
        return null;
      });
      broker.start();
      String id = broker.instanceId().orElseThrow();
      broker.publish("slow", list("jobs"));
      assertThat(busy.await(10, java.util.concurrent.TimeUnit.SECONDS)).isTrue();

      server.command("RPUSH", "brook:control:{" + id + "}", "pause jobs-worker");
      // Popped: the pause's stop now waits for the busy handler. The resumes below are popped by a
      // later tick while it still drains: they must not overtake the pause.
      await().atMost(Duration.ofSeconds(10)).until(() -> (Long) server.command("LLEN", "brook:control:{" + id + "}") == 0L);
      server.command("RPUSH", "brook:control:{" + id + "}", "resume jobs-worker\r\nforged line");
      server.command("RPUSH", "brook:control:{" + id + "}", "resume jobs-worker");
      await().atMost(Duration.ofSeconds(10)).until(() -> (Long) server.command("LLEN", "brook:control:{" + id + "}") == 0L);
      release.countDown();
      await().atMost(Duration.ofSeconds(10)).until(() -> sub.state() == Subscription.State.RUNNING);
      await().during(Duration.ofMillis(700)).atMost(Duration.ofSeconds(3)).until(() -> sub.state() == Subscription.State.RUNNING);

      // A pause in hand when the broker closes: close waits for it, and no brook-control thread is left.
      server.command("RPUSH", "brook:control:{" + id + "}", "pause jobs-worker");
      await().atMost(Duration.ofSeconds(10)).until(() -> (Long) server.command("LLEN", "brook:control:{" + id + "}") == 0L);
      broker.close();
      assertThat(Threads.brookThreads()).noneMatch(n -> n.startsWith("brook-control"));
    }
  }
}
