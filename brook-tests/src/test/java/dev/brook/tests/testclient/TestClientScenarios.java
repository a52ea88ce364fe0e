package dev.brook.tests.testclient;

import static dev.brook.redis.Redis.channel;
import static dev.brook.redis.Redis.list;
import static dev.brook.redis.Redis.stream;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.brook.Router;
import dev.brook.Subscription;
import dev.brook.redis.RedisBroker;
import dev.brook.testing.TestRedisBroker;
import dev.brook.tests.TestResources;
import java.time.Duration;
import java.util.function.Consumer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * One test body, two runs: {@link TestRedisBroker#of} (in memory) and {@link
 * TestRedisBroker#withReal} (a private redis-server) — FastStream's {@code with_real} flag. Only
 * the test API is used ({@code calls}, {@code waitForCall}, {@code published}, {@code drain}), so
 * the bodies hold on both; the test broker is asynchronous in both runs, as Redis is.
 */
abstract class TestClientScenarios {

  static final Duration WAIT = Duration.ofSeconds(10);
  private final TestResources resources = new TestResources();

  /** The broker's URL (never connected in memory). */
  abstract String url();

  /** The test broker for this run: in memory or with the real Redis. */
  abstract TestRedisBroker open(RedisBroker broker);

  RedisBroker broker() {
    return broker(b -> {});
  }

  RedisBroker broker(Consumer<RedisBroker.Builder> options) {
    return resources.broker(url(), options);
  }

  io.lettuce.core.api.StatefulRedisConnection<byte[], byte[]> raw() {
    return resources.raw(url());
  }

  TestRedisBroker test(RedisBroker broker) {
    TestRedisBroker test = open(broker);
    resources.closeLater(test);
    return test;
  }

  @AfterEach
  void closeAll() throws Exception {
    resources.close();
  }

  /** FastStream's tests/brokers/base/testclient.py test_subscriber_mock / test_publisher_mock. */
  @Test
  void callsAndPublishedRecordWhatTheBrokerHandledAndSent() {
    RedisBroker broker = broker();
    Subscription orders = broker.subscriber(channel("orders")).publishTo(channel("receipts"))
        .handle(String.class, (order, ctx) -> "receipt " + order);
    Subscription receipts = broker.subscriber(channel("receipts")).handle(String.class, (r, ctx) -> null);
    TestRedisBroker test = test(broker).asynchronous();

    broker.publish("42", channel("orders"));

    assertThat(test.waitForCall(orders, WAIT).payload(String.class)).isEqualTo("42");
    assertThat(test.waitForCall(receipts, WAIT).payload(String.class)).isEqualTo("receipt 42");
    assertThat(test.calls(orders)).hasSize(1);
    assertThat(test.published(channel("orders"))).extracting(m -> m.as(String.class)).containsExactly("42");
    assertThat(test.published(channel("receipts"))).extracting(m -> m.as(String.class)).containsExactly("receipt 42");
  }

  /** Brook: calls and waitForCall take the handle a router's subscriber returns. */
  @Test
  void aRoutersHandleWorksWithCallsAndWaitForCall() {
    RedisBroker broker = broker();
    Router router = Router.withPrefix("r.");
    Subscription declared = router.subscriber(list("jobs")).handle(String.class, (job, ctx) -> null);
    broker.include(router);
    TestRedisBroker test = test(broker).asynchronous();
    Subscription late = router.subscriber(stream("events")).handle(String.class, (e, ctx) -> null); // dynamic

    broker.publish("job", list("r.jobs"));
    broker.publish("event", stream("r.events"));

    assertThat(test.waitForCall(declared, WAIT).payload(String.class)).isEqualTo("job");
    assertThat(test.waitForCall(late, WAIT).payload(String.class)).isEqualTo("event");
    assertThat(test.calls(declared)).hasSize(1);
  }

  /** FastStream's tests/brokers/base/testclient.py (exceptions reach the test): drain rethrows a handler's failure. */
  @Test
  void drainWaitsForTheHandlersAndRethrowsTheFirstFailure() {
    RedisBroker broker = broker();
    Subscription failing = broker.subscriber(list("bad")).handle(String.class, (m, ctx) -> {
      throw new IllegalStateException("boom " + m);
    });
    TestRedisBroker test = test(broker).asynchronous();
    broker.publish("1", list("bad"));
    test.waitForCall(failing, WAIT);
    assertThatThrownBy(test::drain).isInstanceOf(IllegalStateException.class).hasMessage("boom 1");
    test.drain(); // failures are reported once
  }

  /** FastStream's tests/brokers/base/requests.py test_base_request: a request answered through the test broker. */
  @Test
  void requestsAreAnswered() throws Exception {
    RedisBroker broker = broker();
    Subscription echo = broker.subscriber(channel("echo")).handle(String.class, (m, ctx) -> m + "!");
    TestRedisBroker test = test(broker).asynchronous();
    assertThat(broker.request("hi", channel("echo"), String.class, WAIT))
        .isEqualTo("hi!");
    assertThat(test.calls(echo)).hasSize(1);
  }

  /** FastStream's tests/brokers/redis/test_test_client.py test_with_real_testclient (and its in-memory twin). */
  @Test
  void test_with_real_testclient() {
    RedisBroker broker = broker();
    Subscription subscriber = broker.subscriber(channel("q")).handle(String.class, (m, ctx) -> null);
    TestRedisBroker test = test(broker).asynchronous();
    broker.publish("hello", channel("q"));
    assertThat(test.waitForCall(subscriber, WAIT).payload(String.class)).isEqualTo("hello");
  }

  /** FastStream's tests/brokers/redis/test_test_client.py test_real_respect_middleware. */
  @Test
  void test_real_respect_middleware() {
    java.util.List<Object> routes = new java.util.concurrent.CopyOnWriteArrayList<>();
    RedisBroker broker = broker(b -> b.middleware(new dev.brook.Middleware() {
      @Override
      public Object consume(ConsumeChain chain) throws Exception {
        routes.add(chain.payload());
        return chain.proceed();
      }
    }));
    Subscription h1 = broker.subscriber(channel("q")).handle(String.class, (m, ctx) -> null);
    Subscription h2 = broker.subscriber(channel("q1")).handle(String.class, (m, ctx) -> null);
    TestRedisBroker test = test(broker).asynchronous();
    broker.publish("", channel("q"));
    broker.publish("", channel("q1"));
    test.waitForCall(h1, WAIT);
    test.waitForCall(h2, WAIT);
    assertThat(routes).hasSize(2);
  }

  /** FastStream's tests/brokers/base/testclient.py test_broker_with_real_patches_publishers_and_subscribers. */
  @Test
  void test_broker_with_real_patches_publishers_and_subscribers() {
    RedisBroker broker = broker();
    dev.brook.Publisher publisher = broker.publisher(channel("q1"));
    Subscription m = broker.subscriber(channel("q")).handle(String.class, (msg, ctx) -> {
      publisher.publish("response: " + msg);
      return null;
    });
    TestRedisBroker test = test(broker).asynchronous();
    broker.publish("hello", channel("q"));
    assertThat(test.waitForCall(m, WAIT).payload(String.class)).isEqualTo("hello");
    assertThat(test.published(channel("q1"))).extracting(p -> p.as(String.class)).containsExactly("response: hello");
  }
}
