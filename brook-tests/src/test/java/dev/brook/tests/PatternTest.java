package dev.brook.tests;

import static dev.brook.redis.Redis.channel;
import static dev.brook.redis.Redis.pattern;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.brook.redis.RedisBroker;
import java.util.Map;
import org.junit.jupiter.api.Test;

class PatternTest extends RedisTestBase {

  @Test
  void pathParametersComeFromTheMatchedChannel() {
    RedisBroker broker = broker();
    Recorder<String> recorder = new Recorder<>();
    var sub = broker.subscriber(pattern("logs.{level}")).handle(String.class, recorder);
    assertThat(sub.id()).isEqualTo("pattern:logs.*");
    broker.start();
    broker.publish("disk full", channel("logs.error"));
    broker.publish("hello", channel("logs.info"));
    broker.publish("ignored", channel("metrics.cpu"));
    var calls = recorder.awaitCount(2);
    assertThat(calls.get(0).payload()).isEqualTo("disk full");
    assertThat(calls.get(0).context().path("level")).isEqualTo("error");
    assertThat(calls.get(0).context().channel()).isEqualTo("logs.error");
    assertThat(calls.get(1).context().pathParams()).isEqualTo(Map.of("level", "info"));
    assertThat(calls).hasSize(2);
  }

  @Test
  void severalNamedParts() {
    RedisBroker broker = broker();
    Recorder<String> recorder = new Recorder<>();
    broker.subscriber(pattern("tenant.{tenant}.orders.{region}")).handle(String.class, recorder);
    broker.start();
    broker.publish("x", channel("tenant.acme.orders.eu-west"));
    var ctx = recorder.awaitOne().context();
    assertThat(ctx.path("tenant")).isEqualTo("acme");
    assertThat(ctx.path("region")).isEqualTo("eu-west");
    assertThat(ctx.path("missing")).isNull();
  }

  @Test
  void aPlainGlobWorksToo() {
    RedisBroker broker = broker();
    Recorder<String> recorder = new Recorder<>();
    broker.subscriber(pattern("news.*")).handle(String.class, recorder);
    broker.start();
    broker.publish("y", channel("news.sport"));
    var ctx = recorder.awaitOne().context();
    assertThat(ctx.pathParams()).isEmpty();
    assertThat(ctx.channel()).isEqualTo("news.sport");
  }

  @Test
  void aPatternAndAChannelOnTheSameNameBothReceive() {
    RedisBroker broker = broker();
    Recorder<String> byPattern = new Recorder<>();
    Recorder<String> byChannel = new Recorder<>();
    broker.subscriber(pattern("a.{x}")).handle(String.class, byPattern);
    broker.subscriber(channel("a.b")).handle(String.class, byChannel);
    broker.start();
    broker.publish("both", channel("a.b"));
    assertThat(byPattern.awaitOne().payload()).isEqualTo("both");
    assertThat(byChannel.awaitOne().payload()).isEqualTo("both");
  }

  @Test
  void publishingToAPatternIsRefused() {
    RedisBroker broker = broker();
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
