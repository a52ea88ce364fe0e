package dev.brook.tests;

import static dev.brook.redis.Redis.channel;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.brook.BrookException;
import dev.brook.redis.RedisBroker;
import java.io.IOException;
import java.net.ServerSocket;
import java.time.Duration;
import org.junit.jupiter.api.Test;

class ConnectionTest extends RedisTestBase {

  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }

  @Test
  void noRedisBehindTheUrlFailsStartQuicklyNamingTheUrlWithThePasswordMasked() throws Exception {
    int port = freePort();
    try (RedisBroker nowhere = RedisBroker.create("redis://app:s3cret@127.0.0.1:" + port)) {
      nowhere.subscriber(channel("x")).handle(String.class, new Calls<>());
      long t0 = System.nanoTime();
      assertThatThrownBy(nowhere::start)
          .isInstanceOf(BrookException.class)
          .hasMessage("No Redis at redis://app:****@127.0.0.1:" + port
              + " (connection refused). Start redis-server there or pass another URL.")
          .hasMessageNotContaining("s3cret");
      assertThat(Duration.ofNanos(System.nanoTime() - t0)).isLessThan(Duration.ofSeconds(5));
      assertThat(nowhere.toString()).doesNotContain("s3cret");
    }
    await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> assertThat(Threads.brookThreads()).isEmpty());
  }

  @Test
  void aBadUrlFailsAtCreationNamingTheForm() {
    assertThatThrownBy(() -> RedisBroker.create("http://user:pw@nowhere"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageStartingWith("Not a Redis URL: 'http://user:****@nowhere'")
        .hasMessageEndingWith("Use redis://[user:password@]host:port/db, for example redis://127.0.0.1:6379.");
  }

  @Test
  void channelsAndPatternsAreSubscribedAgainAfterRedisRestarts() {
    RedisBroker broker = broker();
    Calls<String> byChannel = new Calls<>();
    Calls<String> byPattern = new Calls<>();
    broker.subscriber(channel("survive")).handle(String.class, byChannel);
    broker.subscriber(dev.brook.redis.Redis.pattern("sur.{x}")).handle(String.class, byPattern);
    broker.start();

    redis.kill();
    redis.restart();
    long t0 = System.nanoTime();
    // Publish until the resubscription is in place; Pub/Sub keeps nothing for absent subscribers.
    await().atMost(Duration.ofSeconds(15)).pollInterval(Duration.ofMillis(50)).until(() -> {
      broker.publish("again", channel("survive"));
      broker.publish("again", channel("sur.vive"));
      return !byChannel.all().isEmpty() && !byPattern.all().isEmpty();
    });
    assertThat(byChannel.payloads()).contains("again");
    assertThat(byPattern.all().get(0).context().path("x")).isEqualTo("vive");
    System.out.println("Pub/Sub back after restart in " + Duration.ofNanos(System.nanoTime() - t0).toMillis() + " ms");
  }

  @Test
  void publishingBeforeStartConnects() {
    RedisBroker broker = broker();
    broker.publish("early", channel("nobody"));
    assertThat(((String) redis.command("CLIENT", "LIST")).lines().filter(l -> l.contains("name=brook ")).count()).isEqualTo(1);
  }
}
