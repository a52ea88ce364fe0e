package dev.brook.tests;

import static dev.brook.redis.Redis.channel;
import static dev.brook.redis.Redis.list;
import static dev.brook.redis.Redis.pattern;
import static dev.brook.redis.Redis.stream;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.brook.BrookException;
import dev.brook.Health;
import dev.brook.redis.RedisBroker;
import dev.brook.spi.Brokers;
import dev.brook.spi.ServerDescription;
import dev.brook.testing.RedisSentinel;
import dev.brook.testing.RedisServer;
import dev.brook.testing.TlsCertificates;
import dev.brook.testing.WithRedisSentinel;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Brook on a Sentinel-guarded primary ({@code redis-sentinel://...#mymaster}): every destination
 * kind round trips through the primary the sentinels name, AUTH goes through Sentinel, and a wrong
 * master name fails with an error that names the fix. Failover is {@link SentinelFailoverTest}.
 */
@WithRedisSentinel
class SentinelTest {

  private static final Duration WAIT = Duration.ofSeconds(10);
  private final TestResources resources = new TestResources();

  @AfterEach
  void closeAll() throws Exception {
    resources.close();
  }

  @Test
  void everyDestinationKindRoundTripsThroughTheSentinelsPrimary(RedisSentinel sentinel) {
    RedisBroker broker = resources.broker(sentinel.url(), b -> {});
    Calls<String> onChannel = new Calls<>();
    Calls<String> onPattern = new Calls<>();
    Calls<String> onList = new Calls<>();
    Calls<String> onStream = new Calls<>();
    broker.subscriber(channel("news")).handle(String.class, onChannel);
    broker.subscriber(pattern("logs.{level}")).handle(String.class, onPattern);
    broker.subscriber(list("jobs").deadLetter()).handle(String.class, (job, ctx) -> {
      if (job.equals("bad")) {
        ctx.reject();
      }
      return onList.handle(job, ctx);
    });
    broker.subscriber(stream("events").group("g")).handle(String.class, (event, ctx) -> {
      if (event.equals("bad")) {
        ctx.reject();
      }
      return onStream.handle(event, ctx);
    });
    broker.subscriber(channel("inc")).handle(Long.class, (n, ctx) -> n + 1);
    Calls<String> onQueue = new Calls<>();
    Calls<String> onLog = new Calls<>();
    broker.subscriber(list("queue").atMostOnce()).handle(String.class, onQueue);
    broker.subscriber(stream("log").startFrom(dev.brook.redis.StreamDestination.BEGINNING)).handle(String.class, onLog);
    broker.start();
    broker.publishBatch(List.of("q1", "q2"), list("queue"));
    broker.pipeline(p -> p.publish("l1", stream("log")).publish("l2", stream("log")));
    assertThat(onQueue.await(2)).extracting(Calls.Call::payload).containsExactly("q1", "q2");
    assertThat(onLog.await(2)).extracting(Calls.Call::payload).containsExactly("l1", "l2");

    broker.publish("hello", channel("news"));
    broker.publish("disk full", channel("logs.error"));
    broker.publish("job-1", list("jobs"));
    broker.publish("bad", list("jobs"));
    broker.publish("event-1", stream("events"));
    broker.publish("bad", stream("events"));

    assertThat(onChannel.await(1)).extracting(Calls.Call::payload).containsExactly("hello");
    assertThat(onPattern.awaitOne().context().path("level")).isEqualTo("error");
    assertThat(onList.await(2)).extracting(Calls.Call::payload).containsExactly("job-1", "bad");
    assertThat(onStream.await(2)).extracting(Calls.Call::payload).containsExactly("event-1", "bad");
    assertThat(broker.request(41L, channel("inc"), Long.class, WAIT)).isEqualTo(42L);

    RedisServer primary = sentinel.primary();
    await().atMost(WAIT).until(() -> Long.valueOf(1).equals(primary.command("LLEN", "{jobs}:dlq"))
        && Long.valueOf(1).equals(primary.command("XLEN", "{events}:dlq")));
    // Everything went to the primary: the replica has it by replication only.
    assertThat(primary.command("XLEN", "events")).isEqualTo(2L);
    assertThat(broker.health().status()).isEqualTo(Health.Status.UP);
  }

  @Test
  void theServerDescriptionAndMessagesNameTheSentinelsNeverThePassword(RedisSentinel sentinel) {
    String url = sentinel.url().replace("redis-sentinel://", "redis-sentinel://app:s3cret@");
    RedisBroker broker = RedisBroker.create(url);
    resources.closeLater(broker);
    String hosts = sentinel.sentinels().stream().map(s -> "127.0.0.1:" + s.port()).reduce((a, b) -> a + "," + b).orElseThrow();
    assertThat(broker.url()).isEqualTo("redis-sentinel://app:****@" + hosts + "/0#mymaster");
    ServerDescription server = Brokers.describeServer(broker).orElseThrow();
    assertThat(server.host()).isEqualTo(hosts);
    assertThat(server.toString()).contains("Redis Sentinel").doesNotContain("s3cret");
  }

  @Test
  void authGoesThroughSentinel() {
    try (RedisSentinel secured = RedisSentinel.builder().password("s3cret").start()) {
      RedisBroker broker = resources.broker(secured.url(), b -> {});
      Calls<String> calls = new Calls<>();
      broker.subscriber(list("jobs")).handle(String.class, calls);
      broker.start();
      broker.publish("job", list("jobs"));
      assertThat(calls.awaitOne().payload()).isEqualTo("job");
      assertThat(broker.url()).doesNotContain("s3cret").startsWith("redis-sentinel://:****@127.0.0.1:");
      resources.close();

      RedisBroker wrong = RedisBroker.create(secured.url().replace("s3cret", "wrong"));
      resources.closeLater(wrong);
      assertThatThrownBy(wrong::start).isInstanceOf(BrookException.class)
          .hasMessageStartingWith("Redis at " + wrong.url() + " rejected the credentials")
          .hasMessageNotContaining("wrong@");
    } catch (Exception e) {
      throw new AssertionError(e);
    }
  }

  @Test
  void tlsGoesThroughSentinel(@TempDir Path dir) throws Exception {
    TlsCertificates certs = TlsCertificates.generate(dir);
    try (RedisSentinel tls = RedisSentinel.builder().tls(certs).password("s3cret").start()) {
      assertThat(tls.url()).startsWith("rediss-sentinel://:s3cret@127.0.0.1:");
      RedisBroker broker = resources.broker(tls.url(), b -> b.caCertificate(certs.caCertificate()));
      Calls<String> onList = new Calls<>();
      Calls<String> onChannel = new Calls<>();
      broker.subscriber(list("jobs")).handle(String.class, onList);
      broker.subscriber(channel("news")).handle(String.class, onChannel);
      broker.start();
      broker.publish("job", list("jobs").waitForReplicas(1, Duration.ofSeconds(1)));
      broker.publish("hello", channel("news"));
      assertThat(onList.awaitOne().payload()).isEqualTo("job");
      assertThat(onChannel.awaitOne().payload()).isEqualTo("hello");
      resources.close();
    }
  }

  @Test
  void aWrongMasterNameFailsNamingTheFix(RedisSentinel sentinel) {
    String url = sentinel.url().replace("#mymaster", "#nosuch");
    RedisBroker broker = resources.broker(url, b -> {});
    broker.subscriber(channel("x")).handle(String.class, new Calls<>());
    assertThatThrownBy(broker::start).isInstanceOf(BrookException.class)
        .hasMessage("The sentinels at " + url + " know no master named 'nosuch' (they monitor mymaster). Put the name they monitor (sentinel "
            + "monitor <name> ... in sentinel.conf; SENTINEL MASTERS lists them) after the # of the URL, e.g. "
            + url.replace("#nosuch", "#mymaster") + ".");
  }

  @Test
  void anySentinelThatAnswersWill_andAnUnknownMasterIsNamedSoEvenWhenOneSentinelIsDown(RedisSentinel sentinel) {
    String url = sentinel.url().replace("redis-sentinel://", "redis-sentinel://127.0.0.1:1,");
    RedisBroker broker = resources.broker(url, b -> {});
    Calls<String> calls = new Calls<>();
    broker.subscriber(list("jobs")).handle(String.class, calls);
    broker.start();
    broker.publish("job", list("jobs"));
    assertThat(calls.awaitOne().payload()).isEqualTo("job");

    String unknown = url.replace("#mymaster", "#nosuch");
    RedisBroker wrong = resources.broker(unknown, b -> {});
    assertThatThrownBy(wrong::start).isInstanceOf(BrookException.class)
        .hasMessageStartingWith("The sentinels at " + unknown + " know no master named 'nosuch' (they monitor mymaster).");
  }

  @Test
  void aSentinelUrlWithoutMasterNameFailsAtCreation() {
    assertThatThrownBy(() -> RedisBroker.create("redis-sentinel://:pw@127.0.0.1:26379,127.0.0.1:26380/0"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("Not a Redis URL: 'redis-sentinel://:****@127.0.0.1:26379,127.0.0.1:26380/0' (URI must contain the "
            + "sentinelMasterId). Use redis-sentinel://[user:password@]host1:port1,host2:port2/db#master, for example "
            + "redis-sentinel://10.0.0.1:26379,10.0.0.2:26379/0#mymaster.");
  }

  @Test
  void noSentinelAnsweringFailsNamingTheSentinels() {
    String url = "redis-sentinel://127.0.0.1:1,127.0.0.1:2/0#mymaster";
    RedisBroker broker = resources.broker(url, b -> {});
    assertThatThrownBy(broker::start).isInstanceOf(BrookException.class)
        .hasMessage("No sentinel at " + url + " answered (connection refused). Start the sentinels there, or list "
            + "sentinels that run in the URL: redis-sentinel://host1:26379,host2:26379/0#mymaster.");
  }

  /**
   * Lettuce asks the sentinels for the primary only when it connects: a connection that reconnects
   * while a sentinel still names the former primary, now a replica, stays there and answers
   * READONLY for good. Brook ends such a connection so that it reconnects through the sentinels:
   * a stand-in sentinel names the replica after Brook's connections are killed (as Sentinel does
   * when it demotes a primary), then the primary again; the consumers, the publisher and the
   * settlements must all be back on the primary without a restart.
   */
  @Test
  void connectionsThatReachedAReplicaAreSentBackToThePrimary(RedisSentinel sentinel) throws Exception {
    RedisServer primary = sentinel.primary();
    RedisServer replica = sentinel.replica();
    FakeSentinel stale = resources.closeLater(new FakeSentinel(primary.port()));
    String url = "redis-sentinel://127.0.0.1:" + stale.port() + "/0#mymaster";
    RedisBroker broker = resources.broker(url, b -> b.clientName("brook-ro"));
    Calls<String> onList = new Calls<>();
    Calls<String> onStream = new Calls<>();
    broker.subscriber(list("ro-jobs")).handle(String.class, onList);
    broker.subscriber(stream("ro-events").group("g")).handle(String.class, onStream);
    broker.start();
    broker.publish("before", list("ro-jobs"));
    assertThat(onList.awaitOne().payload()).isEqualTo("before");

    stale.name(replica.port());
    primary.command("CLIENT", "KILL", "TYPE", "normal");
    await().atMost(WAIT).untilAsserted(() -> assertThat(clients(replica, "brook-ro")).isGreaterThanOrEqualTo(3));
    // On the replica: a publish is refused, and says why.
    assertThatThrownBy(() -> broker.publish("refused", list("ro-jobs"))).isInstanceOf(BrookException.class)
        .hasMessageStartingWith("Could not publish to list:ro-jobs: the connection to " + url + " reached a replica (READONLY")
        .hasMessageEndingWith("so the message was not stored. A failover is going on: Brook reconnects to the primary the "
            + "sentinels name; publish it again.");

    stale.name(primary.port()); // the sentinels caught up
    await().atMost(WAIT).pollInterval(Duration.ofMillis(100)).ignoreExceptions()
        .untilAsserted(() -> broker.publish("after", list("ro-jobs")));
    broker.publish("after", stream("ro-events"));
    assertThat(onList.await(2)).extracting(Calls.Call::payload).containsExactly("before", "after");
    assertThat(onStream.awaitOne().payload()).isEqualTo("after");
    await().atMost(WAIT).untilAsserted(() -> {
      assertThat(clients(replica, "brook-ro")).as("Brook's connections left on the replica").isZero();
      assertThat(primary.command("LLEN", "{ro-jobs}:processing:" + dev.brook.redis.Redis.defaultConsumerName())).isEqualTo(0L);
      assertThat(primary.command("XPENDING", "ro-events", "g")).asList().first().isEqualTo(0L);
    });
  }

  private static long clients(RedisServer server, String name) {
    return ((String) server.command("CLIENT", "LIST")).lines().filter(l -> l.contains(" name=" + name + " ")).count();
  }
}
