package dev.brook.tests.behaviour;

import static dev.brook.redis.Redis.channel;
import static dev.brook.redis.Redis.list;
import static dev.brook.redis.Redis.shardChannel;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.brook.Subscription;
import dev.brook.redis.RedisBroker;
import dev.brook.tests.Calls;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

/**
 * Sharded Pub/Sub channels ({@code shardChannel}, SSUBSCRIBE/SPUBLISH): at-most-once fan-out like a
 * channel, in a namespace of its own, with every way of publishing Brook has.
 */
abstract class ShardChannelBehaviour extends Behaviour {

  private static final Duration LONG = Duration.ofSeconds(10);

  ShardChannelBehaviour(Backend backend) {
    super(backend);
  }

  @Test
  void everyLiveSubscriberGetsEachMessageWithItsHeaders() {
    RedisBroker broker = started();
    Calls<String> a = new Calls<>();
    Calls<String> b = new Calls<>();
    Subscription first = broker.subscriber(shardChannel("orders")).handle(String.class, a);
    broker.subscriber(shardChannel("orders")).id("second").handle(String.class, b);
    assertThat(first.id()).isEqualTo("shard-channel:orders");

    broker.publish("one", shardChannel("orders"), Map.of("correlation_id", "c-1", "tenant", "東京"));
    broker.publish("two", shardChannel("orders"));

    assertThat(a.await(2)).extracting(Calls.Call::payload).containsExactly("one", "two");
    assertThat(b.await(2)).extracting(Calls.Call::payload).containsExactly("one", "two");
    var ctx = a.all().get(0).context();
    assertThat(ctx.correlationId()).isEqualTo("c-1");
    assertThat(ctx.header("tenant")).isEqualTo("東京");
    assertThat(ctx.channel()).isEqualTo("orders");
    assertThat(ctx.destination()).isEqualTo(shardChannel("orders"));
    assertThat(ctx.deliveryCount()).isEqualTo(1);
  }

  @Test
  void aShardChannelAndAChannelOfTheSameNameDoNotSeeEachOthersMessages() {
    RedisBroker broker = started();
    Calls<String> sharded = new Calls<>();
    Calls<String> plain = new Calls<>();
    broker.subscriber(shardChannel("x")).handle(String.class, sharded);
    broker.subscriber(channel("x")).handle(String.class, plain);

    broker.publish("to shard", shardChannel("x"));
    broker.publish("to channel", channel("x"));
    broker.publish("shard end", shardChannel("x"));
    broker.publish("channel end", channel("x"));

    // Each connection keeps its order: anything misrouted would have come before the end marker.
    assertThat(sharded.await(2)).extracting(Calls.Call::payload).containsExactly("to shard", "shard end");
    assertThat(plain.await(2)).extracting(Calls.Call::payload).containsExactly("to channel", "channel end");
  }

  @Test
  void theLastSubscriptionToCloseUnsubscribesAndTheOthersKeepReceiving() {
    RedisBroker broker = started();
    Calls<String> a = new Calls<>();
    Calls<String> b = new Calls<>();
    Subscription first = broker.subscriber(shardChannel("rc")).id("a").handle(String.class, a);
    Subscription second = broker.subscriber(shardChannel("rc")).id("b").handle(String.class, b);

    first.close();
    broker.publish("after a closed", shardChannel("rc"));
    assertThat(b.awaitOne().payload()).isEqualTo("after a closed");
    assertThat(backend.command("SPUBLISH", "rc", "raw")).isEqualTo(1L); // one subscriber: b
    assertThat(b.await(2).get(1).payload()).isEqualTo("raw");

    second.close();
    assertThat(backend.command("SPUBLISH", "rc", "nobody")).isEqualTo(0L); // SUNSUBSCRIBE was sent
    assertThat(a.payloads()).isEmpty();
    assertThat(b.payloads()).containsExactly("after a closed", "raw");
  }

  @Test
  void aSubscriptionStartedAgainReceivesAgain() {
    RedisBroker broker = started();
    Calls<String> calls = new Calls<>();
    Subscription sub = broker.subscriber(shardChannel("again")).handle(String.class, calls);
    broker.publish("1", shardChannel("again"));
    calls.awaitOne();
    sub.stop();
    assertThat(backend.command("SPUBLISH", "again", "lost")).isEqualTo(0L);
    sub.start();
    broker.publish("2", shardChannel("again"));
    assertThat(calls.await(2)).extracting(Calls.Call::payload).containsExactly("1", "2");
  }

  @Test
  void aRawSpublishFromAnotherClientIsReadAsItsBytes() {
    RedisBroker broker = started();
    Calls<byte[]> calls = new Calls<>();
    broker.subscriber(shardChannel("native")).handle(byte[].class, calls);
    assertThat(backend.command("SPUBLISH", "native", "hello")).isEqualTo(1L);
    assertThat(new String(calls.awaitOne().payload(), java.nio.charset.StandardCharsets.UTF_8)).isEqualTo("hello");
  }

  @Test
  void aBatchArrivesInOrder() {
    RedisBroker broker = started();
    Calls<Integer> calls = new Calls<>();
    broker.subscriber(shardChannel("batch")).handle(Integer.class, calls);
    List<Integer> all = IntStream.range(0, 50).boxed().toList();
    broker.publishBatch(all, shardChannel("batch"));
    assertThat(calls.await(50)).extracting(Calls.Call::payload).containsExactlyElementsOf(all);
  }

  @Test
  void aPipelineMixesShardChannelsWithOtherKinds() {
    RedisBroker broker = started();
    Calls<String> events = new Calls<>();
    broker.subscriber(shardChannel("events")).handle(String.class, events);
    broker.pipeline(p -> p
        .publish("job", list("jobs"))
        .publish("hello", shardChannel("events"), Map.of("source", "checkout"))
        .publish("world", shardChannel("events")));
    assertThat(backend.list("jobs")).extracting(Backend.Stored::text).containsExactly("job");
    assertThat(events.await(2)).extracting(Calls.Call::payload).containsExactly("hello", "world");
    assertThat(events.all().get(0).context().header("source")).isEqualTo("checkout");
  }

  @Test
  void aRequestToAShardChannelGetsItsReply() {
    RedisBroker broker = started();
    broker.subscriber(shardChannel("ping")).handle(String.class, (s, ctx) -> s + " pong");
    assertThat(broker.request("ping", shardChannel("ping"), String.class, LONG)).isEqualTo("ping pong");
    assertThat(broker.request("again", shardChannel("ping"), String.class, LONG)).isEqualTo("again pong");
    assertThat(broker.subscriptions()).hasSize(1);
  }

  @Test
  void publishToReachesAShardChannelAndAShardChannelHandlerPublishesOn() {
    RedisBroker broker = started();
    Calls<String> out = new Calls<>();
    broker.subscriber(channel("in")).publishTo(shardChannel("mid")).handle(String.class, (s, ctx) -> s + "+1");
    broker.subscriber(shardChannel("mid")).publishTo(list("out")).handle(String.class, (s, ctx) -> s + "+2");
    broker.subscriber(list("out")).handle(String.class, out);
    broker.publish("m", channel("in"), Map.of("correlation_id", "chain"));
    var call = out.awaitOne();
    assertThat(call.payload()).isEqualTo("m+1+2");
    assertThat(call.context().correlationId()).isEqualTo("chain");
  }

  @Test
  void anEmptyNameIsRefused() {
    assertThatThrownBy(() -> shardChannel("")).isInstanceOf(IllegalArgumentException.class)
        .hasMessage("A shard channel name must not be empty.");
  }
}
