package dev.brook.tests;

import static dev.brook.redis.Redis.channel;
import static dev.brook.redis.Redis.list;
import static dev.brook.redis.Redis.stream;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.brook.BrookException;
import dev.brook.redis.NotReplicatedException;
import dev.brook.redis.RedisBroker;
import dev.brook.testing.RedisSentinel;
import dev.brook.testing.RedisServer;
import dev.brook.testing.WithRedisSentinel;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code waitForReplicas}: a durable publish completes only when WAIT has counted enough replicas,
 * fails naming how many acknowledged when fewer did (the message is stored all the same), sends one
 * WAIT per batch or pipeline, and never holds up the command connection. On a Sentinel setup (one
 * replica); the failover with it is in {@link SentinelFailoverTest}.
 */
@WithRedisSentinel
class DurablePublishTest {

  private static final Logger LOG = LoggerFactory.getLogger(DurablePublishTest.class);
  private static final Duration SECOND = Duration.ofSeconds(1);

  private final TestResources resources = new TestResources();

  @AfterEach
  void closeAll() throws Exception {
    resources.close();
  }

  @Test
  void aDurablePublishIsOnTheReplicaWhenItReturns(RedisSentinel sentinel) {
    sentinel.primary().command("CONFIG", "RESETSTAT");
    RedisBroker broker = resources.broker(sentinel.url(), b -> b.waitForReplicas(1, SECOND));
    RedisServer replica = sentinel.replica();
    for (int i = 0; i < 20; i++) {
      broker.publish("job-" + i, list("jobs"));
      assertThat(replica.command("LLEN", "jobs")).isEqualTo(i + 1L); // at once: WAIT said the replica has it
      broker.publish("event-" + i, stream("events"));
      assertThat(replica.command("XLEN", "events")).isEqualTo(i + 1L);
    }
    assertThat(waits(sentinel.primary())).isEqualTo(40);
    // A destination can turn the broker's default off; channels are never waited for.
    broker.publish("fast", list("jobs").waitForReplicas(0, SECOND));
    broker.publish("news", channel("news"));
    assertThat(waits(sentinel.primary())).isEqualTo(40);
    assertThat(clients(sentinel.primary(), "brook")).as("command and durable connections").isEqualTo(2);
    broker.close();
    assertThat(clients(sentinel.primary(), "brook")).as("after close").isZero();
  }

  private static long clients(RedisServer server, String name) {
    return ((String) server.command("CLIENT", "LIST")).lines().filter(l -> l.contains(" name=" + name + " ")).count();
  }

  @Test
  void fewerReplicasThanRequiredFailsThePublishNamingHowManyAcknowledged_theMessageIsStoredAnyway(RedisSentinel sentinel) {
    RedisBroker broker = resources.broker(sentinel.url(), b -> {});
    assertThatThrownBy(() -> broker.publish("job", list("jobs").waitForReplicas(2, Duration.ofMillis(200))))
        .isInstanceOfSatisfying(NotReplicatedException.class, e -> {
          assertThat(e.acknowledged()).isEqualTo(1);
          assertThat(e.required()).isEqualTo(2);
        })
        .hasMessage("Published to list:jobs, but only 1 of the 2 replica(s) required acknowledged it within 200 ms (WAIT). "
            + "The message is in Redis on " + sentinel.url() + " and may still reach the replicas, or be lost if the "
            + "primary fails first; publishing it again may store it twice. Check the replicas (INFO replication), or "
            + "lower waitForReplicas.");
    assertThat(sentinel.primary().command("LLEN", "jobs")).isEqualTo(1L);
  }

  @Test
  void aBatchAndAPipelineWaitOnceForAll(RedisSentinel sentinel) {
    sentinel.primary().command("CONFIG", "RESETSTAT");
    RedisBroker broker = resources.broker(sentinel.url(), b -> {});
    List<String> payloads = IntStream.range(0, 100).mapToObj(i -> "e" + i).toList();
    broker.publishBatch(payloads, stream("events").waitForReplicas(1, SECOND));
    assertThat(sentinel.replica().command("XLEN", "events")).isEqualTo(100L);
    assertThat(waits(sentinel.primary())).isEqualTo(1);

    broker.pipeline(p -> p
        .publish("news", channel("news"))
        .publish("job-1", list("jobs").waitForReplicas(1, SECOND))
        .publish("plain", list("plain"))
        .publish("job-2", list("jobs").waitForReplicas(1, SECOND)));
    assertThat(waits(sentinel.primary())).isEqualTo(2);
    assertThat(sentinel.replica().command("LLEN", "jobs")).isEqualTo(2L);
    assertThat(sentinel.replica().command("LLEN", "plain")).isEqualTo(1L); // before the WAIT on the same connection
  }

  @Test
  void whileWaitForReplicasWaits_otherPublishesAndAcknowledgementsAreNotHeldUp(RedisSentinel sentinel) throws Exception {
    RedisBroker broker = resources.broker(sentinel.url(), b -> {});
    Calls<String> handled = new Calls<>();
    broker.subscriber(list("work")).handle(String.class, handled);
    broker.start();
    sentinel.replica().kill(); // WAIT now waits out its timeout

    long t0 = System.nanoTime();
    CompletableFuture<Void> durable = broker.publishAsync("job", list("jobs").waitForReplicas(1, Duration.ofMillis(1500)), Map.of());
    broker.publish("task", list("work"));
    handled.awaitOne(); // published, consumed and acknowledged on the command connection meanwhile
    long others = (System.nanoTime() - t0) / 1_000_000;
    assertThat(durable).isNotDone();
    assertThat(others).as("ms for the other publish and its consumption").isLessThan(1000);

    assertThatThrownBy(() -> durable.get(5, TimeUnit.SECONDS)).cause().isInstanceOf(NotReplicatedException.class)
        .hasMessageStartingWith("Published to list:jobs, but only 0 of the 1 replica(s) required acknowledged it within 1500 ms");
    assertThat((System.nanoTime() - t0) / 1_000_000).isGreaterThanOrEqualTo(1500);
  }

  @Test
  void settingsAreChecked(RedisSentinel sentinel) {
    assertThatThrownBy(() -> RedisBroker.builder().url(sentinel.url()).waitForReplicas(1, Duration.ofSeconds(5)).build())
        .isInstanceOf(IllegalStateException.class)
        .hasMessage("waitForReplicas timeout PT5S is not shorter than the commandTimeout PT5S, so the client would give up "
            + "on WAIT before Redis answers. Shorten the timeout, or raise commandTimeout(...).");
    assertThatThrownBy(() -> RedisBroker.builder().waitForReplicas(0, SECOND))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("waitForReplicas needs at least 1 replica, was 0 (leave it out to publish without waiting).");
    assertThatThrownBy(() -> list("jobs").waitForReplicas(1, Duration.ZERO))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("waitForReplicas needs a positive timeout (WAIT with 0 would wait for ever), was PT0S.");
    RedisBroker broker = resources.broker(sentinel.url(), b -> b.commandTimeout(Duration.ofSeconds(2)));
    assertThatThrownBy(() -> broker.publish("x", stream("events").waitForReplicas(1, Duration.ofSeconds(3))))
        .isInstanceOf(BrookException.class)
        .hasMessage("Cannot publish to stream:events: its waitForReplicas timeout of 3 s is not shorter than the broker's "
            + "commandTimeout of 2 s, so the client would give up on WAIT before Redis answers. Shorten the timeout, or "
            + "raise RedisBroker.builder().commandTimeout(...).");
    assertThat(sentinel.primary().command("EXISTS", "events")).isEqualTo(0L);
  }

  /** What a durable publish costs, measured (not asserted): the same publishes with and without WAIT. */
  @Test
  void theCostOfWaitingForAReplica(RedisSentinel sentinel) {
    RedisBroker broker = resources.broker(sentinel.url(), b -> {});
    int n = 2_000;
    broker.publish("warm-up", list("plain"));
    broker.publish("warm-up", list("durable").waitForReplicas(1, SECOND));
    long plain = time(() -> IntStream.range(0, n).forEach(i -> broker.publish(i, list("plain"))));
    long durable = time(() -> IntStream.range(0, n).forEach(i -> broker.publish(i, list("durable").waitForReplicas(1, SECOND))));
    long plainAsync = time(() -> CompletableFuture.allOf(IntStream.range(0, n)
        .mapToObj(i -> broker.publishAsync(i, list("plain-async"), Map.of()))
        .toArray(CompletableFuture[]::new)).join());
    long async = time(() -> CompletableFuture.allOf(IntStream.range(0, n)
        .mapToObj(i -> broker.publishAsync(i, list("durable-async").waitForReplicas(1, SECOND), Map.of()))
        .toArray(CompletableFuture[]::new)).join());
    long batch = time(() -> broker.publishBatch(IntStream.range(0, n).boxed().toList(),
        list("durable-batch").waitForReplicas(1, SECOND)));
    String report = String.format("%d publishes, µs each: publish %.1f, durable (WAIT 1) %.1f; publishAsync %.1f, "
        + "durable %.1f; durable publishBatch %.2f", n, plain / 1e3 / n, durable / 1e3 / n, plainAsync / 1e3 / n,
        async / 1e3 / n, batch / 1e3 / n);
    LOG.info(report);
    System.out.println(report);
    assertThat(sentinel.replica().command("LLEN", "durable-async")).isEqualTo((long) n);
  }

  private static long time(Runnable r) {
    long t0 = System.nanoTime();
    r.run();
    return System.nanoTime() - t0;
  }

  /** How many WAIT commands the server ran (INFO commandstats). */
  private static long waits(RedisServer server) {
    String stats = (String) server.command("INFO", "commandstats");
    return stats.lines().filter(l -> l.startsWith("cmdstat_wait:")).findFirst()
        .map(l -> Long.parseLong(l.substring(l.indexOf("calls=") + 6, l.indexOf(',')))).orElse(0L);
  }
}
