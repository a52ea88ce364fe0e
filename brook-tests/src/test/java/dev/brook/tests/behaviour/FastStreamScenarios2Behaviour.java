package dev.brook.tests.behaviour;

import static dev.brook.redis.Redis.channel;
import static dev.brook.redis.Redis.list;
import static dev.brook.redis.Redis.stream;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.brook.AckPolicy;
import dev.brook.Message;
import dev.brook.MessageContext;
import dev.brook.MessageDecoder;
import dev.brook.MessageParser;
import dev.brook.Middleware;
import dev.brook.Publisher;
import dev.brook.Response;
import dev.brook.Router;
import dev.brook.redis.RedisBroker;
import dev.brook.tests.Calls;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;

/**
 * More of FastStream's own broker tests ({@code tests/brokers/base/*.py} and {@code
 * tests/brokers/redis/*.py} of ag2ai/faststream), for features merged after {@link
 * FastStreamScenariosBehaviour}: Response and no_reply, explicit correlation ids on requests,
 * middlewares on requests and publishes, router parsers and decoders, the batch publisher, the
 * per-message delete, and messages written by other Redis clients ("native": not in Brook's
 * envelope, sent through {@link Backend#command}). Each method is named after the FastStream test
 * it mirrors and cites it; FastStream's {@code queue} fixture is a channel unless the test names a
 * list or a stream.
 */
abstract class FastStreamScenarios2Behaviour extends Behaviour {

  private static final Duration TIMEOUT = Duration.ofSeconds(10);

  FastStreamScenarios2Behaviour(Backend backend) {
    super(backend);
  }

  private static <T> Calls<T> calls() {
    return new Calls<>();
  }

  private static String text(byte[] body) {
    return new String(body, StandardCharsets.UTF_8);
  }

  // ---- tests/brokers/base/publish.py --------------------------------------------------------------

  /** tests/brokers/base/publish.py BrokerPublishTestcase.test_response: a Response's body, header and correlation_id reach the publisher's subscriber. */
  @Test
  void test_response() {
    RedisBroker broker = backend.broker();
    broker.subscriber(channel("q")).publishTo(channel("q1"))
        .handle(String.class, (m, ctx) -> Response.of(1).header("custom", "1").correlationId("1"));
    Calls<Object> next = calls();
    broker.subscriber(channel("q1")).handle(Object.class, next);
    backend.start(broker);
    broker.publish("", channel("q"));
    MessageContext msg = next.awaitOne().context();
    assertThat(text(msg.body())).isEqualTo("1");
    assertThat(msg.header("custom")).isEqualTo("1");
    assertThat(msg.correlationId()).isEqualTo("1");
  }

  /** tests/brokers/base/publish.py BrokerPublishTestcase.test_no_reply: a no_reply subscriber's result does not go to reply_to. */
  @Test
  void test_no_reply() {
    List<String> processed = new CopyOnWriteArrayList<>();
    RedisBroker broker = backend.broker(b -> b.middleware(new Middleware() {
      @Override
      public Object consume(ConsumeChain chain) throws Exception {
        Object result = chain.proceed();
        if (chain.subscription() != null) {
          processed.add(chain.subscription().destination().key()); // FastStream's after_processed
        }
        return result;
      }
    }));
    Calls<String> replyHandler = calls();
    broker.subscriber(channel("qreply")).handle(String.class, replyHandler);
    broker.subscriber(channel("q")).noReply().handle(String.class, (m, ctx) -> m);
    backend.start(broker);
    broker.publish("Hello!", channel("q"), Map.of("reply_to", "qreply"));
    eventually().until(() -> processed.contains("channel:q"));
    backend.pass(Duration.ofMillis(200));
    assertThat(replyHandler.count()).isZero();
  }

  // ---- tests/brokers/base/requests.py -------------------------------------------------------------

  /** tests/brokers/base/requests.py RequestsTestcase.test_broker_base_request, with its correlation_id="1". */
  @Test
  void test_broker_base_request() {
    RedisBroker broker = backend.broker();
    broker.subscriber(channel("q")).handle(Object.class, (m, ctx) -> "Response");
    backend.start(broker);
    Message<String> response = broker.requestMessage(null, channel("q"), Map.of("correlation_id", "1"), String.class, TIMEOUT);
    assertThat(response.payload()).isEqualTo("Response");
    assertThat(response.correlationId()).isEqualTo("1");
  }

  /** tests/brokers/base/requests.py RequestsTestcase.test_publisher_base_request, with its correlation_id="1". */
  @Test
  void test_publisher_base_request() {
    RedisBroker broker = backend.broker();
    Publisher publisher = broker.publisher(channel("q"));
    broker.subscriber(channel("q")).handle(Object.class, (m, ctx) -> "Response");
    backend.start(broker);
    Message<String> response = publisher.requestMessage(null, Map.of("correlation_id", "1"), String.class, TIMEOUT);
    assertThat(response.payload()).isEqualTo("Response");
    assertThat(response.correlationId()).isEqualTo("1");
  }

  /** tests/brokers/base/requests.py RequestsTestcase.test_router_publisher_request, with its correlation_id="1". */
  @Test
  void test_router_publisher_request() {
    Router router = Router.withPrefix("");
    Publisher publisher = router.publisher(channel("q"));
    router.subscriber(channel("q")).handle(Object.class, (m, ctx) -> "Response");
    RedisBroker broker = backend.broker();
    broker.include(router);
    backend.start(broker);
    Message<String> response = publisher.requestMessage(null, Map.of("correlation_id", "1"), String.class, TIMEOUT);
    assertThat(response.payload()).isEqualTo("Response");
    assertThat(response.correlationId()).isEqualTo("1");
  }

  /**
   * tests/brokers/redis/test_requests.py's Mid: it doubles the message twice (on_receive, then
   * consume_scope), on the request and again on its reply. Brook has no on_receive step, so two
   * doubling consume middlewares stand for the two.
   */
  private static final Middleware DOUBLE = new Middleware() {
    @Override
    public Object consume(ConsumeChain chain) throws Exception {
      return chain.payload() instanceof String s ? chain.proceed(s + s) : chain.proceed();
    }
  };

  /** tests/brokers/base/requests.py RequestsTestcase.test_broker_request_respect_middleware. */
  @Test
  void test_broker_request_respect_middleware() {
    RedisBroker broker = backend.broker(b -> b.middleware(DOUBLE, DOUBLE));
    broker.subscriber(channel("q")).handle(String.class, (m, ctx) -> m);
    backend.start(broker);
    assertThat(broker.request("x", channel("q"), String.class, TIMEOUT)).isEqualTo("x".repeat(16));
  }

  /** tests/brokers/base/requests.py RequestsTestcase.test_broker_publisher_request_respect_middleware. */
  @Test
  void test_broker_publisher_request_respect_middleware() {
    RedisBroker broker = backend.broker(b -> b.middleware(DOUBLE, DOUBLE));
    Publisher publisher = broker.publisher(channel("q"));
    broker.subscriber(channel("q")).handle(String.class, (m, ctx) -> m);
    backend.start(broker);
    assertThat(publisher.request("x", String.class, TIMEOUT)).isEqualTo("x".repeat(16));
  }

  /** tests/brokers/base/requests.py RequestsTestcase.test_router_publisher_request_respect_middleware. */
  @Test
  void test_router_publisher_request_respect_middleware() {
    Router router = Router.withPrefix("").middleware(DOUBLE, DOUBLE);
    Publisher publisher = router.publisher(channel("q"));
    router.subscriber(channel("q")).handle(String.class, (m, ctx) -> m);
    RedisBroker broker = backend.broker();
    broker.include(router);
    backend.start(broker);
    assertThat(publisher.request("x", String.class, TIMEOUT)).isEqualTo("x".repeat(16));
  }

  // ---- tests/brokers/base/middlewares.py ----------------------------------------------------------

  /** A publish middleware that doubles a String body, as FastStream's publish_scope {@code cmd.body *= 2}. */
  private static Middleware doublingPublishes(List<String> enter, List<String> end) {
    return new Middleware() {
      @Override
      public CompletableFuture<Void> publish(PublishChain chain) {
        Object body = chain.command().payload();
        String doubled = body instanceof String s ? s + s : null;
        enter.add(String.valueOf(doubled));
        CompletableFuture<Void> sent = chain.proceed(doubled == null ? chain.command() : chain.command().withPayload(doubled));
        return sent.whenComplete((ok, failed) -> end.add("end"));
      }
    };
  }

  /** tests/brokers/base/middlewares.py MiddlewareTestcase.test_patch_publish: the broker's publish middleware doubles the request and the reply to reply_to. */
  @Test
  void test_patch_publish() {
    RedisBroker broker = backend.broker(b -> b.middleware(doublingPublishes(new CopyOnWriteArrayList<>(), new CopyOnWriteArrayList<>())));
    broker.subscriber(channel("q")).handle(String.class, (m, ctx) -> m);
    Calls<String> handlerResp = calls();
    broker.subscriber(channel("qr")).handle(String.class, handlerResp);
    backend.start(broker);
    broker.publish("r", channel("q"), Map.of("reply_to", "qr"));
    assertThat(handlerResp.awaitOne().payload()).isEqualTo("rrrr");
  }

  /** tests/brokers/base/middlewares.py MiddlewareTestcase.test_global_publisher_middleware: the publish and both publisher results pass it. */
  @Test
  void test_global_publisher_middleware() {
    List<String> enter = new CopyOnWriteArrayList<>();
    List<String> end = new CopyOnWriteArrayList<>();
    RedisBroker broker = backend.broker(b -> b.middleware(doublingPublishes(enter, end)));
    Calls<String> inner = calls();
    broker.subscriber(channel("q")).publishTo(channel("q1"), channel("q2")).handle(String.class, (m, ctx) -> {
      inner.handle(m, ctx);
      return m;
    });
    backend.start(broker);
    broker.publish("1", channel("q"));
    eventually().until(() -> end.size() == 3);
    assertThat(inner.awaitOne().payload()).isEqualTo("11");
    assertThat(enter).hasSize(3).contains("11", "1111");
    assertThat(enter.stream().filter("1111"::equals)).hasSize(2);
  }

  // ---- tests/brokers/base/router.py ---------------------------------------------------------------

  private static MessageParser countingParser(List<String> calls, String name) {
    return (raw, original) -> {
      calls.add(name);
      return original.apply(raw);
    };
  }

  private static MessageDecoder countingDecoder(List<String> calls, String name) {
    return (message, type, original) -> {
      calls.add(name);
      return original.decode(message, type);
    };
  }

  /** tests/brokers/base/router.py RouterTestcase.test_router_parser: the router's parser and decoder run once. */
  @Test
  void test_router_parser() {
    List<String> mock = new CopyOnWriteArrayList<>();
    Router router = Router.withPrefix("").parser(countingParser(mock, "parser")).decoder(countingDecoder(mock, "decoder"));
    Calls<String> subscriber = calls();
    router.subscriber(channel("q")).handle(String.class, subscriber);
    RedisBroker broker = backend.broker();
    broker.include(router);
    backend.start(broker);
    broker.publish("hello", channel("q"));
    subscriber.awaitOne();
    assertThat(mock).containsExactlyInAnyOrder("parser", "decoder");
  }

  /** tests/brokers/base/router.py RouterTestcase.test_router_parser_override: the subscriber's own parser and decoder replace the router's. */
  @Test
  void test_router_parser_override() {
    List<String> mock = new CopyOnWriteArrayList<>();
    Router router = Router.withPrefix("").parser(countingParser(mock, "global")).decoder(countingDecoder(mock, "global"));
    Calls<String> subscriber = calls();
    router.subscriber(channel("q")).parser(countingParser(mock, "parser")).decoder(countingDecoder(mock, "decoder"))
        .handle(String.class, subscriber);
    RedisBroker broker = backend.broker();
    broker.include(router);
    backend.start(broker);
    broker.publish("hello", channel("q"));
    subscriber.awaitOne();
    assertThat(mock).containsExactlyInAnyOrder("parser", "decoder");
  }

  /**
   * tests/brokers/base/router.py RouterTestcase.test_router_in_init: a router given to the broker
   * when it is made ({@code get_broker(routers=[router])}). Brook's builder takes no routers; the
   * equivalent is including the router into the new broker before anything else, before start.
   */
  @Test
  void test_router_in_init() {
    Router router = Router.withPrefix("");
    Calls<String> subscriber = calls();
    router.subscriber(channel("q")).handle(String.class, subscriber);
    RedisBroker broker = backend.broker();
    broker.include(router);
    backend.start(broker);
    broker.publish("hello", channel("q"));
    assertThat(subscriber.awaitOne().payload()).isEqualTo("hello");
  }

  // ---- tests/brokers/base/testclient.py and tests/brokers/redis/test_test_client.py ----------------

  /**
   * tests/brokers/base/testclient.py BrokerTestclientTestcase.test_parser_exception_raises: in
   * memory the parser's exception reaches the publisher (the test client raises it); on Redis the
   * publisher never sees it, the handler is not called and the message is dropped.
   */
  @Test
  void test_parser_exception_raises() {
    RedisBroker broker = backend.broker();
    Calls<String> m = calls();
    broker.subscriber(channel("q")).parser((raw, original) -> {
      throw new IllegalArgumentException("ValueError");
    }).handle(String.class, m);
    backend.start(broker);
    if (backend.name().equals("memory")) {
      assertThatThrownBy(() -> broker.publish("hello", channel("q"))).isInstanceOf(IllegalArgumentException.class);
    } else {
      broker.publish("hello", channel("q"));
      backend.pass(Duration.ofMillis(300));
    }
    assertThat(m.count()).isZero();
  }

  /** tests/brokers/redis/test_test_client.py TestTestclient.test_batch_publisher_mock: a handler's (1, 2, 3) goes to a batch list as three items. */
  @Test
  void test_batch_publisher_mock() {
    RedisBroker broker = backend.broker();
    Calls<String> m = calls();
    broker.subscriber(channel("q")).publishBatchTo(list("q1")).handle(String.class, (msg, ctx) -> {
      m.handle(msg, ctx);
      return List.of(1, 2, 3);
    });
    Calls<List<Integer>> publisher = calls();
    broker.subscriber(list("q1")).batch(10).handle(Integer.class, publisher);
    backend.start(broker);
    broker.publish("hello", channel("q"));
    assertThat(m.awaitOne().payload()).isEqualTo("hello");
    eventually().until(() -> publisher.payloads().stream().mapToInt(List::size).sum() == 3);
    assertThat(publisher.payloads().stream().flatMap(List::stream)).containsExactly(1, 2, 3);
  }

  // ---- tests/brokers/redis/test_consume.py ---------------------------------------------------------

  /** tests/brokers/redis/test_consume.py TestConsumeStream.test_consume_and_delete_acked: the handler deletes its entry, the stream is empty. */
  @Test
  void test_consume_and_delete_acked() {
    RedisBroker broker = backend.broker();
    Calls<String> handler = calls();
    broker.subscriber(stream("q").group("group").consumer("q")).handle(String.class, (msg, ctx) -> {
      handler.handle(msg, ctx);
      ctx.delete();
      return null;
    });
    backend.start(broker);
    broker.publish("hello", stream("q"));
    handler.awaitOne();
    eventually().until(() -> backend.stream("q").isEmpty());
    eventually().until(() -> backend.pending("q", "group").isEmpty());
  }

  /** tests/brokers/redis/test_consume.py TestConsumeStream.test_consume_and_delete_nacked: with a manual ack policy, delete without ack still empties the stream. */
  @Test
  void test_consume_and_delete_nacked() {
    RedisBroker broker = backend.broker();
    Calls<String> handler = calls();
    broker.subscriber(stream("q").group("group").consumer("q")).ackPolicy(AckPolicy.MANUAL)
        .handle(String.class, (msg, ctx) -> {
          ctx.delete();
          handler.handle(msg, ctx);
          return null;
        });
    backend.start(broker);
    broker.publish("hello", stream("q"));
    handler.awaitOne();
    eventually().until(() -> backend.stream("q").isEmpty());
  }

  /** tests/brokers/redis/test_consume.py TestConsume.test_consume_native: a plain PUBLISH from another client is read as its bytes. */
  @Test
  void test_consume_native() {
    RedisBroker broker = backend.broker();
    Calls<byte[]> handler = calls();
    broker.subscriber(channel("q")).handle(byte[].class, handler);
    backend.start(broker);
    Object result = backend.command("PUBLISH", "q", "hello");
    assertThat(text(handler.awaitOne().payload())).isEqualTo("hello");
    if (backend.name().equals("cluster")) {
      // Redis Cluster delivers a PUBLISH on every node but counts only the subscribers of the node that
      // took it; Brook's Pub/Sub connection is on any one node, which may or may not be that one.
      assertThat(result).isIn(0L, 1L);
    } else {
      assertThat(result).isEqualTo(1L);
    }
  }

  /** tests/brokers/redis/test_consume.py TestConsumeList.test_consume_list_native: a plain RPUSH. */
  @Test
  void test_consume_list_native() {
    RedisBroker broker = backend.broker();
    Calls<byte[]> handler = calls();
    broker.subscriber(list("q")).handle(byte[].class, handler);
    backend.start(broker);
    backend.command("RPUSH", "q", "hello");
    assertThat(text(handler.awaitOne().payload())).isEqualTo("hello");
  }

  /** tests/brokers/redis/test_consume.py TestConsumeList.test_consume_list_batch_native. */
  @Test
  void test_consume_list_batch_native() {
    RedisBroker broker = backend.broker();
    Calls<List<byte[]>> handler = calls();
    broker.subscriber(list("q")).batch(10).handle(byte[].class, handler);
    backend.start(broker);
    backend.command("RPUSH", "q", "hello");
    assertThat(handler.awaitOne().payload()).singleElement().extracting(FastStreamScenarios2Behaviour::text).isEqualTo("hello");
  }

  /** tests/brokers/redis/test_consume.py TestConsumeStream.test_consume_stream_native: a plain XADD's fields, as one object. */
  @Test
  void test_consume_stream_native() {
    RedisBroker broker = backend.broker();
    Calls<Map<String, String>> handler = calls();
    broker.subscriber(stream("q")).handle(new com.fasterxml.jackson.core.type.TypeReference<Map<String, String>>() {}.getType(), handler);
    backend.start(broker);
    backend.command("XADD", "q", "*", "message", "hello");
    assertThat(handler.awaitOne().payload()).isEqualTo(Map.of("message", "hello"));
  }

  /** tests/brokers/redis/test_consume.py TestConsumeStream.test_consume_stream_batch_native. */
  @Test
  void test_consume_stream_batch_native() {
    RedisBroker broker = backend.broker();
    Calls<List<Map<String, String>>> handler = calls();
    broker.subscriber(stream("q")).batch(10)
        .handle(new com.fasterxml.jackson.core.type.TypeReference<Map<String, String>>() {}.getType(), handler);
    backend.start(broker);
    backend.command("XADD", "q", "*", "message", "hello");
    assertThat(handler.awaitOne().payload()).containsExactly(Map.of("message", "hello"));
  }
}
