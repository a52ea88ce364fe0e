package dev.brook.testing;

import static dev.brook.redis.Redis.channel;

import dev.brook.redis.RedisBroker;
import io.lettuce.core.RedisClient;
import io.lettuce.core.api.StatefulRedisConnection;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Test classes that leak on purpose, for {@link LeakCheckExtensionTest}, which runs them through the launcher.
 * Their names do not look like tests, so Surefire never runs them on its own (where they would fail).
 */
final class LeakCheckSamples {

  /** What the samples leaked on purpose; {@link LeakCheckExtensionTest} closes it after each run. */
  static final List<AutoCloseable> LEFT = new CopyOnWriteArrayList<>();

  private LeakCheckSamples() {}

  @WithRedisServer
  @CheckLeaks
  static class LeavesABrokerOpen {
    private final List<RedisBroker> toClose = new ArrayList<>();

    @AfterEach
    void close() {
      toClose.forEach(RedisBroker::close);
    }

    @Test
    void leaves(RedisServer redis) {
      RedisBroker broker = RedisBroker.builder().url(redis.url()).clientName("leaky").build();
      LEFT.add(broker);
      broker.subscriber(channel("c")).handle(String.class, (s, ctx) -> null);
      broker.start();
    }

    @Test
    void closes(RedisServer redis) {
      try (RedisBroker broker = RedisBroker.builder().url(redis.url()).build()) {
        broker.subscriber(channel("c")).handle(String.class, (s, ctx) -> null);
        broker.start();
      }
    }

    @Test
    void closesInAfterEach(RedisServer redis) {
      RedisBroker broker = RedisBroker.builder().url(redis.url()).build();
      toClose.add(broker);
      broker.start();
    }
  }

  @WithRedisServer
  @CheckLeaks
  static class LeavesAConnectionOpen {
    @Test
    void leaves(RedisServer redis) {
      RedisClient client = RedisClient.create(redis.url());
      StatefulRedisConnection<String, String> connection = client.connect();
      LEFT.add(client::shutdown);
      connection.sync().clientSetname("raw");
    }
  }

  @WithRedisSentinel
  @CheckLeaks
  static class LeavesASentinelConnectionOpen {
    @Test
    void leaves(RedisSentinel sentinel) {
      RedisClient client = RedisClient.create(sentinel.sentinels().get(1).url());
      StatefulRedisConnection<String, String> connection = client.connect();
      LEFT.add(client::shutdown);
      connection.sync().clientSetname("rawsentinel");
    }

    @Test
    void closes(RedisSentinel sentinel) {
      RedisClient client = RedisClient.create(sentinel.sentinels().get(1).url());
      try {
        client.connect().sync().clientSetname("closed");
      } finally {
        client.shutdown();
      }
    }
  }

  @CheckLeaks
  static class LeavesATestBrokerOpen {
    @Test
    void leaves() {
      RedisBroker broker = RedisBroker.create("redis://127.0.0.1:1");
      TestRedisBroker test = TestRedisBroker.of(broker);
      LEFT.add(broker);
      LEFT.add(test);
    }
  }

  @WithRedisServer
  @CheckLeaks
  static class KeepsAClassBroker {
    static RedisBroker classBroker;

    @BeforeAll
    static void open(RedisServer redis) {
      classBroker = RedisBroker.builder().url(redis.url()).build();
      classBroker.start();
      LEFT.add(classBroker);
    }

    @Test
    void usesTheClassBroker() {
      classBroker.publish("x", channel("c"));
    }

    @Test
    void killsTheServer(RedisServer redis) {
      redis.kill();
    }

    @AfterAll
    static void forgetsToCloseIt() {
    }
  }
}
