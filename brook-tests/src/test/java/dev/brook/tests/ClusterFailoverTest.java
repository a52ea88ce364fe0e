package dev.brook.tests;

import static dev.brook.redis.Redis.channel;
import static dev.brook.redis.Redis.list;
import static dev.brook.redis.Redis.pattern;
import static dev.brook.redis.Redis.stream;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import dev.brook.Destination;
import dev.brook.Health;
import dev.brook.Subscription;
import dev.brook.redis.Backlog;
import dev.brook.redis.RedisBroker;
import dev.brook.testing.RedisCluster;
import dev.brook.testing.RedisServer;
import dev.brook.testing.WithRedisCluster;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

/**
 * A master of a Redis Cluster SIGKILLed under load — publishers and consumers on a channel, a pattern, a
 * reliable list and a stream group, whose keys all live on that master, and the consumers' Pub/Sub connection on
 * it too: its replica is promoted, and without a restart every subscription is back (Pub/Sub subscribed again on
 * another node, blocking reads issued again on the new master), no consumer loop is stuck, and the test counts
 * what was lost. Replication is asynchronous, so a publish the master acknowledged just before it died may be
 * missing on the replica; duplicates are allowed only as at-least-once redeliveries (an ack the replica never
 * saw), at most one more delivery per message.
 *
 * <p>The timings (kill → promotion, kill → every kind handling new messages) are printed and logged;
 * docs/cluster.md quotes them. {@code -Psoak -Dtest=ClusterFailoverTest} also runs {@link #soak}.
 */
@WithRedisCluster
class ClusterFailoverTest {

  private static final org.slf4j.Logger LOG = LoggerFactory.getLogger(ClusterFailoverTest.class);
  private static final Duration WITHIN = Duration.ofSeconds(20);

  private final TestResources resources = new TestResources();

  @AfterEach
  void closeAll() throws Exception {
    resources.close();
  }

  @Test
  void consumptionResumesOnThePromotedReplica_everySubscriptionIsBack_andTheLossIsCounted(RedisCluster cluster)
      throws Exception {
    try (Load load = new Load(cluster, b -> {})) {
      load.killMaster();
      Report report = load.finish();
      LOG.info("Cluster failover without waitForReplicas: {}", report);
      System.out.println("Cluster failover without waitForReplicas: " + report);
      report.assertResumed();
      // Asynchronous replication: only what the master acknowledged in its last moments can be missing.
      assertThat(report.lost()).as("acknowledged list and stream messages lost").isLessThanOrEqualTo(200);
    }
  }

  @Tag("soak")
  @Test
  void soak(RedisCluster cluster) throws Exception {
    try (Load load = new Load(cluster, b -> {})) {
      for (int i = 0; i < 5; i++) {
        load.killMaster();
        cluster.awaitHealthy();
      }
      Report report = load.finish();
      System.out.println("Five cluster failovers: " + report);
      report.assertResumed();
    }
  }

  /**
   * Publishers and consumers on one channel, one pattern, one list and one stream group, each counting by message
   * number; every key on the master that also holds the consumers' Pub/Sub connection.
   */
  final class Load implements AutoCloseable {
    final RedisCluster cluster;
    final RedisBroker consumers;
    final RedisBroker publishers;
    final RedisServer victim;
    final List<Kind> kinds = new ArrayList<>();
    final Kind list;
    final Kind stream;
    final AtomicBoolean publishing = new AtomicBoolean(true);
    final List<Thread> threads = new ArrayList<>();
    final List<Long> promotionMillis = new ArrayList<>();
    final List<Map<String, Long>> resumeMillis = new ArrayList<>();
    final ListAppender<ILoggingEvent> log = new ListAppender<>();
    final Logger brookLog = (Logger) LoggerFactory.getLogger("dev.brook");

    Load(RedisCluster cluster, Consumer<RedisBroker.Builder> publisherOptions) {
      this.cluster = cluster;
      log.start();
      brookLog.addAppender(log);
      consumers = resources.broker(cluster.url(), b -> b.clientName("fo-consumers"));
      publishers = resources.broker(cluster.url(), b -> publisherOptions.accept(b.clientName("fo-publishers")));
      // The Pub/Sub connection goes to the node with the fewest clients; start it first to learn where it is.
      consumers.subscriber(channel("fo.probe")).handle(String.class, (s, ctx) -> null);
      consumers.start();
      RedisServer pubSubNode = pubSubNode(cluster, "fo-consumers");
      if (!cluster.masters().contains(pubSubNode)) {
        // Make it a master: its master fails over to it (nothing is lost; clients stay connected to it).
        RedisServer master = cluster.masters().stream()
            .filter(m -> replicasOf(m).contains(pubSubNode.port())).findFirst().orElseThrow();
        cluster.failover(master);
      }
      victim = pubSubNode;
      String channelName = keyOn(cluster, victim, "fo.c");
      kinds.add(new Kind("channel", channel(channelName), channel(channelName)));
      kinds.add(new Kind("pattern", pattern(keyOn(cluster, victim, "fo.p") + ".*"), null));
      list = new Kind("list", list(keyOn(cluster, victim, "fo.l")), null);
      stream = new Kind("stream", stream(keyOn(cluster, victim, "fo.s")).group("g"), null);
      kinds.add(list);
      kinds.add(stream);
      Kind pattern = kinds.get(1);
      pattern.publishTo = channel(((dev.brook.redis.PatternDestination) pattern.destination).name().replace("*", "x"));
      for (Kind k : kinds) {
        if (k.publishTo == null) {
          k.publishTo = k.destination;
        }
        consumers.subscriber(k.destination).handle(Long.class, (n, ctx) -> {
          k.received.computeIfAbsent(n, x -> new AtomicInteger()).incrementAndGet();
          k.receivedAt.putIfAbsent(n, System.nanoTime());
          return null;
        });
      }
      publishers.start();
      for (Kind k : kinds) {
        threads.add(Thread.ofVirtual().name("fo-publish-" + k.name).start(() -> publish(k)));
      }
      awaitProgress(100);
      LOG.info("Load on {} (masters {}), the consumers' Pub/Sub connection there too; keys {}", victim.port(),
          cluster.masters().stream().map(RedisServer::port).toList(), kinds);
    }

    void publish(Kind k) {
      long next = 0;
      while (publishing.get()) {
        long n = next++;
        k.sent.set(next);
        try {
          publishers.publish(n, k.publishTo);
          k.acked.add(n);
        } catch (RuntimeException e) {
          k.failed.incrementAndGet();
          k.lastFailure = e.getMessage();
          sleep(20);
          continue;
        }
        sleep(1);
      }
    }

    /** SIGKILLs the master, waits for its replica's promotion and then until every kind handles new messages. */
    void killMaster() {
      RedisServer master = promotionMillis.isEmpty() ? victim : cluster.masterFor(list.key());
      long killed = System.nanoTime();
      master.kill();
      await().atMost(WITHIN).pollInterval(Duration.ofMillis(10)).until(() -> cluster.masterFor(list.key()) != master);
      promotionMillis.add((System.nanoTime() - killed) / 1_000_000);
      Map<String, Long> resumed = awaitProgress(50);
      Map<String, Long> fromKill = new java.util.LinkedHashMap<>();
      resumed.forEach((name, at) -> fromKill.put(name, (at - killed) / 1_000_000));
      resumeMillis.add(fromKill);
    }

    /** Waits until each kind has handled {@code more} messages published from now on; when each handled the first. */
    Map<String, Long> awaitProgress(int more) {
      Map<Kind, Long> from = new HashMap<>();
      kinds.forEach(k -> from.put(k, k.sent.get()));
      Map<String, Long> firstAt = new ConcurrentHashMap<>();
      await().atMost(WITHIN).pollInterval(Duration.ofMillis(5)).untilAsserted(() -> {
        for (Kind k : kinds) {
          long after = k.received.keySet().stream().filter(n -> n >= from.get(k)).count();
          if (after > 0) {
            firstAt.computeIfAbsent(k.name, x -> k.firstAfter(from.get(k)));
          }
          assertThat(after).as(k.name + " handled after " + from.get(k) + " (last publish failure: " + k.lastFailure
              + ")").isGreaterThanOrEqualTo(more);
        }
      });
      return firstAt;
    }

    Report finish() throws InterruptedException {
      publishing.set(false);
      for (Thread t : threads) {
        t.join(Duration.ofSeconds(10));
      }
      // Everything still in Redis is consumed: the list and the group's pending entries drain.
      await().atMost(WITHIN).pollInterval(Duration.ofMillis(50)).untilAsserted(() -> {
        for (Kind k : List.of(list, stream)) {
          Backlog b = consumers.backlog(consumers.subscriptions().stream()
              .filter(s -> s.destination().equals(k.destination)).findFirst().orElseThrow());
          assertThat(k == list ? List.of(b.length(), b.processing()) : List.of(b.lag(), b.pending()))
              .as(k.name + " backlog " + b).containsOnly(0L);
        }
      });
      for (Subscription s : consumers.subscriptions()) {
        assertThat(s.state()).as(s.id()).isEqualTo(Subscription.State.RUNNING);
      }
      await().atMost(WITHIN).untilAsserted(() -> assertThat(consumers.health().status()).isEqualTo(Health.Status.UP));
      return new Report(this);
    }

    long logLines(Level level) {
      return log.list.stream().filter(e -> e.getLevel() == level).count();
    }

    @Override
    public void close() {
      publishing.set(false);
      brookLog.detachAppender(log);
    }
  }

  /** Each key carries one hash tag, so one master holds all of a destination's keys. */
  static String keyOn(RedisCluster cluster, RedisServer master, String prefix) {
    for (int i = 0; ; i++) {
      String name = prefix + i;
      if (cluster.masterFor(name) == master) {
        return name;
      }
    }
  }

  /** The node holding a subscribed connection of the client named {@code clientName} (CLIENT LIST's sub/psub). */
  static RedisServer pubSubNode(RedisCluster cluster, String clientName) {
    for (RedisServer node : cluster.nodes()) {
      if (!node.isRunning()) {
        continue;
      }
      for (String line : ((String) node.command("CLIENT", "LIST")).split("\n")) {
        if (line.contains(" name=" + clientName + " ") && !line.contains(" sub=0 psub=0")) {
          return node;
        }
      }
    }
    throw new AssertionError("No node holds a Pub/Sub connection of " + clientName);
  }

  static List<Integer> replicasOf(RedisServer master) {
    List<Integer> ports = new ArrayList<>();
    for (Object entry : (List<?>) ((List<?>) master.command("ROLE")).get(2)) {
      ports.add(Integer.parseInt(String.valueOf(((List<?>) entry).get(1))));
    }
    return ports;
  }

  static final class Kind {
    final String name;
    final Destination destination;
    Destination publishTo;
    final Map<Long, AtomicInteger> received = new ConcurrentHashMap<>();
    final Map<Long, Long> receivedAt = new ConcurrentHashMap<>();
    final Set<Long> acked = ConcurrentHashMap.newKeySet();
    final AtomicLong sent = new AtomicLong();
    final AtomicLong failed = new AtomicLong();
    volatile String lastFailure;

    Kind(String name, Destination destination, Destination publishTo) {
      this.name = name;
      this.destination = destination;
      this.publishTo = publishTo;
    }

    String key() {
      return destination.name();
    }

    /** When the first message numbered {@code from} or later was handled. */
    long firstAfter(long from) {
      return receivedAt.entrySet().stream().filter(e -> e.getKey() >= from).mapToLong(Map.Entry::getValue).min()
          .orElseThrow();
    }

    long lost() {
      return acked.stream().filter(n -> !received.containsKey(n)).count();
    }

    long redelivered() {
      return received.values().stream().mapToLong(c -> c.get() - 1).sum();
    }

    int mostDeliveries() {
      return received.values().stream().mapToInt(AtomicInteger::get).max().orElse(0);
    }

    @Override
    public String toString() {
      return name + " " + (destination == null ? "" : destination.name()) + ": sent " + sent.get() + ", acknowledged "
          + acked.size() + ", failed " + failed.get() + ", received " + received.size() + ", lost " + lost()
          + ", redelivered " + redelivered();
    }
  }

  record Report(Load load) {
    long lost() {
      return load.list.lost() + load.stream.lost();
    }

    void assertResumed() {
      for (Kind k : List.of(load.list, load.stream)) {
        assertThat(k.mostDeliveries()).as(k.name + ": a message delivered more than twice").isLessThanOrEqualTo(2);
        assertThat(k.received.keySet()).as(k.name + ": only what was sent").allMatch(n -> n < k.sent.get());
      }
      // Pub/Sub is at-most-once: what was published while no node took it is gone, nothing is doubled.
      for (Kind k : load.kinds) {
        if (k != load.list && k != load.stream) {
          assertThat(k.mostDeliveries()).as(k.name).isEqualTo(1);
        }
      }
    }

    @Override
    public String toString() {
      return "promotion " + load.promotionMillis + " ms after the kill, first message handled again on each kind "
          + load.resumeMillis + " ms after the kill; " + load.kinds + "; Brook logged " + load.logLines(Level.WARN)
          + " WARN and " + load.logLines(Level.ERROR) + " ERROR lines";
    }
  }

  static void sleep(long millis) {
    try {
      Thread.sleep(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
