package dev.brook.testing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.util.List;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

@WithRedisServer
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class RedisServerExtensionTest {

    private static RedisServer fromBeforeAll;
    private static int port;
    private final RedisServer fromConstructor;
    private RedisServer fromBeforeEach;

    RedisServerExtensionTest(RedisServer server) {
        this.fromConstructor = server;
    }

    @BeforeAll
    static void beforeAll(RedisServer server) {
        fromBeforeAll = server;
        port = server.port();
        server.command("SET", "from-before-all", "1");
    }

    @BeforeEach
    void beforeEach(RedisServer server) {
        fromBeforeEach = server;
        assertThat(server.isRunning()).as("restarted before @BeforeEach if a test killed it").isTrue();
    }

    @Test
    @Order(1)
    void injectsOneRunningServerEverywhere(RedisServer server) {
        assertThat(server).isNotNull();
        assertThat(server).isSameAs(fromBeforeAll).isSameAs(fromConstructor).isSameAs(fromBeforeEach);
        assertThat(server.isRunning()).isTrue();
        assertThat(server.port()).isNotEqualTo(6379);
        assertThat(server.command("PING")).isEqualTo("PONG");
    }

    @Test
    @Order(2)
    void flushesBeforeTheFirstTestToo(RedisServer server) {
        assertThat(server.command("EXISTS", "from-before-all")).isEqualTo(0L);
    }

    @Test
    @Order(3)
    void writesAKey(RedisServer server) {
        server.command("SET", "leftover", "x");
        assertThat(server.command("DBSIZE")).isEqualTo(1L);
    }

    @Test
    @Order(4)
    void doesNotSeeThePreviousTestsKeys(RedisServer server) {
        assertThat(server.command("EXISTS", "leftover")).isEqualTo(0L);
        assertThat(server.command("DBSIZE")).isEqualTo(0L);
    }

    @Test
    @Order(5)
    void killsTheServer(RedisServer server) {
        server.command("SET", "before-kill", "x");
        server.kill();
        assertThat(server.isRunning()).isFalse();
    }

    @Test
    @Order(6)
    void getsARestartedServerOnTheSamePort(RedisServer server) {
        assertThat(server.isRunning()).isTrue();
        assertThat(server.port()).isEqualTo(port);
        assertThat(server.command("PING")).isEqualTo("PONG");
        assertThat(server.command("DBSIZE")).isEqualTo(0L);
    }

    @Test
    @Order(7)
    void unstartableServerFailsWithWhatWasTriedAndTheFix() {
        Path bogus = Path.of("/nonexistent/redis-server");
        RedisServerExtension extension = new RedisServerExtension(builder -> builder.binary(bogus));
        assertThatThrownBy(() -> extension.startServer("SomeTest"))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("SomeTest")
                .hasMessageContaining("Tried:")
                .hasMessageContaining(bogus.toString())
                .hasMessageContaining("apt-get install redis-server");
    }

    @Test
    @Order(8)
    void customisedExtensionStartsTheConfiguredServer() {
        RedisServerExtension extension = new RedisServerExtension(builder -> builder.embedded().appendOnly(true));
        try (RedisServer server = extension.startServer("SomeTest")) {
            assertThat(server.source()).isEqualTo(RedisServer.SOURCE_EMBEDDED);
            assertThat(server.command("CONFIG", "GET", "appendonly")).isEqualTo(List.of("appendonly", "yes"));
        }
    }

    @Test
    @Order(9)
    void brookRedisBinaryEmbeddedMakesTheDefaultServerTheEmbeddedRedis7() {
        String before = System.getProperty(RedisBinaries.MODE_PROPERTY);
        System.setProperty(RedisBinaries.MODE_PROPERTY, "embedded");
        try (RedisServer server = new RedisServerExtension().startServer("SomeTest")) {
            assertThat(server.source()).isEqualTo(RedisServer.SOURCE_EMBEDDED);
            assertThat((String) server.command("INFO", "server")).contains("redis_version:7.0.9");
        } finally {
            restore(before);
        }
    }

    @Test
    @Order(10)
    void anUnknownBrookRedisBinaryFailsNamingTheChoices() {
        String before = System.getProperty(RedisBinaries.MODE_PROPERTY);
        System.setProperty(RedisBinaries.MODE_PROPERTY, "redis7");
        try {
            assertThatThrownBy(() -> new RedisServerExtension().startServer("SomeTest"))
                    .isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("brook.redis.binary is 'redis7'; use embedded");
        } finally {
            restore(before);
        }
    }

    private static void restore(String property) {
        if (property == null) {
            System.clearProperty(RedisBinaries.MODE_PROPERTY);
        } else {
            System.setProperty(RedisBinaries.MODE_PROPERTY, property);
        }
    }

    @Nested
    class NestedClass {

        @Test
        void sharesTheEnclosingClassServer(RedisServer server) {
            assertThat(server).isSameAs(fromBeforeAll);
            assertThat(server.command("DBSIZE")).isEqualTo(0L);
        }
    }
}
