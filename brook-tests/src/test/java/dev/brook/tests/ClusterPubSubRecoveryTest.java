package dev.brook.tests;

import static dev.brook.redis.Redis.channel;
import static dev.brook.redis.Redis.pattern;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import dev.brook.redis.PubSubMetrics;
import dev.brook.redis.RedisBroker;
import dev.brook.testing.RedisCluster;
import dev.brook.testing.RedisClusterExtension;
import dev.brook.testing.RedisServer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.slf4j.LoggerFactory;

/**
 * The node under the broker's Pub/Sub connection leaves the cluster while it keeps running (every other node
 * {@code CLUSTER FORGET}s it, as in a scale-down that forgets a node before stopping it): the other nodes stop
 * forwarding {@code PUBLISH} to it, so the connection, open and healthy to Lettuce, hears nothing. Lettuce closes it
 * only when a topology refresh no longer lists its node ({@code StatefulRedisClusterPubSubConnectionImpl
 * .setPartitions}: the periodic one, every 30 s in Brook; redis/lettuce#2434 is the same mechanism, in versions
 * that kept a stale node id it dropped the connection again at every refresh). Brook's probe notices within seconds
 * and moves every channel and pattern to a new Pub/Sub connection on a node of the cluster; the gap is counted in
 * {@code pubSubMetrics()}. A cluster of its own: the forgotten node cannot rejoin.
 */
class ClusterPubSubRecoveryTest {

  private static final org.slf4j.Logger LOG = LoggerFactory.getLogger(ClusterPubSubRecoveryTest.class);

  @RegisterExtension
  static final RedisClusterExtension CLUSTER = new RedisClusterExtension(b -> b.masters(3).replicasPerMaster(1));

  private final TestResources resources = new TestResources();
  private final ListAppender<ILoggingEvent> log = new ListAppender<>();
  private final Logger brookLog = (Logger) LoggerFactory.getLogger("dev.brook");

  @AfterEach
  void closeAll() throws Exception {
    brookLog.detachAppender(log);
    resources.close();
  }

  @Test
  void aSubscriberWhoseNodeLeftTheClusterIsSubscribedAgainOnAnotherNode(RedisCluster cluster) throws Exception {
    RedisBroker consumers = resources.broker(cluster.url(), b -> b.clientName("rc-consumers"));
    RedisBroker publishers = resources.broker(cluster.url(), b -> b.clientName("rc-publishers"));
    Map<String, AtomicLong> lastHandled = new ConcurrentHashMap<>();
    Map<String, AtomicLong> handled = new ConcurrentHashMap<>();
    for (String name : List.of("channel", "pattern")) {
      lastHandled.put(name, new AtomicLong(-1));
      handled.put(name, new AtomicLong());
    }
    consumers.subscriber(channel("rc.c")).handle(Long.class, (n, ctx) -> {
      lastHandled.get("channel").set(n);
      handled.get("channel").incrementAndGet();
      return null;
    });
    consumers.subscriber(pattern("rc.p.*")).handle(Long.class, (n, ctx) -> {
      lastHandled.get("pattern").set(n);
      handled.get("pattern").incrementAndGet();
      return null;
    });
    consumers.start();
    publishers.start();
    // The node must be a replica: a node that serves slots cannot leave the cluster.
    RedisServer node = ClusterFailoverTest.pubSubNode(cluster, "rc-consumers");
    for (int i = 0; i < 3 && cluster.masters().contains(node); i++) {
      cluster.failover(node);
      await().atMost(Duration.ofSeconds(10)).until(() -> isSubscribed(cluster));
      node = ClusterFailoverTest.pubSubNode(cluster, "rc-consumers");
    }
    assertThat(cluster.replicas()).contains(node);

    AtomicLong sent = new AtomicLong();
    AtomicBoolean publishing = new AtomicBoolean(true);
    Thread publisher = Thread.ofVirtual().name("rc-publish").start(() -> {
      while (publishing.get()) {
        long n = sent.getAndIncrement();
        try {
          publishers.publish(n, channel("rc.c"));
          publishers.publish(n, channel("rc.p.x"));
        } catch (RuntimeException e) {
          LOG.info("publish {} failed: {}", n, e.toString());
        }
        ClusterFailoverTest.sleep(5);
      }
    });
    try {
      await().atMost(Duration.ofSeconds(10)).until(() -> handled.values().stream().allMatch(h -> h.get() >= 50));
      PubSubMetrics before = consumers.pubSubMetrics();
      log.start();
      brookLog.addAppender(log);

      String id = (String) node.command("CLUSTER", "MYID");
      long forgotten = System.nanoTime();
      for (RedisServer other : cluster.nodes()) {
        if (other != node && other.isRunning()) {
          other.command("CLUSTER", "FORGET", id);
        }
      }
      long sentAtForget = sent.get();
      // Deaf: nothing published from now on reaches the forgotten node.
      await().atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(10))
          .until(() -> lastHandled.values().stream().allMatch(n -> n.get() > sentAtForget + 20));
      long resumedMillis = (System.nanoTime() - forgotten) / 1_000_000;
      RedisServer now = ClusterFailoverTest.pubSubNode(cluster, "rc-consumers");
      PubSubMetrics after = consumers.pubSubMetrics();
      String report = "subscribed again " + resumedMillis + " ms after its node " + node.port() + " left the cluster, now on "
          + now.port() + "; pubSubMetrics " + before + " -> " + after + "; Brook logged " + log.list.stream()
          .filter(e -> e.getLevel().isGreaterOrEqual(Level.WARN)).map(ILoggingEvent::getFormattedMessage).toList();
      LOG.info("Pub/Sub recovery: {}", report);
      System.out.println("Pub/Sub recovery: " + report);

      assertThat(now).isNotSameAs(node);
      assertThat(resumedMillis).as("well before Lettuce's periodic topology refresh (30 s)").isLessThan(15_000);
      assertThat(after.disconnects()).as("the gap is counted").isEqualTo(before.disconnects() + 1);
    } finally {
      publishing.set(false);
      publisher.join(Duration.ofSeconds(10));
      cluster.remove(node);
    }
  }

  private static boolean isSubscribed(RedisCluster cluster) {
    try {
      ClusterFailoverTest.pubSubNode(cluster, "rc-consumers");
      return true;
    } catch (AssertionError notYet) {
      return false;
    }
  }
}
