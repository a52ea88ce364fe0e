package dev.brook.tests.testclient;

import static dev.brook.redis.Redis.channel;
import static dev.brook.redis.Redis.list;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.brook.Subscription;
import dev.brook.redis.RedisBroker;
import dev.brook.testing.RedisServer;
import dev.brook.testing.TestRedisBroker;
import dev.brook.testing.WithRedisServer;
import org.junit.jupiter.api.Test;

/** The scenarios of {@link TestClientScenarios} with {@code TestRedisBroker.withReal}: on a private redis-server. */
@WithRedisServer
class WithRealTest extends TestClientScenarios {

  private final RedisServer redis;

  WithRealTest(RedisServer redis) {
    this.redis = redis;
  }

  @Override
  String url() {
    return redis.url();
  }

  @Override
  TestRedisBroker open(RedisBroker broker) {
    return TestRedisBroker.withReal(broker);
  }

  @Test
  void theBrokerReallyUsesRedisAndWhatOnlyMemoryShowsSaysSo() {
    RedisBroker broker = broker();
    TestRedisBroker test = test(broker);
    assertThat(test.isReal()).isTrue();
    broker.publish("kept", list("queue")); // no subscriber: it stays in the real Redis
    assertThat(raw().sync().llen("queue".getBytes(java.nio.charset.StandardCharsets.UTF_8))).isEqualTo(1);
    assertThatThrownBy(() -> test.list("queue")).isInstanceOf(UnsupportedOperationException.class)
        .hasMessageContaining("withReal");
    assertThatThrownBy(test::synchronous).isInstanceOf(IllegalStateException.class);
    assertThatThrownBy(() -> test.with(broker())).isInstanceOf(IllegalStateException.class);
  }

  @Test
  void closingTheTestBrokerLeavesTheBrokerOnItsRedis() {
    RedisBroker broker = broker();
    dev.brook.tests.Calls<String> calls = new dev.brook.tests.Calls<>();
    Subscription s = broker.subscriber(channel("c")).handle(String.class, calls);
    TestRedisBroker test = TestRedisBroker.withReal(broker);
    test.close();
    broker.start();
    broker.publish("after", channel("c"));
    assertThat(calls.awaitOne().payload()).isEqualTo("after");
    assertThat(test.calls(s)).isEmpty();
  }

  /** The recording wrappers hand ctx.delete() (XDEL), the pipeline and ping to the real transport, not to the SPI's no-op defaults. */
  @Test
  void deletePipelinesAndPingReachTheRealRedis() {
    RedisBroker broker = broker();
    dev.brook.tests.Calls<String> calls = new dev.brook.tests.Calls<>();
    Subscription s = broker.subscriber(dev.brook.redis.Redis.stream("del").group("g").consumer("c")).handle(String.class, (m, ctx) -> {
      ctx.delete();
      return calls.handle(m, ctx);
    });
    TestRedisBroker test = test(broker);
    assertThat(broker.ping(java.time.Duration.ofSeconds(5))).isTrue();
    broker.pipeline(p -> p.publish("gone", dev.brook.redis.Redis.stream("del")).publish("kept", list("piped")));
    test.waitForCall(s, java.time.Duration.ofSeconds(10));
    org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(10))
        .until(() -> raw().sync().xlen("del".getBytes(java.nio.charset.StandardCharsets.UTF_8)) == 0);
    assertThat(test.published(list("piped"))).hasSize(1);
    assertThat(calls.payloads()).containsExactly("gone");
  }
}
