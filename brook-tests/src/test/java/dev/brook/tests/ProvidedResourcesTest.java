package dev.brook.tests;

import static dev.brook.redis.Redis.channel;
import static dev.brook.redis.Redis.list;
import static dev.brook.redis.Redis.stream;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.brook.redis.RedisBroker;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.resource.ClientResources;
import io.lettuce.core.resource.DefaultClientResources;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * Lettuce resources or a client the application passes to the builder stay the application's: the
 * broker runs on them, and its close closes only its own connections — afterwards they still work
 * (as Lettuce's own test of provided resources checks).
 */
class ProvidedResourcesTest extends RedisTestBase {

  private long clientsNamed(String name) {
    String clients = (String) redis.command("CLIENT", "LIST");
    return clients.lines().filter(l -> l.contains(" name=" + name + " ")).count();
  }

  /** A channel, a list and a stream group, each handling one message, then the broker closed. */
  private void useAndClose(RedisBroker broker) throws Exception {
    List<String> got = new CopyOnWriteArrayList<>();
    broker.subscriber(channel("news")).handle(String.class, (m, ctx) -> got.add("news:" + m));
    broker.subscriber(list("jobs")).handle(String.class, (m, ctx) -> got.add("jobs:" + m));
    broker.subscriber(stream("events").group("g")).handle(String.class, (m, ctx) -> got.add("events:" + m));
    broker.start();
    broker.publish("a", channel("news"));
    broker.publish("b", list("jobs"));
    broker.publish("c", stream("events"));
    await().atMost(Duration.ofSeconds(10)).until(() -> got.size() == 3);
    assertThat(got).containsExactlyInAnyOrder("news:a", "jobs:b", "events:c");
    broker.close();
  }

  @Test
  void theCallersResourcesStillWorkAfterClose() throws Exception {
    ClientResources resources = DefaultClientResources.create();
    try {
      RedisBroker broker = broker(b -> b.clientName("on-given-resources").clientResources(resources));
      useAndClose(broker);

      await().atMost(Duration.ofSeconds(10)).until(() -> clientsNamed("on-given-resources") == 0);
      assertThat(resources.eventExecutorGroup().isShuttingDown()).isFalse();
      RedisClient other = RedisClient.create(resources, RedisURI.create(redis.url()));
      try (StatefulRedisConnection<String, String> c = other.connect()) {
        assertThat(c.sync().ping()).isEqualTo("PONG");
      } finally {
        other.shutdown();
      }
    } finally {
      resources.shutdown(0, 2, TimeUnit.SECONDS).get(10, TimeUnit.SECONDS);
    }
  }

  @Test
  void theCallersClientAndItsConnectionsStillWorkAfterClose() throws Exception {
    ClientResources resources = DefaultClientResources.create();
    RedisClient client = RedisClient.create(resources);
    try (StatefulRedisConnection<String, String> own = client.connect(RedisURI.create(redis.url()))) {
      RedisBroker broker = broker(b -> b.clientName("on-given-client").redisClient(client));
      useAndClose(broker);

      await().atMost(Duration.ofSeconds(10)).until(() -> clientsNamed("on-given-client") == 0);
      assertThat(own.isOpen()).isTrue();
      assertThat(own.sync().ping()).isEqualTo("PONG");
      try (StatefulRedisConnection<String, String> again = client.connect(RedisURI.create(redis.url()))) {
        assertThat(again.sync().ping()).isEqualTo("PONG");
      }
      assertThat(resources.eventExecutorGroup().isShuttingDown()).isFalse();
    } finally {
      client.shutdown();
      resources.shutdown(0, 2, TimeUnit.SECONDS).get(10, TimeUnit.SECONDS);
    }
  }

  @Test
  void optionsOfTheClientBrookCreatesDoNotGoWithAGivenClient() {
    RedisClient client = RedisClient.create();
    ClientResources resources = DefaultClientResources.create();
    try {
      assertThatThrownBy(() -> RedisBroker.builder().redisClient(client).connectTimeout(Duration.ofSeconds(1))
          .requestQueueSize(10).build())
          .isInstanceOf(IllegalStateException.class)
          .hasMessage("redisClient is set, so its ClientOptions apply, but connectTimeout, requestQueueSize configure "
              + "the client Brook creates. Set them on your client's ClientOptions, or leave redisClient out.");
      assertThatThrownBy(() -> RedisBroker.builder().redisClient(client).clientResources(resources).build())
          .isInstanceOf(IllegalStateException.class)
          .hasMessage("redisClient and clientResources are both set, but a client brings its own resources. Pass one "
              + "of them: the client, or the resources Brook creates its client on.");
    } finally {
      client.shutdown();
      resources.shutdown();
    }
  }
}
