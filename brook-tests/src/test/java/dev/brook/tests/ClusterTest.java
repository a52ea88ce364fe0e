package dev.brook.tests;

import static dev.brook.redis.Redis.channel;
import static dev.brook.redis.Redis.list;
import static dev.brook.redis.Redis.stream;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.brook.BrookException;
import dev.brook.RejectMessage;
import dev.brook.redis.RedisBroker;
import dev.brook.testing.RedisCluster;
import dev.brook.testing.RedisServer;
import dev.brook.testing.WithRedisCluster;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * What is particular to a Redis Cluster ({@code redis-cluster://}): where a destination's keys live,
 * batches and pipelines across masters, closing, errors, and a node failing under a consumer. What
 * every destination does is the behaviour suite's, run on a cluster by the {@code *OnClusterTest}
 * classes.
 */
@WithRedisCluster(shared = true)
class ClusterTest {

  private final RedisCluster cluster;
  private final TestResources resources = new TestResources();

  ClusterTest(RedisCluster cluster) {
    this.cluster = cluster;
  }

  @AfterEach
  void close() throws Exception {
    resources.close();
  }

  private RedisBroker broker() {
    return resources.broker(cluster.url(), b -> {});
  }

  /** Names whose slots are served by {@code n} different masters, one each. */
  private List<String> namesOnDifferentMasters(String prefix, int n) {
    Map<Integer, String> byMaster = new LinkedHashMap<>();
    for (int i = 0; byMaster.size() < n; i++) {
      byMaster.putIfAbsent(cluster.masterFor(prefix + i).port(), prefix + i);
    }
    return List.copyOf(byMaster.values());
  }

  private static List<?> keys(RedisServer node, String pattern) {
    return (List<?>) node.command("KEYS", pattern);
  }

  @Test
  void theKeysOfOneDestinationLandOnOneSlot() {
    RedisBroker broker = broker();
    AtomicInteger attempts = new AtomicInteger();
    java.util.concurrent.CountDownLatch release = new java.util.concurrent.CountDownLatch(1);
    broker.subscriber(list("jobs").deadLetter()).handle(String.class, (s, ctx) -> {
      if (s.equals("bad")) {
        throw new RejectMessage("bad input");
      }
      attempts.incrementAndGet();
      release.await(); // held: its processing list stays
      return null;
    });
    Calls<String> events = new Calls<>();
    broker.subscriber(stream("events").group("g")).handle(String.class, (s, ctx) -> {
      if (s.equals("bad")) {
        throw new RejectMessage("bad input");
      }
      return events.handle(s, ctx);
    });
    broker.start();
    broker.publish("bad", list("jobs"));
    broker.publish("good", list("jobs"));
    broker.publish("bad", stream("events"));
    broker.publish("good", stream("events"));
    await().atMost(Duration.ofSeconds(10)).until(() -> attempts.get() == 1 && events.count() == 1);
    try {
      assertKeysOnOneSlot();
    } finally {
      release.countDown();
    }
  }

  private void assertKeysOnOneSlot() {

    // queue, processing list, heartbeat, dead letters: all on the master of "jobs", in its slot
    RedisServer jobsMaster = cluster.masterFor("jobs");
    await().atMost(Duration.ofSeconds(5)).until(() -> keys(jobsMaster, "*jobs*").size() == 3);
    Set<String> jobKeys = new HashSet<>();
    keys(jobsMaster, "*jobs*").forEach(k -> jobKeys.add((String) k));
    assertThat(jobKeys).contains("{jobs}:dlq").anyMatch(k -> k.startsWith("{jobs}:processing:"))
        .anyMatch(k -> k.startsWith("{jobs}:heartbeat:"));
    for (String key : jobKeys) {
      assertThat(RedisCluster.slot(key)).as(key).isEqualTo(RedisCluster.slot("jobs"));
    }
    RedisServer eventsMaster = cluster.masterFor("events");
    Set<String> eventKeys = new HashSet<>();
    keys(eventsMaster, "*events*").forEach(k -> eventKeys.add((String) k));
    assertThat(eventKeys).containsExactlyInAnyOrder("events", "{events}:dlq");
    for (RedisServer master : cluster.masters()) {
      if (master != jobsMaster) {
        assertThat(keys(master, "*jobs*")).as("jobs keys on %s", master).isEmpty();
      }
      if (master != eventsMaster) {
        assertThat(keys(master, "*events*")).as("events keys on %s", master).isEmpty();
      }
    }
  }

  @Test
  void aPipelineAndBatchesAcrossDestinationsOnDifferentMasters() {
    List<String> names = namesOnDifferentMasters("q", 3);
    RedisBroker broker = broker();
    Map<String, Calls<String>> lists = new LinkedHashMap<>();
    Map<String, Calls<String>> streams = new LinkedHashMap<>();
    for (String name : names) {
      lists.put(name, new Calls<>());
      streams.put(name, new Calls<>());
      broker.subscriber(list(name)).handle(String.class, lists.get(name));
      broker.subscriber(stream("s-" + name).group("g")).handle(String.class, streams.get(name));
    }
    broker.start();
    broker.pipeline(p -> {
      for (int i = 0; i < 100; i++) {
        for (String name : names) {
          p.publish(name + "-" + i, list(name));
          p.publish(name + "-" + i, stream("s-" + name));
        }
      }
    });
    for (String name : names) {
      broker.publishBatch(IntStream.range(100, 200).mapToObj(i -> name + "-" + i).toList(), list(name));
      broker.publishBatch(IntStream.range(100, 200).mapToObj(i -> name + "-" + i).toList(), stream("s-" + name));
    }
    for (String name : names) {
      List<String> expected = IntStream.range(0, 200).mapToObj(i -> name + "-" + i).toList();
      assertThat(lists.get(name).await(200).stream().map(Calls.Call::payload).toList()).as("list %s, in order", name)
          .isEqualTo(expected);
      assertThat(streams.get(name).await(200).stream().map(Calls.Call::payload).toList()).as("stream %s", name)
          .isEqualTo(expected);
    }
    assertThat(names.stream().map(cluster::masterFor).distinct()).hasSize(3);
  }

  @Test
  void aBrokerOnAClusterClosesWithNoConnectionLeftOnAnyNode() {
    RedisBroker broker = resources.broker(cluster.url(), b -> b.clientName("closing"));
    Calls<String> onChannel = new Calls<>();
    Calls<String> onList = new Calls<>();
    Calls<String> onStream = new Calls<>();
    broker.subscriber(channel("c")).handle(String.class, onChannel);
    broker.subscriber(list("l")).handle(String.class, onList);
    broker.subscriber(stream("s").group("g")).handle(String.class, onStream);
    broker.start();
    broker.publish("x", channel("c"));
    broker.publish("x", list("l"));
    broker.publish("x", stream("s"));
    onChannel.awaitOne();
    onList.awaitOne();
    onStream.awaitOne();
    assertThat(clientsNamed("closing")).isPositive();
    broker.subscriber(channel("echo")).handle(String.class, (s, ctx) -> "re: " + s);
    assertThat(broker.request("ping", channel("echo"), String.class, Duration.ofSeconds(5))).isEqualTo("re: ping");
    broker.close();
    // LeakCheckExtension checks threads and every node's clients after the test; this names the broker's own.
    await().atMost(Duration.ofSeconds(5)).until(() -> clientsNamed("closing") == 0);
  }

  private int clientsNamed(String name) {
    int n = 0;
    for (RedisServer node : cluster.nodes()) {
      for (String line : ((String) node.command("CLIENT", "LIST")).split("\r?\n")) {
        if (line.contains(" name=" + name + " ")) {
          n++;
        }
      }
    }
    return n;
  }

  @Test
  void aClusterUrlWithNoReachableNodeSaysSoAndHowToFixIt() {
    int free = freePort();
    RedisBroker broker = resources.broker("redis-cluster://127.0.0.1:" + free,
        b -> b.connectTimeout(Duration.ofMillis(500)));
    assertThatThrownBy(broker::start).isInstanceOf(BrookException.class)
        .hasMessageStartingWith("No Redis Cluster at redis-cluster://127.0.0.1:" + free + ": none of the nodes in the URL")
        .hasMessageContaining("Check that the cluster runs and that at least one node in the URL is reachable");
  }

  @Test
  void aClusterUrlForASingleRedisSaysToUseRedisUrl() {
    try (RedisServer single = RedisServer.start()) {
      RedisBroker broker = resources.broker("redis-cluster://127.0.0.1:" + single.port(), b -> {});
      assertThatThrownBy(broker::start).isInstanceOf(BrookException.class)
          .hasMessage("Redis at redis-cluster://127.0.0.1:" + single.port() + " is not a Redis Cluster node (it runs "
              + "with cluster support disabled). Use a redis://host:port URL for a single Redis, or list the nodes of "
              + "your cluster in the redis-cluster:// URL.");
    }
  }

  @Test
  void aRedisUrlForAClusterNodeSaysToUseRedisClusterUrl() {
    String name = namesOnDifferentMasters("m", 2).get(1);
    RedisServer other = cluster.masters().stream().filter(m -> m != cluster.masterFor(name)).findFirst().orElseThrow();
    RedisBroker broker = resources.broker(other.url(), b -> {});
    broker.start();
    assertThatThrownBy(() -> broker.publish("x", list(name))).isInstanceOf(BrookException.class)
        .hasMessageStartingWith("Could not publish to list:" + name + ": " + other.url() + " is a node of a Redis Cluster "
            + "and another node serves that key (MOVED ")
        .hasMessageEndingWith("Use a redis-cluster://host:port,... URL for a cluster.");
  }

  @Test
  void malformedClusterUrlsAreRefusedWithTheForm() {
    assertThatThrownBy(() -> RedisBroker.create("redis-cluster://127.0.0.1:7000/2"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageStartingWith("Not a Redis Cluster URL: 'redis-cluster://127.0.0.1:7000/2' names database 2, but a "
            + "Redis Cluster has only database 0. Use redis-cluster://[user:password@]host:port[,host:port...]");
    assertThatThrownBy(() -> RedisBroker.create("redis-cluster://:secret@127.0.0.1:7000,,127.0.0.1:7001"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageStartingWith("Not a Redis Cluster URL: 'redis-cluster://:****@127.0.0.1:7000,,127.0.0.1:7001' "
            + "(an empty node).")
        .hasMessageNotContaining("secret");
  }

  @Test
  void theNodesOfTheUrlNeedNotIncludeEveryMaster() {
    RedisServer replica = cluster.replicas().getFirst();
    RedisBroker broker = resources.broker("redis-cluster://127.0.0.1:" + replica.port(), b -> {});
    List<String> names = namesOnDifferentMasters("n", 3);
    List<Calls<String>> calls = new ArrayList<>();
    for (String name : names) {
      Calls<String> c = new Calls<>();
      calls.add(c);
      broker.subscriber(list(name)).handle(String.class, c);
    }
    broker.start();
    for (String name : names) {
      broker.publish("hi " + name, list(name));
    }
    for (int i = 0; i < names.size(); i++) {
      assertThat(calls.get(i).awaitOne().payload()).isEqualTo("hi " + names.get(i));
    }
  }

  // ---- credentials and TLS -----------------------------------------------------------------------

  @Test
  void tlsAndCredentialsInTheUrlAsForOneRedis(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir) {
    dev.brook.testing.TlsCertificates certs = dev.brook.testing.TlsCertificates.generate(dir);
    try (RedisCluster secure = RedisCluster.builder().masters(3).replicasPerMaster(0).password("s3cret w0rd")
        .tls(certs).start()) {
      assertThat(secure.url()).startsWith("rediss-cluster://:s3cret%20w0rd@127.0.0.1:");
      // An ACL user: a cluster does not share ACLs, so every node gets it.
      for (RedisServer node : secure.nodes()) {
        node.command("ACL", "SETUSER", "app", "on", ">app-pass", "~*", "&*", "+@all");
      }
      String appUrl = secure.url().replace(":s3cret%20w0rd@", "app:app-pass@");
      for (String url : List.of(secure.url(), appUrl)) {
        List<String> names = new ArrayList<>();
        for (String n : List.of("a", "b", "c", "d", "e", "f", "g", "h")) {
          if (names.stream().map(secure::masterFor).noneMatch(m -> m == secure.masterFor(n))) {
            names.add(n);
          }
        }
        try (RedisBroker broker = RedisBroker.builder().url(url).caCertificate(certs.caCertificate()).build()) {
          Calls<String> onChannel = new Calls<>();
          broker.subscriber(channel("tls.ch")).handle(String.class, onChannel);
          List<Calls<String>> onLists = new ArrayList<>();
          for (String name : names) {
            Calls<String> c = new Calls<>();
            onLists.add(c);
            broker.subscriber(stream(name).group("g")).handle(String.class, c);
          }
          broker.start();
          broker.publish("private", channel("tls.ch"));
          for (String name : names) {
            broker.publish("event " + name, stream(name));
          }
          assertThat(onChannel.awaitOne().payload()).isEqualTo("private");
          for (int i = 0; i < names.size(); i++) {
            assertThat(onLists.get(i).awaitOne().payload()).isEqualTo("event " + names.get(i));
          }
        }
      }
      String wrong = secure.url().replace(":s3cret%20w0rd@", ":nope@");
      try (RedisBroker broker = RedisBroker.builder().url(wrong).caCertificate(certs.caCertificate()).build()) {
        assertThatThrownBy(broker::start).isInstanceOf(BrookException.class)
            .hasMessageStartingWith("Redis Cluster at " + dev.brook.redis.internal.RedisUrls.mask(wrong) + " rejected the credentials")
            .hasMessageNotContaining("s3cret").hasMessageNotContaining("nope");
      }
    }
  }

  // ---- a node fails ------------------------------------------------------------------------------

  @Test
  void channelsAreSubscribedAgainWhenTheirNodeFails() {
    RedisBroker broker = resources.broker(cluster.url(), b -> b.clientName("pubsub-failover"));
    Calls<String> received = new Calls<>();
    broker.subscriber(channel("news")).handle(String.class, received);
    broker.start();
    RedisServer subscribedOn = nodeWithSubscriber("pubsub-failover");
    broker.publish("before", channel("news"));
    assertThat(received.awaitOne().payload()).isEqualTo("before");

    subscribedOn.kill();
    // Until Lettuce has subscribed again on another node (and, if a master died, the cluster failed over),
    // publishes may be lost or fail: send until one arrives, then count.
    AtomicInteger probes = new AtomicInteger();
    await().atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(200)).until(() -> {
      try {
        broker.publish("probe-" + probes.incrementAndGet(), channel("news"));
      } catch (RuntimeException duringFailover) {
        return false;
      }
      return received.payloads().stream().anyMatch(p -> p.startsWith("probe-"));
    });
    assertThat(nodeWithSubscriber("pubsub-failover")).isNotSameAs(subscribedOn);
    int before = received.count();
    for (int i = 0; i < 20; i++) {
      broker.publish("after-" + i, channel("news"));
    }
    await().atMost(Duration.ofSeconds(10)).until(() -> received.count() >= before + 20);
    assertThat(received.payloads().stream().filter(p -> p.startsWith("after-")).toList())
        .isEqualTo(IntStream.range(0, 20).mapToObj(i -> "after-" + i).toList());
  }

  private RedisServer nodeWithSubscriber(String clientName) {
    for (RedisServer node : cluster.nodes()) {
      if (!node.isRunning()) {
        continue;
      }
      for (String line : ((String) node.command("CLIENT", "LIST")).split("\r?\n")) {
        if (line.contains(" name=" + clientName + " ") && !line.contains(" sub=0 ")) {
          return node;
        }
      }
    }
    throw new AssertionError("no node has a subscriber named " + clientName);
  }

  @Test
  void aStreamGroupAndAListConsumeAgainAfterTheirMasterFailsOver() {
    // one master holds both, so one kill fails both over
    String streamName = "{fo}events";
    String listName = "{fo}jobs";
    RedisBroker broker = broker();
    Calls<String> onStream = new Calls<>();
    Calls<String> onList = new Calls<>();
    broker.subscriber(stream(streamName).group("g")).handle(String.class, onStream);
    broker.subscriber(list(listName)).handle(String.class, onList);
    broker.start();
    broker.publish("before", stream(streamName));
    broker.publish("before", list(listName));
    onStream.awaitOne();
    onList.awaitOne();

    RedisServer master = cluster.masterFor(streamName);
    master.kill();
    await().atMost(Duration.ofSeconds(15)).until(() -> cluster.masterFor(streamName) != master);
    // Until Lettuce has refreshed the topology, a publish may still go to the old master: probe a key of the
    // same slot until Redis takes one, then publish each message once.
    await().atMost(Duration.ofSeconds(15)).pollInterval(Duration.ofMillis(100)).ignoreExceptions()
        .until(() -> broker.publishAsync("probe", list("{fo}probe"), Map.of()).get(2, java.util.concurrent.TimeUnit.SECONDS) == null);
    List<String> sent = IntStream.range(0, 20).mapToObj(i -> "after-" + i).toList();
    for (String payload : sent) {
      broker.publish(payload, stream(streamName));
      broker.publish(payload, list(listName));
    }
    await().atMost(Duration.ofSeconds(20)).until(() -> onStream.payloads().containsAll(sent)
        && onList.payloads().containsAll(sent));
    assertThat(onStream.payloads().stream().filter(p -> p.startsWith("after-")).toList()).isEqualTo(sent);
    assertThat(onList.payloads().stream().filter(p -> p.startsWith("after-")).toList()).isEqualTo(sent);
  }

  /**
   * A List and a Stream group consumer blocked on a master that is SIGKILLed: Lettuce keeps their reads in flight on
   * the node connection that is reconnecting to the dead node, so without Brook ending them on the topology change
   * they would wait out the command timeout (10 s here, from when the read was sent) before reading on the promoted
   * replica. With it they read there as soon as Lettuce's refresh has seen the promotion.
   */
  @Test
  void aFailoverEndsTheReadsInFlightOnTheDeadMasterAtOnce() {
    String streamName = "{rf}events";
    String listName = "{rf}jobs";
    RedisBroker broker = resources.broker(cluster.url(), b -> b.commandTimeout(Duration.ofSeconds(10)));
    Calls<String> onStream = new Calls<>();
    Calls<String> onList = new Calls<>();
    broker.subscriber(stream(streamName).group("g")).handle(String.class, onStream);
    broker.subscriber(list(listName)).handle(String.class, onList);
    broker.start();
    broker.publish("before", stream(streamName));
    broker.publish("before", list(listName));
    onStream.awaitOne();
    onList.awaitOne();

    RedisServer master = cluster.masterFor(streamName);
    long killed = System.nanoTime();
    master.kill(); // both consumers' blocked reads are on it
    await().atMost(Duration.ofSeconds(15)).until(() -> cluster.masterFor(streamName) != master);
    long promoted = System.nanoTime();
    // A broker connected after the promotion publishes straight to the new master.
    RedisBroker publisher = broker();
    await().atMost(Duration.ofSeconds(15)).pollInterval(Duration.ofMillis(20)).ignoreExceptions()
        .until(() -> publisher.publishAsync("after", stream(streamName), Map.of()).get(2, java.util.concurrent.TimeUnit.SECONDS) == null);
    publisher.publish("after", list(listName));
    await().atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(10))
        .until(() -> onStream.payloads().contains("after") && onList.payloads().contains("after"));
    long resumed = System.nanoTime();
    System.out.printf("Reads ended by the failover: promoted %d ms, both consumers handled again %d ms after the kill%n",
        (promoted - killed) / 1_000_000, (resumed - killed) / 1_000_000);
    // The reads in flight were sent at most 2 s (the block time) before the kill: without ending them they would
    // fail 8-10 s after it. Promotion (~2-3 s) plus Lettuce's refresh (at most a second later) is well below.
    assertThat(Duration.ofNanos(resumed - killed)).isLessThan(Duration.ofSeconds(7));
    assertThat(onStream.payloads()).containsExactly("before", "after");
    assertThat(onList.payloads()).containsExactly("before", "after");
  }

  @Test
  void aConsumerLooksAgainAfterItsNodeConnectionIsBack() {
    RedisBroker broker = broker();
    Calls<String> received = new Calls<>();
    broker.subscriber(list("cj").consumer("c1")).handle(String.class, received);
    broker.start();
    broker.publish("first", list("cj"));
    assertThat(received.awaitOne().payload()).isEqualTo("first");
    // As if Redis had moved an item for the consumer while the reply was lost: it is in the processing list,
    // and the consumer never got it.
    RedisServer master = cluster.masterFor("cj");
    master.command("RPUSH", "{cj}:processing:c1", "orphan");
    // Drop the connection the consumer's read runs on (a node connection under its cluster connection).
    String reader = null;
    for (String line : ((String) master.command("CLIENT", "LIST")).split("\r?\n")) {
      if (line.contains(" name=brook ") && line.contains(" cmd=blmove")) {
        reader = line.substring(3, line.indexOf(' '));
      }
    }
    assertThat(reader).as("the consumer's blocked BLMOVE on %s", master).isNotNull();
    master.command("CLIENT", "KILL", "ID", reader);
    // Lettuce reconnects and sends the read again, without an error; only the reconnect tells the consumer.
    await().atMost(Duration.ofSeconds(5)).until(() -> received.count() == 2);
    assertThat(received.payloads()).containsExactly("first", "orphan");
  }

  /**
   * A node connection under a cluster connection dropped: counted in connectionLosses, logged as one WARN and one
   * INFO (as on one node), and health shows the broker reconnecting while a node that serves slots is unreachable.
   */
  @Test
  void nodeConnectionLossesAreCountedLoggedAndShownInHealth() {
    ch.qos.logback.classic.Logger brookLog = (ch.qos.logback.classic.Logger) org.slf4j.LoggerFactory.getLogger(
        "dev.brook.redis.Connection");
    ch.qos.logback.core.read.ListAppender<ch.qos.logback.classic.spi.ILoggingEvent> log =
        new ch.qos.logback.core.read.ListAppender<>();
    log.start();
    brookLog.addAppender(log);
    try {
      RedisBroker broker = broker();
      Calls<String> received = new Calls<>();
      broker.subscriber(list("{loss}jobs")).handle(String.class, received);
      broker.start();
      broker.publish("first", list("{loss}jobs"));
      received.awaitOne();
      assertThat(broker.connectionLosses()).isZero();
      RedisServer master = cluster.masterFor("{loss}jobs");
      String reader = null;
      for (String line : ((String) master.command("CLIENT", "LIST")).split("\r?\n")) {
        if (line.contains(" name=brook ") && line.contains(" cmd=blmove")) {
          reader = line.substring(3, line.indexOf(' '));
        }
      }
      assertThat(reader).as("the consumer's blocked BLMOVE on %s", master).isNotNull();
      master.command("CLIENT", "KILL", "ID", reader);
      await().atMost(Duration.ofSeconds(5)).until(() -> log.list.stream()
          .anyMatch(e -> e.getFormattedMessage().startsWith("Reconnected to")));
      assertThat(broker.connectionLosses()).isEqualTo(1);
      assertThat(log.list.stream().map(e -> e.getLevel() + " " + e.getFormattedMessage()).toList())
          .hasSize(2)
          .satisfies(lines -> assertThat(lines.get(0)).startsWith("WARN Lost the connection to ").contains("a node of"))
          .satisfies(lines -> assertThat(lines.get(1)).startsWith("INFO Reconnected to"));
      broker.publish("second", list("{loss}jobs"));
      await().atMost(Duration.ofSeconds(5)).until(() -> received.count() == 2);
      await().atMost(Duration.ofSeconds(5)).until(() -> broker.health().status() == dev.brook.Health.Status.UP);

      // A master killed: its node connections reconnect in vain until its replica took its slots over.
      master.kill();
      await().atMost(Duration.ofSeconds(5)).pollInterval(Duration.ofMillis(20))
          .until(() -> broker.health().server().reconnecting());
      assertThat(broker.health().status()).isNotEqualTo(dev.brook.Health.Status.UP);
      await().atMost(Duration.ofSeconds(15)).until(() -> cluster.masterFor("{loss}jobs") != master);
      await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(50))
          .until(() -> !broker.health().server().reconnecting());
      assertThat(broker.connectionLosses()).isGreaterThan(1);
    } finally {
      brookLog.detachAppender(log);
    }
  }

  @Test
  void aStopRacingAFailoverEndsPromptly() {
    String streamName = "{race}events";
    RedisBroker broker = broker();
    Calls<String> onStream = new Calls<>();
    broker.subscriber(stream(streamName).group("g")).handle(String.class, onStream);
    broker.start();
    broker.publish("before", stream(streamName));
    onStream.awaitOne();
    RedisServer master = cluster.masterFor(streamName);
    master.kill(); // the group's XREADGROUP is blocked on it
    long start = System.nanoTime();
    broker.close();
    Duration took = Duration.ofNanos(System.nanoTime() - start);
    // CLIENT UNBLOCK cannot reach the dead node: the read is ended by closing its connection at once,
    // not after the commandTimeout (5 s) it would otherwise wait.
    assertThat(took).isLessThan(Duration.ofSeconds(3));
  }

  private static int freePort() {
    try (java.net.ServerSocket s = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      return s.getLocalPort();
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }
}
