package dev.brook.tests.testclient;

import static dev.brook.redis.Redis.channel;
import static dev.brook.redis.Redis.list;
import static dev.brook.redis.Redis.stream;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.brook.Subscription;
import dev.brook.redis.RedisBroker;
import dev.brook.testing.TestRedisBroker;
import dev.brook.tests.TestResources;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Several test brokers on one in-memory Redis ({@link TestRedisBroker#with}). */
class TestBrokerSharingTest {

  private final TestResources resources = new TestResources();

  private RedisBroker broker() {
    return resources.broker("redis://127.0.0.1:1", b -> {});
  }

  @AfterEach
  void closeAll() throws Exception {
    resources.close();
  }

  /** FastStream's tests/brokers/base/publish.py (publishing from one broker to another's subscriber). */
  @Test
  void brokerAPublishesAndBrokerBsSubscribersReceive() throws Exception {
    RedisBroker a = broker();
    RedisBroker b = broker();
    Subscription onB = b.subscriber(channel("c")).publishTo(list("answers")).handle(String.class, (m, ctx) -> "b saw " + m);
    Subscription streamOnB = b.subscriber(stream("s").group("g")).handle(String.class, (m, ctx) -> null);
    Subscription answersOnA = a.subscriber(list("answers")).handle(String.class, (m, ctx) -> null);
    Subscription echoOnB = b.subscriber(channel("echo")).handle(String.class, (m, ctx) -> m + "!");
    TestRedisBroker testA = resources.closeLater(TestRedisBroker.of(a));
    TestRedisBroker testB = resources.closeLater(testA.with(b));

    a.publish("hi", channel("c"));       // synchronous: returns when B's handler and A's (its result) are done
    a.publish("entry", stream("s"));

    assertThat(testB.calls(onB)).extracting(c -> c.payload(String.class)).containsExactly("hi");
    assertThat(testA.calls(answersOnA)).extracting(c -> c.payload(String.class)).containsExactly("b saw hi");
    assertThat(testB.calls(streamOnB)).hasSize(1);
    assertThat(testA.pending("s", "g")).isEmpty();
    assertThat(testA.published(list("answers"))).hasSize(1);
    assertThat(a.request("x", channel("echo"), String.class, java.time.Duration.ofSeconds(10))).isEqualTo("x!");
    assertThat(testB.calls(echoOnB)).hasSize(1);
  }

  @Test
  void closingOneLeavesTheOtherWorking() {
    RedisBroker a = broker();
    RedisBroker b = broker();
    RedisBroker c = broker();
    Subscription onB = b.subscriber(list("jobs")).handle(String.class, (m, ctx) -> null);
    TestRedisBroker testA = resources.closeLater(TestRedisBroker.of(a));
    TestRedisBroker testB = resources.closeLater(testA.with(b));
    TestRedisBroker testC = resources.closeLater(testB.with(c)); // sharing is transitive: one Redis

    a.publish("1", list("jobs"));
    testA.close();
    c.publish("2", list("jobs"));
    assertThat(testB.calls(onB)).extracting(x -> x.payload(String.class)).containsExactly("1", "2");
    assertThat(testC.published(list("jobs"))).hasSize(2);
  }

  @Test
  void sharingWithItsOwnBrokerIsAMistake() {
    RedisBroker a = broker();
    TestRedisBroker testA = resources.closeLater(TestRedisBroker.of(a));
    assertThatThrownBy(() -> testA.with(a)).isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void aTestBrokerOnItsOwnRedisDoesNotSeeAnother() {
    RedisBroker a = broker();
    RedisBroker b = broker();
    Subscription onB = b.subscriber(channel("c")).handle(String.class, (m, ctx) -> null);
    resources.closeLater(TestRedisBroker.of(a));
    TestRedisBroker testB = resources.closeLater(TestRedisBroker.of(b));
    a.publish("lost", channel("c"));
    assertThat(testB.calls(onB)).isEmpty();
  }
}
