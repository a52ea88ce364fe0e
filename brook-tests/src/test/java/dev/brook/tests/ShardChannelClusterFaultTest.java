package dev.brook.tests;

import static dev.brook.redis.Redis.channel;
import static dev.brook.redis.Redis.shardChannel;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.brook.Destination;
import dev.brook.redis.RedisBroker;
import dev.brook.testing.RedisCluster;
import dev.brook.testing.RedisServer;
import dev.brook.testing.WithRedisCluster;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Shard channels on a cluster when Lettuce 7.7 alone would lose them (docs/cluster.md#sharded-pubsub):
 * the slot's master killed and its replica promoted (lettuce#2356), the slot moved to another master
 * (lettuce#3213: Redis sends SUNSUBSCRIBE), and every Pub/Sub connection dropped (what a topology
 * refresh does to the default one, lettuce#2434). Each time the subscription must come back on the
 * slot's master and messages flow again; the test counts what was lost meanwhile.
 */
@WithRedisCluster
class ShardChannelClusterFaultTest {

  private static final Logger LOG = LoggerFactory.getLogger(ShardChannelClusterFaultTest.class);

  private final RedisCluster cluster;
  private final TestResources resources = new TestResources();

  ShardChannelClusterFaultTest(RedisCluster cluster) {
    this.cluster = cluster;
  }

  @AfterEach
  void close() throws Exception {
    resources.close();
  }

  private RedisBroker started() {
    RedisBroker broker = resources.broker(cluster.url(), b -> {});
    broker.start();
    return broker;
  }

  /** How many clients the slot's master has subscribed to the shard channel (ours is the only one). */
  private long subscribersOnOwner(String channel) {
    List<?> reply = (List<?>) cluster.masterFor(channel).command("PUBSUB", "SHARDNUMSUB", channel);
    return (Long) reply.get(1);
  }

  /**
   * Publishes numbered messages (those Redis refuses while it has no master for the slot are not
   * counted) until one arrives; then ten more, which must all arrive in order. Returns how many
   * acknowledged messages were lost on the way.
   */
  private int publishUntilBack(RedisBroker broker, String channel, Calls<Integer> calls, String what) {
    AtomicInteger next = new AtomicInteger(1000);
    List<Integer> acknowledged = new ArrayList<>();
    long start = System.nanoTime();
    await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(100)).until(() -> {
      int n = next.getAndIncrement();
      try {
        broker.publish(n, shardChannel(channel));
        acknowledged.add(n);
      } catch (RuntimeException refused) {
        // no master for the slot yet, or the publish went to the old one: not counted as sent
      }
      return calls.payloads().stream().anyMatch(p -> p >= 1000);
    });
    long backMillis = (System.nanoTime() - start) / 1_000_000;
    // A marker, so that what was still on its way arrives before it (one connection keeps the order).
    broker.publish(4999, shardChannel(channel));
    await().atMost(Duration.ofSeconds(10)).until(() -> calls.payloads().contains(4999));
    List<Integer> received = calls.payloads();
    int lost = (int) acknowledged.stream().filter(n -> !received.contains(n)).count();
    LOG.info("{}: shard channel {} back after {} ms; {} acknowledged publish(es) meanwhile, {} lost", what, channel,
        backMillis, acknowledged.size(), lost);
    int before = received.indexOf(4999) + 1;
    List<Integer> more = IntStream.range(5000, 5010).boxed().toList();
    more.forEach(n -> broker.publish(n, shardChannel(channel)));
    calls.await(before + 10);
    assertThat(calls.payloads().subList(before, before + 10)).containsExactlyElementsOf(more);
    assertThat(calls.payloads()).doesNotHaveDuplicates();
    return lost;
  }

  private static dev.brook.Health.SubscriptionHealth shardHealth(RedisBroker broker) {
    return broker.health().subscriptions().stream().filter(h -> h.id().equals("shard-channel:sc-failover")).findFirst()
        .orElseThrow();
  }

  @Test
  void theSlotsMasterKilled_subscribesAgainOnThePromotedReplica() {
    RedisBroker broker = started();
    Calls<Integer> calls = new Calls<>();
    broker.subscriber(shardChannel("sc-failover")).handle(Integer.class, calls);
    broker.publish(1, shardChannel("sc-failover"));
    calls.awaitOne();
    RedisServer old = cluster.masterFor("sc-failover");
    assertThat(subscribersOnOwner("sc-failover")).isEqualTo(1);

    old.kill();
    // Until it is subscribed again on the promoted replica, health names the lost shard channel.
    await().atMost(Duration.ofSeconds(5)).pollInterval(Duration.ofMillis(20))
        .until(() -> shardHealth(broker).problem() != null);
    dev.brook.Health.SubscriptionHealth lost = shardHealth(broker);
    assertThat(lost.status()).isEqualTo(dev.brook.Health.Status.DEGRADED);
    assertThat(lost.problem()).contains("shard channel 'sc-failover'").contains("subscribes it again");
    // DEGRADED, or DOWN when the health PING's node (the command connection's default one) is the one killed.
    assertThat(broker.health().status()).isNotEqualTo(dev.brook.Health.Status.UP);
    publishUntilBack(broker, "sc-failover", calls, "failover");

    assertThat(cluster.masterFor("sc-failover")).isNotSameAs(old);
    assertThat(subscribersOnOwner("sc-failover")).isEqualTo(1);
    await().atMost(Duration.ofSeconds(15)).until(() -> shardHealth(broker).problem() == null);
    assertThat(shardHealth(broker).status()).isEqualTo(dev.brook.Health.Status.UP);
    assertThat(broker.pubSubMetrics().disconnects()).isEqualTo(1); // one gap, however many attempts it took
  }

  /** How many PUBSUB SHARDNUMSUB commands {@code node} ran since its last CONFIG RESETSTAT. */
  private static long shardNumsubCalls(RedisServer node) {
    for (String line : String.valueOf(node.command("INFO", "commandstats")).split("\r?\n")) {
      if (line.startsWith("cmdstat_pubsub|shardnumsub:calls=")) {
        return Long.parseLong(line.substring(line.indexOf('=') + 1, line.indexOf(',')));
      }
    }
    return 0;
  }

  @Test
  void theSubscriberCheckSendsOneShardNumsubPerNode() {
    RedisBroker broker = started();
    java.util.Map<RedisServer, Integer> perMaster = new java.util.HashMap<>();
    List<String> names = new ArrayList<>();
    for (int i = 0; names.size() < 2 * cluster.masters().size(); i++) {
      String name = "sc-count-" + i;
      RedisServer owner = cluster.masterFor(name);
      if (perMaster.merge(owner, 1, Integer::sum) <= 2) {
        names.add(name);
      }
    }
    names.forEach(n -> broker.subscriber(shardChannel(n)).handle(Integer.class, (x, ctx) -> null));
    cluster.masters().forEach(m -> m.command("CONFIG", "RESETSTAT"));
    // The check counts every 5 s; the commands of one count go out together.
    await().atMost(Duration.ofSeconds(8)).pollInterval(Duration.ofMillis(20))
        .until(() -> cluster.masters().stream().allMatch(m -> shardNumsubCalls(m) >= 1));
    for (RedisServer m : cluster.masters()) {
      assertThat(shardNumsubCalls(m)).as("PUBSUB SHARDNUMSUB on %s, which owns 2 of the channels", m).isEqualTo(1);
    }
  }

  @Test
  void theSlotMovedToAnotherMaster_subscribesAgainOnTheNewOwner() {
    RedisBroker broker = started();
    Calls<Integer> calls = new Calls<>();
    broker.subscriber(shardChannel("sc-moved")).handle(Integer.class, calls);
    broker.publish(1, shardChannel("sc-moved"));
    calls.awaitOne();
    int slot = RedisCluster.slot("sc-moved");
    RedisServer from = cluster.masterFor("sc-moved");
    RedisServer to = cluster.masters().stream().filter(m -> m != from).findFirst().orElseThrow();

    moveSlot(slot, from, to); // Redis tells the subscriber SUNSUBSCRIBE sc-moved
    try {
      publishUntilBack(broker, "sc-moved", calls, "slot moved");
      await().atMost(Duration.ofSeconds(10)).until(() -> cluster.masterFor("sc-moved") == to); // gossip
      assertThat(subscribersOnOwner("sc-moved")).isEqualTo(1);
    } finally {
      moveSlot(slot, to, from);
    }
  }

  @Test
  void everyPubSubConnectionDropped_theShardChannelsComeBack() {
    RedisBroker broker = started();
    Calls<Integer> a = new Calls<>();
    Calls<Integer> b = new Calls<>();
    // Two names on different masters, so two node connections carry them.
    String first = "sc-drop-0";
    String other = IntStream.range(1, 50).mapToObj(i -> "sc-drop-" + i)
        .filter(n -> cluster.masterFor(n) != cluster.masterFor(first)).findFirst().orElseThrow();
    broker.subscriber(shardChannel(first)).handle(Integer.class, a);
    broker.subscriber(shardChannel(other)).handle(Integer.class, b);
    broker.publish(1, shardChannel(first));
    broker.publish(1, shardChannel(other));
    a.awaitOne();
    b.awaitOne();

    long killed = 0;
    for (RedisServer node : cluster.nodes()) {
      killed += (Long) node.command("CLIENT", "KILL", "TYPE", "pubsub");
    }
    assertThat(killed).isGreaterThanOrEqualTo(2); // at least the two node connections

    publishUntilBack(broker, first, a, "connections dropped");
    publishUntilBack(broker, other, b, "connections dropped");
    assertThat(subscribersOnOwner(first)).isEqualTo(1);
    assertThat(subscribersOnOwner(other)).isEqualTo(1);
  }

  /**
   * Messages per second through one broker, plain channels vs shard channels, on 3 masters: each
   * PUBLISH is carried by every node of the cluster, each SPUBLISH only by its slot's master and
   * replica — which the CPU the nodes spent per message shows even where one client on a small
   * machine is the bottleneck. A short measurement for the log (and docs/cluster.md); it asserts
   * that every message arrived and that shard channels cost the cluster less CPU.
   */
  @Test
  void throughputOfChannelsAndShardChannels() {
    RedisBroker broker = started();
    int names = 30;
    int messages = 30_000;
    double cpu0 = clusterCpuSeconds();
    double plain = measure(broker, i -> channel("tp-" + (i % names)), names, messages);
    double cpu1 = clusterCpuSeconds();
    double sharded = measure(broker, i -> shardChannel("tp-" + (i % names)), names, messages);
    double cpu2 = clusterCpuSeconds();
    double plainCpu = (cpu1 - cpu0) * 1e6 / messages;
    double shardedCpu = (cpu2 - cpu1) * 1e6 / messages;
    LOG.info("3 masters + 3 replicas, one broker, {} messages over {} names: channel {} msg/s and {} µs of node CPU "
        + "per message, shardChannel {} msg/s ({}x) and {} µs ({}x less)", messages, names, Math.round(plain),
        String.format("%.1f", plainCpu), Math.round(sharded), String.format("%.2f", sharded / plain),
        String.format("%.1f", shardedCpu),
        String.format("%.1f", plainCpu / shardedCpu));
    assertThat(shardedCpu).isLessThan(plainCpu);
  }

  /** used_cpu_sys + used_cpu_user of every node (INFO cpu), in seconds. */
  private double clusterCpuSeconds() {
    double total = 0;
    for (RedisServer node : cluster.nodes()) {
      for (String line : ((String) node.command("INFO", "cpu")).split("\r?\n")) {
        if (line.startsWith("used_cpu_sys:") || line.startsWith("used_cpu_user:")) {
          total += Double.parseDouble(line.substring(line.indexOf(':') + 1).trim());
        }
      }
    }
    return total;
  }

  private double measure(RedisBroker broker, java.util.function.IntFunction<Destination> to, int names, int messages) {
    AtomicInteger received = new AtomicInteger();
    List<dev.brook.Subscription> subs = new ArrayList<>();
    for (int i = 0; i < names; i++) {
      subs.add(broker.subscriber(to.apply(i)).handle(byte[].class, (m, ctx) -> {
        received.incrementAndGet();
        return null;
      }));
    }
    byte[] payload = new byte[64];
    int batch = 500;
    long start = System.nanoTime();
    for (int sent = 0; sent < messages; sent += batch) {
      int from = sent;
      broker.pipeline(p -> {
        for (int i = from; i < from + batch; i++) {
          p.publish(payload, to.apply(i));
        }
      });
    }
    await().atMost(Duration.ofSeconds(60)).until(() -> received.get() == messages);
    double perSecond = messages / ((System.nanoTime() - start) / 1e9);
    subs.forEach(dev.brook.Subscription::close);
    return perSecond;
  }

  /** Moves one (empty) slot: IMPORTING on the target, MIGRATING on the source, then NODE on both. */
  private static void moveSlot(int slot, RedisServer from, RedisServer to) {
    String fromId = (String) from.command("CLUSTER", "MYID");
    String toId = (String) to.command("CLUSTER", "MYID");
    String s = Integer.toString(slot);
    to.command("CLUSTER", "SETSLOT", s, "IMPORTING", fromId);
    from.command("CLUSTER", "SETSLOT", s, "MIGRATING", toId);
    to.command("CLUSTER", "SETSLOT", s, "NODE", toId);
    from.command("CLUSTER", "SETSLOT", s, "NODE", toId);
  }
}
