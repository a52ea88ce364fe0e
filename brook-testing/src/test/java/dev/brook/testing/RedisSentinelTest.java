package dev.brook.testing;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.List;

import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.extension.RegisterExtension;

@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class RedisSentinelTest {

    @RegisterExtension
    static RedisSentinelExtension extension = new RedisSentinelExtension(b -> b.password("s3cret pw".replace(" ", "-")));

    @Test
    @Order(1)
    void startsPrimaryReplicaAndThreeSentinelsThatAgree(RedisSentinel sentinel) {
        List<RedisServer> sentinels = sentinel.sentinels();
        assertThat(sentinels).hasSize(3);
        assertThat(sentinel.url()).isEqualTo("redis-sentinel://:s3cret-pw@127.0.0.1:" + sentinels.get(0).port()
                + ",127.0.0.1:" + sentinels.get(1).port() + ",127.0.0.1:" + sentinels.get(2).port() + "/0#mymaster");
        for (RedisServer s : sentinels) {
            assertThat(s.command("SENTINEL", "GET-MASTER-ADDR-BY-NAME", "mymaster"))
                    .isEqualTo(List.of("127.0.0.1", Integer.toString(sentinel.primary().port())));
        }
        sentinel.primary().command("SET", "k", "v");
        sentinel.primary().command("WAIT", "1", "5000");
        assertThat(sentinel.replica().command("GET", "k")).isEqualTo("v");
        assertThat(sentinel.replica().command("ROLE")).asList().first().isEqualTo("slave");
    }

    @Test
    @Order(2)
    void killingThePrimaryPromotesTheReplica(RedisSentinel sentinel) {
        RedisServer replica = sentinel.replica();
        sentinel.primary().command("SET", "k", "v");
        sentinel.primary().command("WAIT", "1", "5000");
        long started = System.nanoTime();
        RedisServer killed = sentinel.killPrimary();
        assertThat(killed.isRunning()).isFalse();
        RedisServer promoted = sentinel.awaitFailover(Duration.ofSeconds(20));
        System.out.println("failover took " + (System.nanoTime() - started) / 1_000_000 + " ms");
        assertThat(promoted).isSameAs(replica).isSameAs(sentinel.primary());
        assertThat(sentinel.replica()).isSameAs(killed);
        assertThat(promoted.command("GET", "k")).isEqualTo("v");
        assertThat(promoted.command("ROLE")).asList().first().isEqualTo("master");

        RedisServer rejoined = sentinel.rejoin();
        assertThat(rejoined.port()).isEqualTo(killed.port());
        assertThat(rejoined.command("GET", "k")).isEqualTo("v");
        assertThat(sentinel.isRunning()).isTrue();
        // The rejoined node is the replica, unless the sentinels failed over once more (then rejoin swapped the roles).
        assertThat(sentinel.replica().command("ROLE")).asList().first().isEqualTo("slave");
        assertThat(sentinel.primary().command("ROLE")).asList().first().isEqualTo("master");
    }

    @Test
    @Order(3)
    void aSetupThatLostANodeIsStartedAfreshBeforeTheNextTest(RedisSentinel sentinel) {
        sentinel.killPrimary();
        assertThat(sentinel.isRunning()).isFalse();
    }

    @Test
    @Order(4)
    void freshSetup(RedisSentinel sentinel) {
        assertThat(sentinel.isRunning()).isTrue();
        assertThat(sentinel.primary().command("DBSIZE")).isEqualTo(0L);
    }
}
