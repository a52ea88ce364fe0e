package dev.brook.tests;

import static dev.brook.redis.Redis.channel;
import static dev.brook.redis.Redis.list;
import static dev.brook.redis.Redis.pattern;
import static dev.brook.redis.Redis.shardChannel;
import static dev.brook.redis.Redis.stream;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.brook.PublishOptions;
import dev.brook.console.BrookConsole;
import dev.brook.redis.NotReplicatedException;
import dev.brook.redis.RedisBroker;
import dev.brook.redis.Schedule;
import dev.brook.redis.StreamDestination;
import dev.brook.testing.RedisServer;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.junit.jupiter.api.Test;

/**
 * A JShell-style loop (12 times by default, to stay under 10 s; measured at 30 too): create,
 * subscribe on every destination kind, schedule, delayed publish, durable publish, an embedded and
 * a standalone console, start, close; after each close nothing of it is left in Redis (clients, Pub/Sub, sharded Pub/Sub, announcement, leases,
 * members, control lists), and after the loop nothing in the process (threads, file descriptors).
 */
class ProbeCycleTest extends RedisTestBase {

  @Test
  void fullFeatureCyclesLeaveNothingBehind() throws Exception {
    cycle(-1); // warm-up: class loading, JVM-wide pools
    await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(Threads.brookThreads()).isEmpty());
    Map<String, Integer> fdsBefore = FileDescriptors.byKind();
    List<String> threadsBefore = Threads.platformNames();
    int cycles = Integer.getInteger("brook.probe.cycles", 12);
    for (int i = 0; i < cycles; i++) {
      cycle(i);
    }
    await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
      assertThat(Threads.brookThreads()).as("brook threads").isEmpty();
      assertThat(Threads.platformCount()).as("platform threads %s, before %s", Threads.platformNames(), threadsBefore)
          .isLessThanOrEqualTo(threadsBefore.size());
      assertThat(FileDescriptors.grown(fdsBefore, FileDescriptors.byKind())).as("fds grown").isEmpty();
    });
  }

  private void cycle(int i) throws Exception {
    Set<String> got = ConcurrentHashMap.newKeySet();
    StreamDestination parts = stream("cyc-p").partitions(4).group("g").leaseTime(Duration.ofSeconds(1))
        .startFrom(StreamDestination.BEGINNING);
    StreamDestination group = stream("cyc-s").group("g").startFrom(StreamDestination.BEGINNING);
    RedisBroker broker = RedisBroker.builder().url(redis.url()).clientName("probe-cycle").build();
    BrookConsole embedded = BrookConsole.builder().broker(broker).build();
    BrookConsole standalone = BrookConsole.create(redis.url());
    try {
      broker.subscriber(channel("cyc.c")).handle(String.class, (s, ctx) -> got.add("c" + s));
      broker.subscriber(pattern("cyc.p.*")).handle(String.class, (s, ctx) -> got.add("p" + s));
      broker.subscriber(shardChannel("cyc-sh")).handle(String.class, (s, ctx) -> got.add("sh" + s));
      broker.subscriber(list("cyc-l")).handle(String.class, (s, ctx) -> got.add("l" + s));
      broker.subscriber(group).handle(String.class, (s, ctx) -> got.add("s" + s));
      broker.subscriber(parts).handle(String.class, (s, ctx) -> got.add("k" + s));
      broker.subscriber(list("cyc-j").concurrencyPerKey("k", 1)).handle(String.class, (s, ctx) -> got.add("j" + s));
      broker.subscriber(list("cyc-r").rateLimitPerKey("k", 100, Duration.ofSeconds(1)).idempotent(Duration.ofSeconds(30)))
          .handle(String.class, (s, ctx) -> got.add("r" + s));
      broker.subscriber(channel("cyc.tick")).handle(String.class, (s, ctx) -> got.add("tick"));
      broker.start();
      broker.schedule("cyc-every", Schedule.every(Duration.ofMillis(200)), () -> "t", channel("cyc.tick"));
      await().atMost(Duration.ofSeconds(10)).until(() -> (Long) redis.command("PUBSUB", "NUMPAT") == 1L
          && ((List<?>) redis.command("PUBSUB", "SHARDNUMSUB", "cyc-sh")).get(1).equals(1L));
      broker.publish(i, channel("cyc.c"));
      broker.publish(i, channel("cyc.p.x"));
      broker.publish(i, shardChannel("cyc-sh"));
      broker.publish(i, list("cyc-l"), PublishOptions.delay(Duration.ofMillis(50)));
      assertThatThrownBy(() -> broker.publish(i, group.waitForReplicas(1, Duration.ofMillis(50))))
          .isInstanceOf(NotReplicatedException.class);
      broker.publish(i, parts, "key" + i);
      broker.publish(i, list("cyc-j"), Map.of("k", "a"));
      broker.publish(i, list("cyc-r"), Map.of("k", "a"));
      assertThat(embedded.respond(get("overview")).status()).isEqualTo(200);
      assertThat(standalone.respond(get("brokers")).status()).isEqualTo(200);
      await().atMost(Duration.ofSeconds(15)).untilAsserted(() -> assertThat(got)
          .contains("c" + i, "p" + i, "sh" + i, "l" + i, "s" + i, "k" + i, "j" + i, "r" + i, "tick"));
    } finally {
      standalone.close();
      embedded.close();
      broker.close();
    }
    // Synchronous close: every trace in Redis is gone now (a short wait covers the server's side).
    await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> {
      assertThat(clients()).as("clients after cycle %d", i).isEmpty();
      assertThat(redis.command("PUBSUB", "NUMPAT")).isEqualTo(0L);
      assertThat((List<?>) redis.command("PUBSUB", "CHANNELS")).isEmpty();
      assertThat((List<?>) redis.command("PUBSUB", "SHARDCHANNELS")).isEmpty();
      assertThat(redis.command("ZCARD", "brook:brokers")).isEqualTo(0L);
      assertThat((List<?>) redis.command("KEYS", "brook:broker:*")).isEmpty();
      assertThat((List<?>) redis.command("KEYS", "brook:control:*")).isEmpty();
      assertThat((List<?>) redis.command("KEYS", "*lease*")).isEmpty();
      assertThat((List<?>) redis.command("KEYS", "*heartbeat*")).isEmpty();
      assertThat(members()).as("members of the partitioned group").isZero();
      assertThat(sizes("*slots*")).as("per-key slots held").isZero();
      assertThat((List<?>) redis.command("KEYS", "*processing*")).as("processing lists").allMatch(k -> (Long) redis.command("LLEN", k.toString()) == 0L);
    });
  }

  private long members() {
    return sizes("*members*");
  }

  private long sizes(String pattern) {
    long n = 0;
    for (Object key : (List<?>) redis.command("KEYS", pattern)) {
      String type = (String) redis.command("TYPE", key.toString());
      n += switch (type) {
        case "zset" -> (Long) redis.command("ZCARD", key.toString());
        case "hash" -> (Long) redis.command("HLEN", key.toString());
        case "set" -> (Long) redis.command("SCARD", key.toString());
        case "list" -> (Long) redis.command("LLEN", key.toString());
        default -> 1;
      };
    }
    return n;
  }

  private static BrookConsole.Request get(String what) {
    return new BrookConsole.Request("GET", "/c", "/c/api/" + what, null, null, true, new byte[0]);
  }

  private List<String> clients() {
    return ((String) redis.command("CLIENT", "LIST")).lines()
        .filter(l -> !l.contains(" name=" + RedisServer.CLIENT_NAME + " ")).toList();
  }
}
