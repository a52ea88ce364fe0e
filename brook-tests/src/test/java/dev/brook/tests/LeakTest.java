package dev.brook.tests;

import static dev.brook.redis.Redis.channel;
import static dev.brook.redis.Redis.pattern;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.brook.Subscription;
import dev.brook.redis.RedisBroker;
import java.lang.ref.WeakReference;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Close releases everything: proved by counting connections, threads and references. */
class LeakTest extends RedisTestBase {

  private long clientsNamed(String name) {
    String list = (String) redis.command("CLIENT", "LIST");
    return list.lines().filter(l -> l.contains(" name=" + name + " ")).count();
  }

  private long connectedClients() {
    String info = (String) redis.command("INFO", "clients");
    return info.lines().filter(l -> l.startsWith("connected_clients:"))
        .mapToLong(l -> Long.parseLong(l.substring(l.indexOf(':') + 1).trim())).findFirst().orElseThrow();
  }

  private static int platformThreads() {
    return Threads.platformCount();
  }

  @Test
  void brokerCloseLeavesNoConnectionNoThreadNoReference() {
    RedisBroker broker = RedisBroker.builder().url(redis.url()).clientName("leak-check").build();
    Calls<String> recorder = new Calls<>();
    broker.subscriber(channel("a")).handle(String.class, recorder);
    broker.subscriber(pattern("p.{x}")).handle(String.class, recorder);
    broker.start();
    broker.publish("x", channel("a"));
    recorder.awaitOne();
    assertThat(clientsNamed("leak-check")).isEqualTo(2); // commands + the shared Pub/Sub connection
    assertThat(Threads.brookThreads()).isNotEmpty();

    broker.close();
    broker.close(); // harmless

    await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> assertThat(clientsNamed("leak-check")).isZero());
    await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> assertThat(Threads.brookThreads()).isEmpty());
    assertThat(redis.command("PUBSUB", "NUMSUB", "a")).isEqualTo(List.of("a", 0L));
    assertThat(redis.command("PUBSUB", "NUMPAT")).isEqualTo(0L);
    assertThatThrownBy(broker::start)
        .isInstanceOf(IllegalStateException.class)
        .hasMessage("Cannot start broker " + redis.url() + ": it is closed. A closed broker cannot be reused; create a new one.");

    WeakReference<RedisBroker> ref = new WeakReference<>(broker);
    broker = null;
    recorder = null;
    await().atMost(Duration.ofSeconds(10)).until(() -> {
      System.gc();
      return ref.get() == null;
    });
  }

  @Test
  void aThousandSubscribeCloseCyclesLeaveNothingBehind() {
    RedisBroker broker = broker();
    broker.subscriber(channel("anchor")).handle(String.class, new Calls<>());
    broker.start();
    long clients = connectedClients();
    int threads = platformThreads();
    List<String> before = Threads.platformNames();
    for (int i = 0; i < 1000; i++) {
      Subscription s = broker.subscriber(i % 2 == 0 ? channel("cycle" + i) : pattern("cyc.{n}." + i))
          .handle(String.class, new Calls<>());
      if (i % 10 == 0) {
        broker.publish("m", channel("cycle" + i));
      }
      s.close();
    }
    assertThat(broker.subscriptions()).hasSize(1);
    assertThat(connectedClients()).isEqualTo(clients);
    assertThat(redis.command("PUBSUB", "NUMPAT")).isEqualTo(0L);
    assertThat((List<?>) redis.command("PUBSUB", "CHANNELS", "cycle*")).isEmpty();
    await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> assertThat(platformThreads())
        .as("platform threads now %s, before %s", Threads.platformNames(), before).isLessThanOrEqualTo(threads));
    await().atMost(Duration.ofSeconds(5)).untilAsserted(() ->
        assertThat(Threads.brookThreads()).noneMatch(n -> n.startsWith("brook-sub:")));
  }

  @Test
  void twoHundredBrokerCyclesReturnToTheBaseline() {
    // One warm-up cycle so JVM-wide lazies (Netty's global executor, class init) are not counted.
    cycle();
    await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(Threads.brookThreads()).isEmpty());
    int threads = platformThreads();
    long clients = connectedClients();
    for (int i = 0; i < 200; i++) {
      cycle();
    }
    await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
      assertThat(Threads.brookThreads()).isEmpty();
      assertThat(platformThreads()).isLessThanOrEqualTo(threads);
      assertThat(connectedClients()).isEqualTo(clients);
    });
  }

  private void cycle() {
    try (RedisBroker broker = RedisBroker.create(redis.url())) {
      broker.subscriber(channel("cyc")).handle(String.class, new Calls<>());
      broker.start();
      broker.publish("x", channel("cyc"));
    }
  }
}
