package dev.brook.testing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;

import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.extension.RegisterExtension;

/** {@link RedisCluster#moveSlots}, {@link RedisCluster#failover} and {@link RedisCluster#remove} on a cluster of its own. */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class RedisClusterTopologyTest {

    @RegisterExtension
    static final RedisClusterExtension CLUSTER = new RedisClusterExtension(b -> b.masters(3).replicasPerMaster(1));

    @Test
    @Order(1)
    void movesASlotWithItsKeysBatchByBatch(RedisCluster cluster) {
        for (int i = 0; i < 25; i++) {
            cluster.command("RPUSH", "{jobs}:q" + (i % 5), "item-" + i);
        }
        cluster.command("XADD", "{jobs}", "*", "f", "v");
        RedisServer owner = cluster.masterFor("{jobs}");
        RedisServer target = cluster.masters().stream().filter(m -> m != owner).findFirst().orElseThrow();

        int moved = cluster.moveSlots(RedisCluster.slot("{jobs}"), RedisCluster.slot("{jobs}"), target, 2);

        assertThat(moved).isEqualTo(6);
        assertThat(cluster.masterFor("{jobs}")).isSameAs(target);
        assertThat(target.command("LLEN", "{jobs}:q0")).isEqualTo(5L);
        assertThat(target.command("XLEN", "{jobs}")).isEqualTo(1L);
        assertThat(owner.command("DBSIZE")).isEqualTo(0L);
        assertThatThrownBy(() -> owner.command("LLEN", "{jobs}:q0")).hasMessageStartingWith("MOVED");
        // a range, some of whose slots the target already serves
        int first = RedisCluster.slot("{jobs}") - 2;
        assertThat(cluster.moveSlots(first, first + 4, target, 10)).isZero();
        assertThat(cluster.masterForSlot(first + 4)).isSameAs(target);
    }

    @Test
    @Order(2)
    void failsAMasterOverToItsReplicaWithoutLosingWrites(RedisCluster cluster) {
        for (int i = 0; i < 100; i++) {
            cluster.command("RPUSH", "{f}", Integer.toString(i));
        }
        RedisServer master = cluster.masterFor("{f}");

        RedisServer promoted = cluster.failover(master);

        assertThat(promoted).isNotSameAs(master);
        assertThat(cluster.masterFor("{f}")).isSameAs(promoted);
        assertThat(cluster.masters()).contains(promoted).doesNotContain(master);
        assertThat(cluster.replicas()).contains(master);
        assertThat(cluster.command("LLEN", "{f}")).isEqualTo(100L);
        assertThatThrownBy(() -> cluster.failover(master)).hasMessageContaining("is not a master");
    }

    @Test
    @Order(3)
    void removesANodeForGood(RedisCluster cluster) {
        RedisServer master = cluster.masters().getFirst();
        assertThatThrownBy(() -> cluster.remove(master)).hasMessageContaining("serves slots");
        RedisServer replica = cluster.replicas().getFirst();
        String id = (String) replica.command("CLUSTER", "MYID");

        cluster.remove(replica);

        assertThat(replica.isRunning()).isFalse();
        for (RedisServer node : cluster.masters()) {
            assertThat((String) node.command("CLUSTER", "NODES")).doesNotContain(id);
        }
        cluster.awaitHealthy();
        assertThat(replica.isRunning()).as("not restarted").isFalse();
        assertThat(cluster.masters()).hasSize(3);
        assertThat(cluster.replicas()).hasSize(2);
        assertThat(cluster.nodes()).hasSize(6);
        assertThat(List.of(cluster.command("SET", "{a}k", "1"))).containsExactly("OK");
    }
}
