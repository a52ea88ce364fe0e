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
 * missing on the replica: to make that certain, the replica is frozen (SIGSTOP) and its link cut 300 ms before the kill, and a
 * journal stream published all along and read only after the failover shows what the promoted replica has. Without
 * {@code waitForReplicas} acknowledged messages are lost; with it none. Duplicates are allowed only as at-least-once
 * redeliveries (an ack the replica never saw), at most one more delivery per message.
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

  /** How long the victim's replica is stopped (SIGSTOP) before the master is killed: writes it never gets. */
  private static final Duration LAG = Duration.ofMillis(300);

  @Test
  void consumptionResumesOnThePromotedReplica_everySubscriptionIsBack_andTheLossIsCounted(RedisCluster cluster)
      throws Exception {
    try (Load load = new Load(cluster, b -> {})) {
      load.killMaster(LAG, false);
      Report report = load.finish();
      LOG.info("Cluster failover without waitForReplicas: {}", report);
      System.out.println("Cluster failover without waitForReplicas: " + report);
      report.assertResumed();
      // Reads and publishes in flight on the dead master are cancelled once Lettuce has seen the promotion (lists
      // and streams resumed 3.0 s after the kill in two runs, 5.3 s in one under the full suite's load, when no
      // ClusterTopologyChangedEvent named the failover): measured and reported, not asserted here;
      // ClusterTest.aFailoverEndsTheReadsInFlightOnTheDeadMasterAtOnce asserts the consumers' part.
      // Asynchronous replication: what the master acknowledged while its replica lagged is gone.
      assertThat(report.lost()).as("acknowledged messages the promoted replica never had").isPositive();
    }
  }

  @Test
  void withWaitForReplicas_noAcknowledgedPublishIsLostInTheSameFailover(RedisCluster cluster) throws Exception {
    try (Load load = new Load(cluster, b -> b.waitForReplicas(1, Duration.ofMillis(500)))) {
      // The new master has no replica until the old one rejoins: durable publishes fail until then.
      load.killMaster(LAG, true);
      Report report = load.finish();
      LOG.info("Cluster failover with waitForReplicas(1, 500 ms): {}", report);
      System.out.println("Cluster failover with waitForReplicas(1, 500 ms): " + report);
      report.assertResumed();
      assertThat(report.lost()).as("acknowledged messages lost").isZero();
      // A durable write answered MOVED (re-sent by Lettuce to the restarted old master, now a replica) is sent again
      // to the new master with its WAIT, so none fails for that; a failure may only be WAIT's count or a timeout.
      assertThat(load.journal.lastFailure).as("last durable publish failure")
          .satisfiesAnyOf(f -> assertThat(f).isNull(), f -> assertThat(f).doesNotContain("MOVED"));
    }
  }

  @Tag("soak")
  @Test
  void soak(RedisCluster cluster) throws Exception {
    try (Load load = new Load(cluster, b -> {})) {
      for (int i = 0; i < 5; i++) {
        load.killMaster(null, true);
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
    /** Published all along, read only after the failover: what the promoted replica has. */
    final Kind journal;
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
      journal = new Kind("journal", stream(keyOn(cluster, victim, "fo.j")).group("late")
          .startFrom(dev.brook.redis.StreamDestination.BEGINNING), null);
      journal.publishTo = journal.destination;
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
      threads.add(Thread.ofVirtual().name("fo-publish-journal").start(() -> publish(journal)));
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

    /**
     * SIGKILLs the master, waits for its replica's promotion and then until every kind handles new messages. With
     * {@code lag}, the replica is stopped (SIGSTOP) and its replication link cut ({@code CLIENT KILL TYPE replica})
     * that long before the kill, and continued after it, so it misses what the master acknowledged meanwhile; with {@code rejoin} the killed node is restarted (a replica of the new
     * master) before the wait for new messages.
     */
    void killMaster(Duration lag, boolean rejoin) {
      RedisServer master = promotionMillis.isEmpty() ? victim : cluster.masterFor(list.key());
      RedisServer replica = lag == null ? null : cluster.nodes().stream()
          .filter(n -> replicasOf(master).contains(n.port())).findFirst().orElseThrow();
      if (replica != null) {
        // Frozen, it cannot reconnect; with its link cut, the master sends it nothing more.
        signal("STOP", replica);
        master.command("CLIENT", "KILL", "TYPE", "replica");
        sleep(lag.toMillis());
      }
      long killed = System.nanoTime();
      master.kill();
      if (replica != null) {
        signal("CONT", replica);
      }
      await().atMost(WITHIN).pollInterval(Duration.ofMillis(10)).until(() -> cluster.masterFor(list.key()) != master);
      promotionMillis.add((System.nanoTime() - killed) / 1_000_000);
      if (rejoin) {
        cluster.awaitHealthy();
      }
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
      Subscription late = consumers.subscriber(journal.destination).handle(Long.class, (n, ctx) -> {
        journal.received.computeIfAbsent(n, x -> new AtomicInteger()).incrementAndGet();
        return null;
      });
      if (late.state() != Subscription.State.RUNNING) {
        late.start();
      }
      // Everything still in Redis is consumed: the lists and the groups' pending entries drain.
      await().atMost(WITHIN).pollInterval(Duration.ofMillis(50)).untilAsserted(() -> {
        for (Kind k : List.of(list, stream, journal)) {
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

  /** {@code kill -<signal> <pid>}: STOP freezes a node (it neither replicates nor answers), CONT resumes it. */
  static void signal(String signal, RedisServer node) {
    try {
      Process kill = new ProcessBuilder("kill", "-" + signal, Long.toString(node.pid())).start();
      assertThat(kill.waitFor()).as("kill -" + signal).isZero();
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
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
    /** Acknowledged messages the promoted replica never had: the journal's, and any the consumers missed. */
    long lost() {
      return load.list.lost() + load.stream.lost() + load.journal.lost();
    }

    void assertResumed() {
      for (Kind k : List.of(load.list, load.stream, load.journal)) {
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
          + load.resumeMillis + " ms after the kill; " + load.kinds + ", " + load.journal + "; Brook logged " + load.logLines(Level.WARN)
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
