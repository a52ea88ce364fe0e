package dev.brook.testing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

@WithRedisCluster
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class RedisClusterTest {

    private final RedisCluster fromConstructor;

    RedisClusterTest(RedisCluster cluster) {
        this.fromConstructor = cluster;
    }

    @Test
    @Order(1)
    void formsThreeMastersAndThreeReplicasCoveringEverySlot(RedisCluster cluster) {
        assertThat(cluster).isSameAs(fromConstructor);
        assertThat(cluster.nodes()).hasSize(6);
        assertThat(cluster.masters()).hasSize(3).isEqualTo(cluster.nodes().subList(0, 3));
        assertThat(cluster.replicas()).hasSize(3).isEqualTo(cluster.nodes().subList(3, 6));
        Set<Long> pids = new HashSet<>();
        for (RedisServer node : cluster.nodes()) {
            assertThat(node.port()).isNotEqualTo(6379);
            pids.add(node.pid());
            String info = (String) node.command("CLUSTER", "INFO");
            assertThat(info).contains("cluster_state:ok", "cluster_slots_assigned:16384", "cluster_known_nodes:6");
        }
        assertThat(pids).hasSize(6);
        StringBuilder url = new StringBuilder("redis-cluster://");
        for (RedisServer node : cluster.nodes()) {
            url.append(url.length() > 16 ? "," : "").append("127.0.0.1:").append(node.port());
        }
        assertThat(cluster.url()).isEqualTo(url.toString());
    }

    @Test
    @Order(2)
    void routesACommandToTheMasterOfItsKey(RedisCluster cluster) {
        // {a}, {b}, {c}: slots 15495, 3300, 7365 - one on each master
        Set<Integer> ports = new HashSet<>();
        for (String key : List.of("{a}x", "{b}x", "{c}x")) {
            assertThat(cluster.command("SET", key, "v-" + key)).isEqualTo("OK");
            assertThat(cluster.command("GET", key)).isEqualTo("v-" + key);
            RedisServer master = cluster.masterFor(key);
            ports.add(master.port());
            assertThat(master.command("GET", key)).isEqualTo("v-" + key);
            assertThat(RedisCluster.slot(key)).isEqualTo(((Long) master.command("CLUSTER", "KEYSLOT", key)).intValue());
        }
        assertThat(ports).hasSize(3);
        // the key is not the first argument: the MOVED reply is followed
        assertThat(cluster.command("OBJECT", "ENCODING", "{a}x")).isEqualTo("embstr");
    }

    @Test
    @Order(3)
    void flushesEveryMasterBeforeEachTest(RedisCluster cluster) {
        for (RedisServer master : cluster.masters()) {
            assertThat(master.command("DBSIZE")).isEqualTo(0L);
        }
    }

    @Test
    @Order(4)
    void aKilledMasterIsReplacedByItsReplica(RedisCluster cluster) {
        cluster.command("SET", "{a}k", "1");
        RedisServer master = cluster.masterFor("{a}k");
        assertThat(master.command("WAIT", "1", "5000")).as("the replica has the write").isEqualTo(1L);
        master.kill();
        await().atMost(Duration.ofSeconds(10)).until(() -> cluster.masterFor("{a}k") != master);
        assertThat(cluster.masters()).hasSize(3).doesNotContain(master);
    }

    @Test
    @Order(5)
    void bringsKilledNodesBackBeforeTheNextTest(RedisCluster cluster) {
        assertThat(cluster.nodes()).allMatch(RedisServer::isRunning);
        assertThat(cluster.masters()).hasSize(3);
        assertThat(cluster.replicas()).hasSize(3);
        assertThat(cluster.command("SET", "{a}k", "2")).isEqualTo("OK");
    }

    @Test
    @Order(6)
    void awaitPubSubDeliveredReturnsOnceEveryNodeHasHeardWhatWasPublishedBefore(RedisCluster cluster) {
        RedisServer publisher = cluster.nodes().getFirst();
        RedisServer listener = cluster.nodes().getLast();
        java.util.concurrent.atomic.AtomicInteger heard = new java.util.concurrent.atomic.AtomicInteger();
        try (var c = listener.pubSubConnection()) {
            c.addListener(new io.lettuce.core.pubsub.RedisPubSubAdapter<>() {
                @Override
                public void message(String channel, String message) {
                    heard.incrementAndGet();
                }
            });
            c.sync().subscribe("bus-test");
            for (int i = 0; i < 500; i++) {
                publisher.command("PUBLISH", "bus-test", "m" + i);
            }
            cluster.awaitPubSubDelivered();
            assertThat(heard).as("every message published on another node before the barrier").hasValue(500);
        }
    }
}
