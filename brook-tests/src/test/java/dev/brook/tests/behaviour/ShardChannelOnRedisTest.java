package dev.brook.tests.behaviour;

import static dev.brook.redis.Redis.shardChannel;
import static org.assertj.core.api.Assertions.assertThat;

import dev.brook.redis.RedisBroker;
import dev.brook.testing.RedisServer;
import dev.brook.testing.WithRedisServer;
import dev.brook.tests.Calls;
import org.junit.jupiter.api.Test;

@WithRedisServer
class ShardChannelOnRedisTest extends ShardChannelBehaviour {

  private final RedisServer redis;

  ShardChannelOnRedisTest(RedisServer redis) {
    super(Backend.redis(redis));
    this.redis = redis;
  }

  /** Lettuce subscribes the shard channels again after a reconnect on one server (lettuce#2940, fixed in 6.5). */
  @Test
  void aKilledConnectionComesBackSubscribedAndIsCountedInPubSubMetrics() {
    RedisBroker broker = started();
    Calls<String> calls = new Calls<>();
    broker.subscriber(shardChannel("survive")).handle(String.class, calls);
    broker.publish("before", shardChannel("survive"));
    calls.awaitOne();
    assertThat(broker.pubSubMetrics().received()).isEqualTo(1);

    assertThat(redis.command("CLIENT", "KILL", "TYPE", "pubsub")).isEqualTo(1L);
    eventually().until(() -> broker.pubSubMetrics().disconnects() == 1
        && Long.valueOf(1).equals(redis.command("SPUBLISH", "survive", "probe")));
    broker.publish("after", shardChannel("survive"));

    eventually().until(() -> calls.payloads().contains("after"));
    assertThat(calls.payloads()).startsWith("before").endsWith("after").doesNotHaveDuplicates();
    assertThat(broker.pubSubMetrics().disconnects()).isEqualTo(1);
  }
}
