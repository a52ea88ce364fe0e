package dev.brook.asyncapi;

import static dev.brook.redis.Redis.channel;
import static dev.brook.redis.Redis.shardChannel;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.brook.asyncapi.Payloads.Order;
import dev.brook.redis.RedisBroker;
import org.junit.jupiter.api.Test;

/** A sharded channel in the document: a channel of its own kind, bound like a channel and marked sharded. */
class ShardChannelDocumentTest {

  @Test
  void shardChannel_isItsOwnChannelWithSsubscribeAndSpublish() {
    try (RedisBroker broker = RedisBroker.create("redis://127.0.0.1:6399")) {
      broker.subscriber(shardChannel("orders")).publishTo(shardChannel("receipts"))
          .handle(Order.class, (o, ctx) -> null);
      broker.subscriber(channel("orders")).handle(Order.class, (o, ctx) -> null);

      JsonNode doc = OfficialSchema.assertValidJson(AsyncApi.of(broker).toJson());

      JsonNode ch = doc.at("/channels/shard-channel.orders");
      assertThat(ch.path("address").asText()).isEqualTo("orders");
      assertThat(ch.at("/bindings/redis/kind").asText()).isEqualTo("shard-channel");
      assertThat(ch.at("/bindings/redis/channel").asText()).isEqualTo("orders");
      assertThat(ch.at("/bindings/redis/sharded").asBoolean()).isTrue();
      assertThat(ch.path("description").asText()).contains("sharded Pub/Sub").contains("hash slot");
      assertThat(doc.at("/channels/channel.orders/bindings/redis/kind").asText()).isEqualTo("channel");
      assertThat(doc.at("/operations/receive.shard-channel.orders/bindings/redis/method").asText()).isEqualTo("ssubscribe");
      assertThat(doc.at("/operations/receive.shard-channel.orders/title").asText()).isEqualTo("shard-channel:orders");
      assertThat(doc.at("/channels/shard-channel.receipts/bindings/redis/sharded").asBoolean()).isTrue();
    }
  }
}
