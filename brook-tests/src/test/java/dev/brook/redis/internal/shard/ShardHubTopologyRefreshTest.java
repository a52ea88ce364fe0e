package dev.brook.redis.internal.shard;

import static dev.brook.redis.Redis.shardChannel;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.brook.redis.RedisBroker;
import dev.brook.redis.internal.RedisTransport;
import dev.brook.spi.Brokers;
import dev.brook.testing.RedisCluster;
import dev.brook.testing.WithRedisCluster;
import dev.brook.tests.Calls;
import io.lettuce.core.cluster.SlotHash;
import io.lettuce.core.cluster.models.partitions.Partitions;
import io.lettuce.core.cluster.pubsub.StatefulRedisClusterPubSubConnection;
import java.time.Duration;
import java.util.List;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

/**
 * lettuce#2434: once the node of a cluster Pub/Sub connection's default connection has left the
 * cluster, a topology refresh ({@code setPartitions} without that node) disconnects it. The test does
 * to the shard hub's connection exactly what such a refresh does, instead of removing a node and
 * waiting for a periodic refresh (30 s): shard channels live on node connections, so none of their
 * messages is lost, none needs subscribing again, and the drop is not counted as a gap. (Lettuce 7.7
 * then reconnects the default connection, to the next node in its round robin, and asks that node's
 * id again, so the drop does not repeat at every refresh as it did in 6.2.)
 */
@WithRedisCluster(shared = true)
class ShardHubTopologyRefreshTest {

  private final RedisCluster cluster;

  ShardHubTopologyRefreshTest(RedisCluster cluster) {
    this.cluster = cluster;
  }

  @Test
  void theDefaultConnectionDroppedByATopologyRefresh_losesNoShardChannelMessage() throws Exception {
    try (RedisBroker broker = RedisBroker.create(cluster.url())) {
      Calls<Integer> probe = new Calls<>();
      var opener = broker.subscriber(shardChannel("sc-refresh-probe")).handle(Integer.class, probe); // opens the hub
      broker.start();
      ShardHub hub = ((RedisTransport) Brokers.ownTransport(broker)).shardChannels().openHub();
      @SuppressWarnings("unchecked")
      StatefulRedisClusterPubSubConnection<byte[], byte[]> connection =
          (StatefulRedisClusterPubSubConnection<byte[], byte[]>) hub.connection();
      String defaultNode = defaultNodeId(connection);
      opener.close(); // its slot may be on the default connection's node
      // Shard channels on two masters other than the default connection's node: a refresh without
      // that node leaves their node connections alone, as when it really left the cluster.
      List<String> names = IntStream.range(0, 500).mapToObj(i -> "sc-refresh-" + i)
          .filter(n -> !connection.getPartitions().getMasterBySlot(SlotHash.getSlot(n)).getNodeId().equals(defaultNode))
          .toList();
      String a = names.get(0);
      String b = names.stream().filter(n -> cluster.masterFor(n) != cluster.masterFor(a)).findFirst().orElseThrow();
      Calls<Integer> first = new Calls<>();
      Calls<Integer> second = new Calls<>();
      broker.subscriber(shardChannel(a)).handle(Integer.class, first);
      broker.subscriber(shardChannel(b)).handle(Integer.class, second);
      for (int i = 0; i < 20; i++) {
        broker.publish(i, shardChannel(a));
        broker.publish(i, shardChannel(b));
      }
      first.await(20);
      second.await(20);

      Partitions real = new Partitions();
      real.addAll(connection.getPartitions());
      Partitions without = new Partitions();
      real.forEach(node -> {
        if (!node.getNodeId().equals(defaultNode)) {
          without.add(node);
        }
      });
      long losses = broker.connectionLosses();
      setPartitions(connection, without); // what the refresh does: the default connection is dropped
      await().atMost(Duration.ofSeconds(10)).until(() -> broker.connectionLosses() == losses + 1);
      for (int i = 20; i < 40; i++) { // while it is down or reconnecting
        broker.publish(i, shardChannel(a));
        broker.publish(i, shardChannel(b));
      }
      setPartitions(connection, real);
      assertThat(connection.sync().ping()).isEqualTo("PONG"); // keyless: answered once the default connection is back
      for (int i = 40; i < 60; i++) {
        broker.publish(i, shardChannel(a));
        broker.publish(i, shardChannel(b));
      }

      first.await(60);
      second.await(60);
      assertThat(first.payloads()).containsExactlyElementsOf(IntStream.range(0, 60).boxed().toList());
      assertThat(second.payloads()).containsExactlyElementsOf(IntStream.range(0, 60).boxed().toList());
      assertThat(broker.connectionLosses()).isEqualTo(losses + 1); // the drop happened, and only it
      assertThat(hub.resubscriptions()).isZero();
      assertThat(broker.pubSubMetrics().disconnects()).isZero(); // not a gap
    }
  }

  /** What Lettuce's topology refresh calls on every cluster connection (a method of its implementation class). */
  private static void setPartitions(Object connection, Partitions partitions) throws Exception {
    var method = connection.getClass().getMethod("setPartitions", Partitions.class);
    method.setAccessible(true);
    method.invoke(connection, partitions);
  }

  /** The node id Lettuce keeps for the default connection (CLUSTER MYID at connect); not exposed by its API. */
  private static String defaultNodeId(StatefulRedisClusterPubSubConnection<byte[], byte[]> connection) throws Exception {
    var field = connection.getClass().getDeclaredField("nodeId");
    field.setAccessible(true);
    await().atMost(Duration.ofSeconds(5)).until(() -> field.get(connection) != null);
    return (String) field.get(connection);
  }
}
