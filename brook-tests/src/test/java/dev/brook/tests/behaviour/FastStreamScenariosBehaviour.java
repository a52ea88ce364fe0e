package dev.brook.tests.behaviour;

import static dev.brook.redis.Redis.channel;
import static dev.brook.redis.Redis.list;
import static dev.brook.redis.Redis.pattern;
import static dev.brook.redis.Redis.stream;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.core.type.TypeReference;
import dev.brook.AckPolicy;
import dev.brook.Destination;
import dev.brook.MessageContext;
import dev.brook.Middleware;
import dev.brook.Publisher;
import dev.brook.RequestTimeoutException;
import dev.brook.Router;
import dev.brook.Subscription;
import dev.brook.redis.RedisBroker;
import dev.brook.tests.Calls;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * FastStream's own broker tests ({@code tests/brokers/base/*.py} and {@code tests/brokers/redis/*.py}
 * of ag2ai/faststream), translated to Brook's API, for the features Brook has; each method is named
 * after the FastStream test it mirrors and cites it. FastStream's {@code queue} fixture is a
 * channel unless the test names a list or a stream; its {@code event.wait()} is {@link
 * Calls#awaitOne()}; its {@code patch_broker} is the backend (a private redis-server, or {@code
 * TestRedisBroker}).
 */
abstract class FastStreamScenariosBehaviour extends Behaviour {

  record SimpleModel(String r) {}

  FastStreamScenariosBehaviour(Backend backend) {
    super(backend);
  }

  /** A handler that records its calls and returns nothing. */
  private static <T> Calls<T> calls() {
    return new Calls<>();
  }

  // ---- tests/brokers/base/consume.py --------------------------------------------------------------

  /** tests/brokers/base/consume.py BrokerConsumeTestcase.test_consume. */
  @Test
  void test_consume() {
    RedisBroker broker = backend.broker();
    Calls<String> handler = calls();
    broker.subscriber(channel("q")).handle(String.class, handler);
    backend.start(broker);
    broker.publish("hello", channel("q"));
    assertThat(handler.awaitOne().payload()).isEqualTo("hello");
  }

  /** tests/brokers/base/consume.py BrokerConsumeTestcase.test_consume_from_multi: one handler, two subscriptions. */
  @Test
  void test_consume_from_multi() {
    RedisBroker broker = backend.broker();
    Calls<String> handler = calls();
    broker.subscriber(channel("q")).handle(String.class, handler);
    broker.subscriber(channel("q1")).handle(String.class, handler);
    backend.start(broker);
    broker.publish("hello", channel("q"));
    broker.publish("hello", channel("q1"));
    handler.await(2);
    assertThat(handler.all()).extracting(c -> c.context().channel()).containsExactlyInAnyOrder("q", "q1");
  }

  /** tests/brokers/base/consume.py BrokerConsumeTestcase.test_consume_double. */
  @Test
  void test_consume_double() {
    RedisBroker broker = backend.broker();
    Calls<String> handler = calls();
    broker.subscriber(channel("q")).handle(String.class, handler);
    backend.start(broker);
    broker.publish("hello", channel("q"));
    broker.publish("hello", channel("q"));
    assertThat(handler.await(2)).hasSize(2);
  }

  /** tests/brokers/base/consume.py BrokerConsumeTestcase.test_different_consume. */
  @Test
  void test_different_consume() {
    RedisBroker broker = backend.broker();
    Calls<String> handler = calls();
    Calls<String> handler2 = calls();
    broker.subscriber(channel("q")).handle(String.class, handler);
    broker.subscriber(channel("q1")).handle(String.class, handler2);
    backend.start(broker);
    broker.publish("hello", channel("q"));
    broker.publish("hello", channel("q1"));
    handler.awaitOne();
    handler2.awaitOne();
    assertThat(handler.count()).isEqualTo(1);
    assertThat(handler2.count()).isEqualTo(1);
  }

  /** tests/brokers/base/consume.py BrokerConsumeTestcase.test_dynamic_sub: a subscriber added to a running broker. */
  @Test
  void test_dynamic_sub() {
    RedisBroker broker = backend.broker();
    backend.start(broker);
    Calls<String> subscriber = calls();
    Subscription sub = broker.subscriber(channel("q")).handle(String.class, subscriber);
    sub.start(); // as FastStream's sub.start(): already running, so nothing changes
    broker.publish("hello", channel("q"));
    assertThat(subscriber.awaitOne().payload()).isEqualTo("hello");
    sub.stop();
    assertThat(sub.state()).isEqualTo(Subscription.State.STOPPED);
  }

  /** tests/brokers/base/consume.py MultibrokerTestcase.test_multi_consume: two brokers, each with its subscriber. */
  @Test
  void test_multi_consume() {
    RedisBroker broker1 = backend.broker();
    RedisBroker broker2 = backend.broker();
    Calls<String> subscriber = calls();
    broker1.subscriber(channel("q")).handle(String.class, subscriber);
    broker2.subscriber(channel("q1")).handle(String.class, subscriber);
    backend.start(broker1);
    backend.start(broker2);
    broker1.publish("hello", channel("q"));
    broker2.publish("hello", channel("q1"));
    assertThat(subscriber.await(2)).hasSize(2);
  }

  /** tests/brokers/base/consume.py MultibrokerTestcase.test_another_broker_publisher: broker2's publisher sends to broker2's subscriber. */
  @Test
  void test_another_broker_publisher() {
    RedisBroker broker1 = backend.broker();
    RedisBroker broker2 = backend.broker();
    Publisher out = broker2.publisher(channel("q1"));
    broker1.subscriber(channel("q")).handle(String.class, (m, ctx) -> {
      out.publish(m);
      return null;
    });
    Calls<String> subscriber2 = calls();
    broker2.subscriber(channel("q1")).handle(String.class, subscriber2);
    backend.start(broker1);
    backend.start(broker2);
    broker1.publish("hello", channel("q"));
    assertThat(subscriber2.awaitOne().payload()).isEqualTo("hello");
  }

  /** tests/brokers/base/consume.py MultibrokerTestcase.test_crossbroker_publisher: broker2's publisher sends to broker1's subscriber. */
  @Test
  void test_crossbroker_publisher() {
    RedisBroker broker1 = backend.broker();
    RedisBroker broker2 = backend.broker();
    Publisher out = broker2.publisher(channel("q1"));
    broker1.subscriber(channel("q")).handle(String.class, (m, ctx) -> {
      out.publish(m);
      return null;
    });
    Calls<String> subscriber2 = calls();
    broker1.subscriber(channel("q1")).handle(String.class, subscriber2);
    backend.start(broker1);
    backend.start(broker2);
    broker1.publish("hello", channel("q"));
    assertThat(subscriber2.awaitOne().payload()).isEqualTo("hello");
    assertThat(subscriber2.count()).isEqualTo(1);
  }

  // ---- tests/brokers/base/publish.py --------------------------------------------------------------

  /**
   * tests/brokers/base/publish.py BrokerPublishTestcase.test_serialize: what is published arrives as
   * the handler's type (str, bytes, int, float, int→float, bool, dict, list, model, model→dict,
   * dict→model).
   */
  @Test
  void test_serialize() {
    RedisBroker broker = backend.broker();
    record Case(String id, Object message, java.lang.reflect.Type type, Object expected) {}
    List<Case> cases = List.of(
        new Case("str-str", "hello", String.class, "hello"),
        new Case("bytes-bytes", "hello".getBytes(), byte[].class, "hello".getBytes()),
        new Case("int-int", 1, Integer.class, 1),
        new Case("float-float", 1.0, Double.class, 1.0),
        new Case("int-float", 1, Double.class, 1.0),
        new Case("bool-bool", false, Boolean.class, false),
        new Case("dict-dict", Map.of("m", 1), new TypeReference<Map<String, Integer>>() {}.getType(), Map.of("m", 1)),
        new Case("list-list", List.of(1, 2, 3), new TypeReference<List<Integer>>() {}.getType(), List.of(1, 2, 3)),
        new Case("model-model", new SimpleModel("hello!"), SimpleModel.class, new SimpleModel("hello!")),
        new Case("model-dict", new SimpleModel("hello!"), Map.class, Map.of("r", "hello!")),
        new Case("dict-model", Map.of("r", "hello!"), SimpleModel.class, new SimpleModel("hello!")),
        new Case("bytes-model", "{\"r\":\"hello!\"}".getBytes(), SimpleModel.class, new SimpleModel("hello!")));
    List<Calls<Object>> handlers = new ArrayList<>();
    for (Case c : cases) {
      Calls<Object> h = calls();
      handlers.add(h);
      broker.subscriber(channel("ser." + c.id)).handle(c.type, h);
    }
    backend.start(broker);
    for (int i = 0; i < cases.size(); i++) {
      Case c = cases.get(i);
      broker.publish(c.message, channel("ser." + c.id));
      assertThat(handlers.get(i).awaitOne().payload()).as(c.id).isEqualTo(c.expected);
    }
  }

  /** tests/brokers/base/publish.py BrokerPublishTestcase.test_base_publisher: an empty string result is published. */
  @Test
  void test_base_publisher() {
    RedisBroker broker = backend.broker();
    broker.subscriber(channel("q")).publishTo(channel("qresp")).handle(String.class, (m, ctx) -> "");
    Calls<String> resp = calls();
    broker.subscriber(channel("qresp")).handle(String.class, resp);
    backend.start(broker);
    broker.publish("", channel("q"));
    assertThat(resp.awaitOne().payload()).isEqualTo("");
  }

  /** tests/brokers/base/publish.py BrokerPublishTestcase.test_publish_manual: a handler publishes through a publisher. */
  @Test
  void test_publish_manual() {
    RedisBroker broker = backend.broker();
    Publisher publisher = broker.publisher(channel("qresp"));
    broker.subscriber(channel("q")).handle(String.class, (m, ctx) -> {
      publisher.publish("");
      return null;
    });
    Calls<String> resp = calls();
    broker.subscriber(channel("qresp")).handle(String.class, resp);
    backend.start(broker);
    broker.publish("", channel("q"));
    assertThat(resp.awaitOne().payload()).isEqualTo("");
  }

  /** tests/brokers/base/publish.py BrokerPublishTestcase.test_multiple_publishers: one result to two destinations. */
  @Test
  void test_multiple_publishers() {
    RedisBroker broker = backend.broker();
    broker.subscriber(channel("q")).publishTo(channel("qresp"), channel("qresp2")).handle(String.class, (m, ctx) -> "");
    Calls<String> resp1 = calls();
    Calls<String> resp2 = calls();
    broker.subscriber(channel("qresp")).handle(String.class, resp1);
    broker.subscriber(channel("qresp2")).handle(String.class, resp2);
    backend.start(broker);
    broker.publish("", channel("q"));
    assertThat(resp1.awaitOne().payload()).isEqualTo("");
    assertThat(resp2.awaitOne().payload()).isEqualTo("");
  }

  /** tests/brokers/base/publish.py BrokerPublishTestcase.test_reusable_publishers: two subscribers, one output. */
  @Test
  void test_reusable_publishers() {
    RedisBroker broker = backend.broker();
    broker.subscriber(channel("q")).publishTo(channel("qresp")).handle(String.class, (m, ctx) -> "");
    broker.subscriber(channel("q2")).publishTo(channel("qresp")).handle(String.class, (m, ctx) -> "");
    Calls<String> resp = calls();
    broker.subscriber(channel("qresp")).handle(String.class, resp);
    backend.start(broker);
    broker.publish("", channel("q"));
    broker.publish("", channel("q2"));
    assertThat(resp.await(2)).hasSize(2);
  }

  /** tests/brokers/base/publish.py BrokerPublishTestcase.test_reply_to: the result goes to the message's reply_to. */
  @Test
  void test_reply_to() {
    RedisBroker broker = backend.broker();
    Calls<String> replyHandler = calls();
    broker.subscriber(channel("qreply")).handle(String.class, replyHandler);
    broker.subscriber(channel("q")).handle(String.class, (m, ctx) -> m);
    backend.start(broker);
    broker.publish("Hello!", channel("q"), Map.of("reply_to", "qreply"));
    assertThat(replyHandler.awaitOne().payload()).isEqualTo("Hello!");
  }

  /** tests/brokers/base/publish.py BrokerPublishTestcase.test_publisher_after_start. */
  @Test
  void test_publisher_after_start() {
    RedisBroker broker = backend.broker();
    Calls<String> handler = calls();
    broker.subscriber(channel("q")).handle(String.class, handler);
    backend.start(broker);
    Publisher pub = broker.publisher(channel("q"));
    pub.publish("Hello!");
    assertThat(handler.awaitOne().payload()).isEqualTo("Hello!");
  }

  // ---- tests/brokers/base/requests.py -------------------------------------------------------------

  /** tests/brokers/base/requests.py RequestsTestcase.test_request_timeout. */
  @Test
  void test_request_timeout() {
    RedisBroker broker = backend.broker();
    broker.subscriber(channel("q")).handle(String.class, (m, ctx) -> {
      Thread.sleep(300);
      return "Response";
    });
    backend.start(broker);
    assertThatThrownBy(() -> broker.request("x", channel("q"), String.class, Duration.ofMillis(50)))
        .isInstanceOf(RequestTimeoutException.class);
  }

  /** tests/brokers/base/requests.py RequestsTestcase.test_broker_base_request (without the explicit correlation_id). */
  @Test
  void test_broker_base_request() {
    RedisBroker broker = backend.broker();
    broker.subscriber(channel("q")).handle(String.class, (m, ctx) -> "Response");
    backend.start(broker);
    assertThat(broker.request("", channel("q"), String.class, Duration.ofSeconds(10))).isEqualTo("Response");
  }

  /** tests/brokers/base/requests.py RequestsTestcase.test_publisher_base_request. */
  @Test
  void test_publisher_base_request() {
    RedisBroker broker = backend.broker();
    Publisher publisher = broker.publisher(channel("q"));
    broker.subscriber(channel("q")).handle(String.class, (m, ctx) -> "Response");
    backend.start(broker);
    assertThat(publisher.request("", String.class, Duration.ofSeconds(10))).isEqualTo("Response");
  }

  /** tests/brokers/base/requests.py RequestsTestcase.test_router_publisher_request. */
  @Test
  void test_router_publisher_request() {
    Router router = Router.withPrefix("");
    Publisher publisher = router.publisher(channel("q"));
    router.subscriber(channel("q")).handle(String.class, (m, ctx) -> "Response");
    RedisBroker broker = backend.broker();
    broker.include(router);
    backend.start(broker);
    assertThat(publisher.request("", String.class, Duration.ofSeconds(10))).isEqualTo("Response");
  }

  // ---- tests/brokers/base/router.py ---------------------------------------------------------------

  /** tests/brokers/base/router.py RouterTestcase.test_router_dynamic_objects: a subscriber on a nested router after start. */
  @Test
  void test_router_dynamic_objects() {
    Router nested = Router.withPrefix("");
    Router router = Router.withPrefix("").include(nested);
    RedisBroker broker = backend.broker();
    broker.include(router);
    backend.start(broker);
    Calls<String> subscriber = calls();
    Subscription sub = nested.subscriber(channel("q")).handle(String.class, subscriber);
    sub.start();
    broker.publish("Hi!", channel("q"));
    assertThat(subscriber.awaitOne().payload()).isEqualTo("Hi!");
  }

  /** tests/brokers/base/router.py RouterTestcase.test_empty_prefix. */
  @Test
  void test_empty_prefix() {
    RedisBroker broker = backend.broker();
    Router router = Router.withPrefix("");
    Calls<String> subscriber = calls();
    router.subscriber(channel("q")).handle(String.class, subscriber);
    broker.include(router);
    backend.start(broker);
    broker.publish("hello", channel("q"));
    assertThat(subscriber.awaitOne().payload()).isEqualTo("hello");
  }

  /** tests/brokers/base/router.py RouterTestcase.test_not_empty_prefix. */
  @Test
  void test_not_empty_prefix() {
    RedisBroker broker = backend.broker();
    Router router = Router.withPrefix("test_");
    Calls<String> subscriber = calls();
    router.subscriber(channel("q")).handle(String.class, subscriber);
    broker.include(router);
    backend.start(broker);
    broker.publish("hello", channel("test_q"));
    assertThat(subscriber.awaitOne().payload()).isEqualTo("hello");
  }

  /** tests/brokers/base/router.py RouterTestcase.test_include_with_prefix: Brook nests the router in a prefixed one. */
  @Test
  void test_include_with_prefix() {
    RedisBroker broker = backend.broker();
    Router router = Router.withPrefix("");
    Calls<String> subscriber = calls();
    router.subscriber(channel("q")).handle(String.class, subscriber);
    broker.include(Router.withPrefix("test_").include(router));
    backend.start(broker);
    broker.publish("hello", channel("test_q"));
    assertThat(subscriber.awaitOne().payload()).isEqualTo("hello");
  }

  /** tests/brokers/base/router.py RouterTestcase.test_empty_prefix_publisher. */
  @Test
  void test_empty_prefix_publisher() {
    assertPrefixedPublisher("");
  }

  /** tests/brokers/base/router.py RouterTestcase.test_not_empty_prefix_publisher. */
  @Test
  void test_not_empty_prefix_publisher() {
    assertPrefixedPublisher("test_");
  }

  private void assertPrefixedPublisher(String prefix) {
    RedisBroker broker = backend.broker();
    Router router = Router.withPrefix(prefix);
    router.subscriber(channel("q")).publishTo(channel("qresp")).handle(String.class, (m, ctx) -> "hi");
    Calls<String> response = calls();
    router.subscriber(channel("qresp")).handle(String.class, response);
    broker.include(router);
    backend.start(broker);
    broker.publish("hello", channel(prefix + "q"));
    assertThat(response.awaitOne().payload()).isEqualTo("hi");
  }

  /** tests/brokers/base/router.py RouterTestcase.test_include_publisher_with_prefix. */
  @Test
  void test_include_publisher_with_prefix() {
    RedisBroker broker = backend.broker();
    Calls<String> handler = calls();
    broker.subscriber(channel("test_q")).handle(String.class, handler);
    Router router = Router.withPrefix("");
    Publisher publisher = router.publisher(channel("q"));
    broker.include(Router.withPrefix("test_").include(router));
    backend.start(broker);
    publisher.publish("hello");
    assertThat(handler.awaitOne().payload()).isEqualTo("hello");
  }

  /** tests/brokers/base/router.py RouterTestcase.test_manual_publisher. */
  @Test
  void test_manual_publisher() {
    RedisBroker broker = backend.broker();
    Router router = Router.withPrefix("test_");
    Publisher p = router.publisher(channel("qresp"));
    router.subscriber(channel("q")).handle(String.class, (m, ctx) -> {
      p.publish("resp");
      return null;
    });
    Calls<String> response = calls();
    router.subscriber(channel("qresp")).handle(String.class, response);
    broker.include(router);
    backend.start(broker);
    broker.publish("hello", channel("test_q"));
    assertThat(response.awaitOne().payload()).isEqualTo("resp");
  }

  /** tests/brokers/base/router.py RouterTestcase.test_delayed_handlers: declared on the router before any broker. */
  @Test
  void test_delayed_handlers() {
    Calls<String> response = calls();
    Router router = Router.withPrefix("test_");
    router.subscriber(channel("q")).handle(String.class, response);
    RedisBroker broker = backend.broker();
    broker.include(router);
    backend.start(broker);
    broker.publish("hello", channel("test_q"));
    assertThat(response.awaitOne().payload()).isEqualTo("hello");
  }

  /** tests/brokers/base/router.py RouterTestcase.test_delayed_publishers. */
  @Test
  void test_delayed_publishers() {
    Router router = Router.withPrefix("test_");
    router.subscriber(channel("q")).publishTo(channel("q1")).handle(String.class, (m, ctx) -> m);
    RedisBroker broker = backend.broker();
    broker.include(router);
    Calls<String> handler = calls();
    broker.subscriber(channel("test_q1")).handle(String.class, handler);
    backend.start(broker);
    broker.publish("hello", channel("test_q"));
    assertThat(handler.awaitOne().payload()).isEqualTo("hello");
    assertThat(handler.count()).isEqualTo(1);
  }

  /** tests/brokers/base/router.py RouterTestcase.test_nested_routers_sub. */
  @Test
  void test_nested_routers_sub() {
    RedisBroker broker = backend.broker();
    Router core = Router.withPrefix("test1_");
    Router router = Router.withPrefix("test2_");
    Calls<String> subscriber = new Calls<>("hi");
    router.subscriber(channel("q")).handle(String.class, subscriber);
    core.include(router);
    broker.include(core);
    backend.start(broker);
    broker.publish("hello", channel("test1_test2_q"));
    assertThat(subscriber.awaitOne().payload()).isEqualTo("hello");
  }

  /** tests/brokers/base/router.py RouterTestcase.test_nested_routers_pub. */
  @Test
  void test_nested_routers_pub() {
    RedisBroker broker = backend.broker();
    Router core = Router.withPrefix("test1_");
    Router router = Router.withPrefix("test2_");
    router.subscriber(channel("q")).publishTo(channel("qresp")).handle(String.class, (m, ctx) -> "hi");
    Calls<String> response = calls();
    broker.subscriber(channel("test1_test2_qresp")).handle(String.class, response);
    core.include(router);
    broker.include(core);
    backend.start(broker);
    broker.publish("hello", channel("test1_test2_q"));
    assertThat(response.awaitOne().payload()).isEqualTo("hi");
  }

  /**
   * tests/brokers/base/router.py RouterTestcase.test_func_wrapped_correctly_on_include_in_different_broker:
   * one router, included in one broker and then, once that one is gone, in another.
   */
  @Test
  void test_func_wrapped_correctly_on_include_in_different_broker() {
    Router router = Router.withPrefix("");
    Calls<Map<String, Object>> handleMsg = new Calls<>("test");
    router.subscriber(list("in-queue")).handle(new TypeReference<Map<String, Object>>() {}.getType(), handleMsg);

    RedisBroker broker1 = backend.broker();
    broker1.include(router);
    backend.start(broker1);
    broker1.publish(Map.of(), list("in-queue"));
    handleMsg.awaitOne();
    broker1.close();

    RedisBroker broker2 = backend.broker();
    broker2.include(router);
    backend.start(broker2);
    broker2.publish(Map.of(), list("in-queue"));
    assertThat(handleMsg.await(2)).hasSize(2);
  }

  // ---- tests/brokers/redis/test_consume.py --------------------------------------------------------

  /** tests/brokers/redis/test_consume.py TestConsume.test_pattern_with_path. */
  @Test
  void test_pattern_with_path() {
    RedisBroker broker = backend.broker();
    Calls<String> handler = calls();
    broker.subscriber(pattern("test.{name}")).handle(String.class, handler);
    backend.start(broker);
    broker.publish("hello", channel("test.name"));
    Calls.Call<String> call = handler.awaitOne();
    assertThat(call.payload()).isEqualTo("hello");
    assertThat(call.context().path("name")).isEqualTo("name");
  }

  /** tests/brokers/redis/test_consume.py TestConsume.test_pattern_without_path. */
  @Test
  void test_pattern_without_path() {
    RedisBroker broker = backend.broker();
    Calls<String> handler = calls();
    broker.subscriber(pattern("test.*")).handle(String.class, handler);
    backend.start(broker);
    broker.publish("hello", channel("test.name"));
    assertThat(handler.awaitOne().payload()).isEqualTo("hello");
  }

  /** tests/brokers/redis/test_consume.py TestConsume.test_concurrent_consume_channel. */
  @Test
  void test_concurrent_consume_channel() throws Exception {
    assertTwoRunAtOnce(channel("q"));
  }

  /** tests/brokers/redis/test_consume.py TestConsumeList.test_concurrent_consume_list. */
  @Test
  void test_concurrent_consume_list() throws Exception {
    assertTwoRunAtOnce(list("q"));
  }

  /** tests/brokers/redis/test_consume.py TestConsumeStream.test_concurrent_consume_stream. */
  @Test
  void test_concurrent_consume_stream() throws Exception {
    assertTwoRunAtOnce(stream("q"));
  }

  /**
   * With concurrency 2, two of five messages are handled at once. The messages are published from
   * threads of their own: in memory a publish returns only when its handler is done.
   */
  private void assertTwoRunAtOnce(Destination destination) throws Exception {
    RedisBroker broker = backend.broker();
    AtomicInteger running = new AtomicInteger();
    AtomicInteger most = new AtomicInteger();
    CountDownLatch two = new CountDownLatch(2);
    broker.subscriber(destination).concurrency(2).handle(Integer.class, (m, ctx) -> {
      most.accumulateAndGet(running.incrementAndGet(), Math::max);
      two.countDown();
      two.await(5, TimeUnit.SECONDS);
      running.decrementAndGet();
      return null;
    });
    backend.start(broker);
    List<Thread> publishers = new ArrayList<>();
    for (int i = 0; i < 5; i++) {
      int n = i;
      publishers.add(Thread.ofPlatform().start(() -> broker.publish(n, destination)));
    }
    for (Thread t : publishers) {
      t.join();
    }
    assertThat(two.await(10, TimeUnit.SECONDS)).isTrue();
    assertThat(most.get()).isEqualTo(2);
  }

  /** tests/brokers/redis/test_consume.py TestConsumeList.test_consume_list. */
  @Test
  void test_consume_list() {
    RedisBroker broker = backend.broker();
    Calls<String> handler = calls();
    broker.subscriber(list("q")).handle(String.class, handler);
    backend.start(broker);
    broker.publish("hello", list("q"));
    assertThat(handler.awaitOne().payload()).isEqualTo("hello");
  }

  /** tests/brokers/redis/test_consume.py TestConsumeList.test_consume_list_batch_with_one. */
  @Test
  void test_consume_list_batch_with_one() {
    RedisBroker broker = backend.broker();
    Calls<List<String>> handler = calls();
    broker.subscriber(list("q")).batch(10).handle(String.class, handler);
    backend.start(broker);
    broker.publish("hi", list("q"));
    assertThat(handler.awaitOne().payload()).containsExactly("hi");
  }

  /** tests/brokers/redis/test_consume.py TestConsumeList.test_consume_list_batch. */
  @Test
  void test_consume_list_batch() {
    RedisBroker broker = backend.broker();
    Calls<List<Object>> handler = calls();
    broker.subscriber(list("q")).batch(10).handle(Object.class, handler);
    backend.start(broker);
    broker.publishBatch(List.of(1, "hi"), list("q")); // one RPUSH: one read takes both
    assertThat(handler.awaitOne().payload()).containsExactlyInAnyOrder(1, "hi");
  }

  /** tests/brokers/redis/test_consume.py TestConsumeList.test_consume_list_batch_complex. */
  @Test
  void test_consume_list_batch_complex() {
    RedisBroker broker = backend.broker();
    Calls<List<SimpleModel>> handler = calls();
    broker.subscriber(list("q")).batch(10).handle(SimpleModel.class, handler);
    backend.start(broker);
    broker.publishBatch(List.of(new SimpleModel("hi"), new SimpleModel("again")), list("q"));
    assertThat(handler.awaitOne().payload()).containsExactlyInAnyOrder(new SimpleModel("hi"), new SimpleModel("again"));
  }

  /** tests/brokers/redis/test_consume.py TestConsumeStream.test_consume_stream. */
  @Test
  void test_consume_stream() {
    RedisBroker broker = backend.broker();
    Calls<String> handler = calls();
    broker.subscriber(stream("q")).handle(String.class, handler);
    backend.start(broker);
    broker.publish("hello", stream("q"));
    assertThat(handler.awaitOne().payload()).isEqualTo("hello");
  }

  /** tests/brokers/redis/test_consume.py TestConsumeStream.test_consume_stream_batch. */
  @Test
  void test_consume_stream_batch() {
    RedisBroker broker = backend.broker();
    Calls<List<String>> handler = calls();
    broker.subscriber(stream("q")).batch(10).handle(String.class, handler);
    backend.start(broker);
    broker.publish("hello", stream("q"));
    assertThat(handler.awaitOne().payload()).containsExactly("hello");
  }

  /** tests/brokers/redis/test_consume.py TestConsumeStream.test_consume_stream_batch_complex. */
  @Test
  void test_consume_stream_batch_complex() {
    RedisBroker broker = backend.broker();
    Calls<List<SimpleModel>> handler = calls();
    broker.subscriber(stream("q")).batch(10).handle(SimpleModel.class, handler);
    backend.start(broker);
    broker.publish(new SimpleModel("hi"), stream("q"));
    assertThat(handler.awaitOne().payload()).containsExactly(new SimpleModel("hi"));
  }

  /** tests/brokers/redis/test_consume.py TestConsumeStream.test_consume_ack: a handled entry is acknowledged. */
  @Test
  void test_consume_ack() {
    RedisBroker broker = backend.broker();
    Calls<String> handler = calls();
    broker.subscriber(stream("q").group("group").consumer("q")).handle(String.class, handler);
    backend.start(broker);
    broker.publish("hello", stream("q"));
    handler.awaitOne();
    eventually().until(() -> backend.pending("q", "group").isEmpty());
  }

  /** tests/brokers/redis/test_consume.py TestConsumeStream.test_consume_nack: a nacked entry is not acknowledged. */
  @Test
  void test_consume_nack() {
    RedisBroker broker = backend.broker();
    Calls<String> seen = calls();
    broker.subscriber(stream("q").group("group").consumer("q")).ackPolicy(AckPolicy.MANUAL)
        .handle(String.class, (m, ctx) -> {
          seen.handle(m, ctx);
          if (seen.count() == 1) {
            ctx.nack();
          } else {
            ctx.ack(); // delivered again after the back-off: settle it so the test ends clean
          }
          return null;
        });
    backend.start(broker);
    broker.publish("hello", stream("q"));
    seen.awaitOne();
    assertThat(backend.pending("q", "group")).hasSize(1);
  }

  // ---- tests/brokers/base/testclient.py -----------------------------------------------------------

  /** tests/brokers/base/testclient.py BrokerTestclientTestcase.test_subscriber_mock: the handler saw the message. */
  @Test
  void test_subscriber_mock() {
    RedisBroker broker = backend.broker();
    Calls<String> m = calls();
    broker.subscriber(channel("q")).handle(String.class, m);
    backend.start(broker);
    broker.publish("hello", channel("q"));
    assertThat(m.awaitOne().payload()).isEqualTo("hello");
    assertThat(m.count()).isEqualTo(1);
  }

  /** tests/brokers/base/testclient.py BrokerTestclientTestcase.test_publisher_with_subscriber__mock. */
  @Test
  void test_publisher_with_subscriber__mock() {
    RedisBroker broker = backend.broker();
    broker.subscriber(channel("q")).publishTo(channel("qresp")).handle(String.class, (msg, ctx) -> "response");
    Calls<String> handlerResponse = calls();
    broker.subscriber(channel("qresp")).handle(String.class, handlerResponse);
    backend.start(broker);
    assertThat(broker.subscriptions()).hasSize(2);
    broker.publish("hello", channel("q"));
    assertThat(handlerResponse.awaitOne().payload()).isEqualTo("response");
  }

  // ---- tests/brokers/redis/test_router.py ---------------------------------------------------------

  /** FastStream's {@code h(name: str = Path(), id: int = Path("id"))}. */
  static final class PathHandlers {
    final Calls<String> calls = new Calls<>();

    @dev.brook.Subscribe(pattern = "in.{name}.{id}")
    void h(String body, @dev.brook.Path("name") String name, @dev.brook.Path("id") int id, MessageContext ctx) {
      calls.handle(name + "/" + id, ctx);
    }
  }

  /** tests/brokers/redis/test_router.py TestRouterLocal.test_router_path: path parts as typed parameters, through a request. */
  @Test
  void test_router_path() {
    assertRouterPath("");
  }

  /** tests/brokers/redis/test_router.py TestRouterLocal.test_router_path_with_prefix. */
  @Test
  void test_router_path_with_prefix() {
    assertRouterPath("test.");
  }

  private void assertRouterPath(String prefix) {
    RedisBroker broker = backend.broker();
    Router router = Router.withPrefix(prefix);
    PathHandlers handlers = new PathHandlers();
    router.include(handlers);
    broker.include(router);
    backend.start(broker);
    broker.request("", channel(prefix + "in.john.2"), String.class, Duration.ofSeconds(10));
    assertThat(handlers.calls.awaitOne().payload()).isEqualTo("john/2");
  }

  /** tests/brokers/redis/test_router.py TestRouterLocal.test_delayed_channel_handlers. */
  @Test
  void test_delayed_channel_handlers() {
    assertDelayedHandler(channel("q"), channel("test_q"));
  }

  /** tests/brokers/redis/test_router.py TestRouterLocal.test_delayed_list_handlers. */
  @Test
  void test_delayed_list_handlers() {
    assertDelayedHandler(list("q"), list("test_q"));
  }

  /** tests/brokers/redis/test_router.py TestRouterLocal.test_delayed_stream_handlers. */
  @Test
  void test_delayed_stream_handlers() {
    assertDelayedHandler(stream("q"), stream("test_q"));
  }

  private void assertDelayedHandler(Destination declared, Destination published) {
    Router router = Router.withPrefix("test_");
    Calls<String> response = calls();
    router.subscriber(declared).handle(String.class, response);
    RedisBroker broker = backend.broker();
    broker.include(router);
    backend.start(broker);
    broker.publish("hello", published);
    assertThat(response.awaitOne().payload()).isEqualTo("hello");
  }

  // ---- tests/brokers/base/middlewares.py ----------------------------------------------------------

  /** A middleware that writes its name to {@code log} in both scopes. */
  static Middleware tap(String name, List<String> log) {
    return new Middleware() {
      @Override
      public Object consume(ConsumeChain chain) throws Exception {
        log.add("sub " + name);
        return chain.proceed();
      }

      @Override
      public java.util.concurrent.CompletableFuture<Void> publish(PublishChain chain) {
        log.add("pub " + name);
        return chain.proceed(chain.command());
      }
    };
  }

  /** tests/brokers/base/middlewares.py MiddlewaresOrderTestcase.test_consume_middleware_order. */
  @Test
  void test_consume_middleware_order() {
    List<String> log = new java.util.concurrent.CopyOnWriteArrayList<>();
    RedisBroker broker = backend.broker(b -> b.middleware(tap("outer", log), tap("middle", log), tap("inner", log)));
    Calls<String> handler = calls();
    broker.subscriber(channel("q")).handle(String.class, handler);
    backend.start(broker);
    broker.publish("", channel("q"));
    handler.awaitOne();
    eventually().until(() -> log.stream().filter(e -> e.startsWith("sub")).count() == 3);
    assertThat(log.stream().filter(e -> e.startsWith("sub"))).containsExactly("sub outer", "sub middle", "sub inner");
  }

  /** tests/brokers/base/middlewares.py MiddlewaresOrderTestcase.test_consume_with_middleware_order: broker, router, nested router. */
  @Test
  void test_consume_with_middleware_order() {
    List<String> log = new java.util.concurrent.CopyOnWriteArrayList<>();
    RedisBroker broker = backend.broker(b -> b.middleware(tap("outer", log)));
    Router router = Router.withPrefix("").middleware(tap("middle", log));
    Router router2 = Router.withPrefix("").middleware(tap("inner", log));
    Calls<String> handler = calls();
    router2.subscriber(channel("q")).handle(String.class, handler);
    router.include(router2);
    broker.include(router);
    backend.start(broker);
    broker.publish("", channel("q"));
    handler.awaitOne();
    assertThat(log.stream().filter(e -> e.startsWith("sub"))).containsExactly("sub outer", "sub middle", "sub inner");
  }

  /** tests/brokers/base/middlewares.py MiddlewaresOrderTestcase.test_publisher_middleware_order. */
  @Test
  void test_publisher_middleware_order() {
    List<String> log = new java.util.concurrent.CopyOnWriteArrayList<>();
    RedisBroker broker = backend.broker(b -> b.middleware(tap("outer", log), tap("middle", log), tap("inner", log)));
    Publisher publisher = broker.publisher(channel("q"));
    Calls<String> handler = calls();
    broker.subscriber(channel("q")).handle(String.class, handler);
    backend.start(broker);
    publisher.publish("");
    handler.awaitOne();
    assertThat(log.stream().filter(e -> e.startsWith("pub"))).containsExactly("pub outer", "pub middle", "pub inner");
  }

  /** tests/brokers/base/middlewares.py MiddlewaresOrderTestcase.test_publisher_with_router_middleware_order. */
  @Test
  void test_publisher_with_router_middleware_order() {
    List<String> log = new java.util.concurrent.CopyOnWriteArrayList<>();
    RedisBroker broker = backend.broker(b -> b.middleware(tap("outer", log)));
    Router router = Router.withPrefix("").middleware(tap("middle", log));
    Router router2 = Router.withPrefix("").middleware(tap("inner", log));
    Publisher publisher = router2.publisher(channel("q"));
    Calls<String> handler = calls();
    router2.subscriber(channel("q")).handle(String.class, handler);
    router.include(router2);
    broker.include(router);
    backend.start(broker);
    publisher.publish("");
    handler.awaitOne();
    assertThat(log.stream().filter(e -> e.startsWith("pub"))).containsExactly("pub outer", "pub middle", "pub inner");
  }

  /** tests/brokers/base/middlewares.py LocalMiddlewareTestcase.test_subscriber_middleware: the middleware wraps the handler. */
  @Test
  void test_subscriber_middleware() {
    List<String> log = new java.util.concurrent.CopyOnWriteArrayList<>();
    CountDownLatch ended = new CountDownLatch(1);
    RedisBroker broker = backend.broker(b -> b.middleware(new Middleware() {
      @Override
      public Object consume(ConsumeChain chain) throws Exception {
        log.add("start " + chain.payload());
        Object result = chain.proceed();
        log.add("end " + result);
        ended.countDown();
        return result;
      }
    }));
    broker.subscriber(channel("q")).handle(String.class, (m, ctx) -> {
      log.add("inner " + m);
      return "end";
    });
    backend.start(broker);
    broker.publish("start", channel("q"));
    eventually().until(() -> ended.getCount() == 0);
    assertThat(log).containsExactly("start start", "inner start", "end end");
  }

  /** tests/brokers/base/middlewares.py LocalMiddlewareTestcase.test_error_traceback: the middleware sees the handler's exception. */
  @Test
  void test_error_traceback() {
    List<Boolean> seen = new java.util.concurrent.CopyOnWriteArrayList<>();
    RedisBroker broker = backend.broker(b -> b.middleware(new Middleware() {
      @Override
      public Object consume(ConsumeChain chain) throws Exception {
        try {
          return chain.proceed();
        } catch (Exception e) {
          seen.add(e instanceof IllegalArgumentException);
          throw e;
        }
      }
    }));
    broker.subscriber(channel("q")).handle(String.class, (m, ctx) -> {
      throw new IllegalArgumentException("ValueError");
    });
    backend.start(broker);
    backend.despiteFailures(() -> broker.publish("", channel("q")));
    eventually().until(() -> !seen.isEmpty());
    assertThat(seen).containsExactly(true);
  }

  /** tests/brokers/base/middlewares.py MiddlewareTestcase.test_add_global_middleware: added later, it wraps old and new subscribers. */
  @Test
  void test_add_global_middleware() {
    List<String> log = new java.util.concurrent.CopyOnWriteArrayList<>();
    RedisBroker broker = backend.broker();
    Calls<String> handler = new Calls<>("");
    broker.subscriber(channel("q")).handle(String.class, handler);
    broker.middleware(tap("mid", log));
    Calls<String> handler2 = new Calls<>("");
    broker.subscriber(channel("q1")).handle(String.class, handler2);
    backend.start(broker);
    broker.publish("", channel("q"));
    broker.publish("", channel("q1"));
    handler.awaitOne();
    handler2.awaitOne();
    assertThat(log.stream().filter(e -> e.startsWith("sub"))).hasSize(2);
  }

  // ---- tests/brokers/redis/test_test_client.py ----------------------------------------------------

  /** tests/brokers/redis/test_test_client.py TestTestclient.test_respect_middleware: a broker middleware sees each message. */
  @Test
  void test_respect_middleware() {
    List<String> routes = new java.util.concurrent.CopyOnWriteArrayList<>();
    RedisBroker broker = backend.broker(b -> b.middleware(tap("m", routes)));
    Calls<String> h1 = calls();
    Calls<String> h2 = calls();
    broker.subscriber(channel("q")).handle(String.class, h1);
    broker.subscriber(channel("q1")).handle(String.class, h2);
    backend.start(broker);
    broker.publish("", channel("q"));
    broker.publish("", channel("q1"));
    h1.awaitOne();
    h2.awaitOne();
    assertThat(routes.stream().filter(e -> e.startsWith("sub"))).hasSize(2);
  }

  /**
   * tests/brokers/redis/test_test_client.py TestTestclient.test_pub_sub_pattern: a request to a
   * pattern subscriber; as in Redis' glob, {@code {name}} matches across dots.
   */
  @Test
  void test_pub_sub_pattern() {
    RedisBroker broker = backend.broker();
    Calls<Integer> seen = calls();
    broker.subscriber(pattern("test.{name}")).handle(Integer.class, (msg, ctx) -> {
      seen.handle(msg, ctx);
      return msg;
    });
    backend.start(broker);
    assertThat(broker.request(1, channel("test.name.useless"), Integer.class, Duration.ofSeconds(10))).isEqualTo(1);
    Calls.Call<Integer> call = seen.awaitOne();
    assertThat(call.payload()).isEqualTo(1);
    assertThat(call.context().path("name")).isEqualTo("name.useless");
  }

  /** tests/brokers/redis/test_test_client.py TestTestclient.test_list: a request over a list. */
  @Test
  void test_list() {
    assertEchoRequest(list("q"));
  }

  /** tests/brokers/redis/test_test_client.py TestTestclient.test_stream: a request over a stream. */
  @Test
  void test_stream() {
    assertEchoRequest(stream("q"));
  }

  private void assertEchoRequest(Destination destination) {
    RedisBroker broker = backend.broker();
    Calls<Integer> seen = calls();
    broker.subscriber(destination).handle(Integer.class, (msg, ctx) -> {
      seen.handle(msg, ctx);
      return msg;
    });
    backend.start(broker);
    assertThat(broker.request(1, destination, Integer.class, Duration.ofSeconds(10))).isEqualTo(1);
    assertThat(seen.awaitOne().payload()).isEqualTo(1);
  }

  /** tests/brokers/redis/test_test_client.py TestTestclient.test_batch_pub_by_default_pub. */
  @Test
  void test_batch_pub_by_default_pub() {
    RedisBroker broker = backend.broker();
    Calls<List<String>> m = calls();
    broker.subscriber(list("q")).batch(10).handle(String.class, m);
    backend.start(broker);
    broker.publish("hello", list("q"));
    assertThat(m.awaitOne().payload()).containsExactly("hello");
  }

  /** tests/brokers/redis/test_test_client.py TestTestclient.test_batch_pub_by_pub_batch. */
  @Test
  void test_batch_pub_by_pub_batch() {
    RedisBroker broker = backend.broker();
    Calls<List<String>> m = calls();
    broker.subscriber(list("q")).batch(10).handle(String.class, m);
    backend.start(broker);
    broker.publishBatch(List.of("hello"), list("q"));
    assertThat(m.awaitOne().payload()).containsExactly("hello");
  }

  /** tests/brokers/redis/test_test_client.py TestTestclient.test_stream_batch_pub_by_default_pub. */
  @Test
  void test_stream_batch_pub_by_default_pub() {
    RedisBroker broker = backend.broker();
    Calls<List<String>> m = calls();
    broker.subscriber(stream("q")).batch(10).handle(String.class, m);
    backend.start(broker);
    broker.publish("hello", stream("q"));
    assertThat(m.awaitOne().payload()).containsExactly("hello");
  }

  /** tests/brokers/redis/test_test_client.py TestTestclient.test_stream_publisher: a handler's list result goes to a stream as one message. */
  @Test
  void test_stream_publisher() {
    RedisBroker broker = backend.broker();
    Calls<String> m = calls();
    broker.subscriber(channel("q")).publishTo(stream("q1")).handle(String.class, (msg, ctx) -> {
      m.handle(msg, ctx);
      return List.of(1, 2, 3);
    });
    Calls<List<Integer>> published = calls();
    broker.subscriber(stream("q1")).handle(new TypeReference<List<Integer>>() {}.getType(), published);
    backend.start(broker);
    broker.publish("hello", channel("q"));
    assertThat(m.awaitOne().payload()).isEqualTo("hello");
    assertThat(published.awaitOne().payload()).containsExactly(1, 2, 3);
  }
}
