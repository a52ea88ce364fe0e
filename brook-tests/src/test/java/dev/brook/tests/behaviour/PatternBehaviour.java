package dev.brook.tests.behaviour;

import static dev.brook.redis.Redis.channel;
import static dev.brook.redis.Redis.pattern;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.brook.redis.RedisBroker;
import dev.brook.tests.Calls;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Pattern subscriptions: Redis globs with named parts that reach the handler as path parameters. */
abstract class PatternBehaviour extends Behaviour {

  PatternBehaviour(Backend backend) {
    super(backend);
  }

  @Test
  void pathParametersComeFromTheMatchedChannel() {
    RedisBroker broker = started();
    Calls<String> calls = new Calls<>();
    var sub = broker.subscriber(pattern("logs.{level}")).handle(String.class, calls);
    assertThat(sub.id()).isEqualTo("pattern:logs.*");
    broker.publish("disk full", channel("logs.error"));
    broker.publish("ignored", channel("metrics.cpu"));
    broker.publish("hello", channel("logs.info"));
    var all = calls.await(2);
    assertThat(all.get(0).payload()).isEqualTo("disk full");
    assertThat(all.get(0).context().path("level")).isEqualTo("error");
    assertThat(all.get(0).context().channel()).isEqualTo("logs.error");
    assertThat(all.get(0).context().destination()).isEqualTo(pattern("logs.{level}"));
    assertThat(all.get(1).context().pathParams()).isEqualTo(Map.of("level", "info"));
    assertThat(calls.payloads()).containsExactly("disk full", "hello");
  }

  @Test
  void severalNamedParts() {
    RedisBroker broker = started();
    Calls<String> calls = new Calls<>();
    broker.subscriber(pattern("tenant.{tenant}.orders.{region}")).handle(String.class, calls);
    broker.publish("x", channel("tenant.acme.orders.eu-west"));
    var ctx = calls.awaitOne().context();
    assertThat(ctx.path("tenant")).isEqualTo("acme");
    assertThat(ctx.path("region")).isEqualTo("eu-west");
    assertThat(ctx.path("missing")).isNull();
  }

  @Test
  void plainGlobsMatchAsRedisMatchesThem() {
    RedisBroker broker = started();
    Calls<String> star = new Calls<>();
    Calls<String> one = new Calls<>();
    Calls<String> set = new Calls<>();
    Calls<String> range = new Calls<>();
    broker.subscriber(pattern("news.*")).handle(String.class, star);
    broker.subscriber(pattern("h?llo")).handle(String.class, one);
    broker.subscriber(pattern("v[12].x")).handle(String.class, set);
    broker.subscriber(pattern("r[a-c]")).handle(String.class, range);
    for (String channel : new String[] {"news.sport", "news", "hello", "hallo", "hllo", "v1.x", "v3.x", "rb", "rd", "r-"}) {
      broker.publish(channel, channel(channel));
    }
    broker.publish("marker", channel("news.end"));
    star.await(2);
    assertThat(star.payloads()).containsExactly("news.sport", "marker");
    assertThat(star.all().get(0).context().pathParams()).isEmpty();
    assertThat(one.payloads()).containsExactly("hello", "hallo");
    assertThat(set.payloads()).containsExactly("v1.x");
    assertThat(range.payloads()).containsExactly("rb");
  }

  @Test
  void aPatternAndAChannelOnTheSameNameBothReceive() {
    RedisBroker broker = started();
    Calls<String> byPattern = new Calls<>();
    Calls<String> byChannel = new Calls<>();
    broker.subscriber(pattern("a.{x}")).handle(String.class, byPattern);
    broker.subscriber(channel("a.b")).handle(String.class, byChannel);
    broker.publish("both", channel("a.b"));
    assertThat(byPattern.awaitOne().payload()).isEqualTo("both");
    assertThat(byPattern.awaitOne().context().path("x")).isEqualTo("b");
    assertThat(byChannel.awaitOne().payload()).isEqualTo("both");
  }

  @Test
  void publishingToAPatternIsRefused() {
    RedisBroker broker = started();
    assertThatThrownBy(() -> broker.publish("x", pattern("logs.{level}")))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("Cannot publish to pattern:logs.*: a pattern is for subscribing. Publish to a channel, e.g. channel(\"logs.error\").");
  }

  @Test
  void aPartNamedTwiceIsRefused() {
    assertThatThrownBy(() -> pattern("{a}.{a}"))
        .hasMessage("Pattern '{a}.{a}' names the part {a} twice; give each part its own name.");
  }
}
