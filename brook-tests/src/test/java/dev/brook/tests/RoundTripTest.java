package dev.brook.tests;

import static dev.brook.redis.Redis.channel;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.core.type.TypeReference;
import dev.brook.redis.RedisBroker;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Every payload kind the codec supports goes out and comes back equal, with its headers. */
class RoundTripTest extends RedisTestBase {

  record Order(long id, String item, List<String> tags) {}

  private <T> Recorder.Call<T> roundTrip(Class<T> type, Object payload) {
    RedisBroker broker = broker();
    Recorder<T> recorder = new Recorder<>();
    broker.subscriber(channel("rt")).handle(type, recorder);
    broker.start();
    broker.publish(payload, channel("rt"));
    return recorder.awaitOne();
  }

  @Test
  void string() {
    var call = roundTrip(String.class, "hello, Zürich");
    assertThat(call.payload()).isEqualTo("hello, Zürich");
    assertThat(call.context().header("content-type")).isEqualTo("text/plain");
  }

  @Test
  void bytes() {
    byte[] data = {0, 1, 2, (byte) 0xFF, (byte) 0x89, 'B'};
    var call = roundTrip(byte[].class, data);
    assertThat(call.payload()).containsExactly(data);
    assertThat(call.context().header("content-type")).isNull();
  }

  @Test
  void integer() {
    assertThat(roundTrip(Integer.class, 42).payload()).isEqualTo(42);
    assertThat(roundTrip(int.class, -7).payload()).isEqualTo(-7);
  }

  @Test
  void bool() {
    assertThat(roundTrip(Boolean.class, true).payload()).isTrue();
  }

  @Test
  void record() {
    Order order = new Order(42, "book", List.of("a", "b"));
    var call = roundTrip(Order.class, order);
    assertThat(call.payload()).isEqualTo(order);
    assertThat(call.context().header("content-type")).isEqualTo("application/json");
  }

  @Test
  void list() {
    RedisBroker broker = broker();
    Recorder<List<Order>> recorder = new Recorder<>();
    broker.subscriber(channel("rt")).handle(new TypeReference<List<Order>>() {}.getType(), recorder);
    broker.start();
    List<Order> orders = List.of(new Order(1, "a", List.of()), new Order(2, "b", List.of("x")));
    broker.publish(orders, channel("rt"));
    assertThat(recorder.awaitOne().payload()).isEqualTo(orders);
  }

  @Test
  void map() {
    Map<String, Object> map = new LinkedHashMap<>();
    map.put("n", 1);
    map.put("s", "two");
    map.put("l", List.of(3, 4));
    @SuppressWarnings({"rawtypes", "unchecked"})
    Recorder.Call<Map> call = roundTrip(Map.class, map);
    assertThat(call.payload()).isEqualTo(map);
  }

  @Test
  void headersAndCorrelationIdArrive() {
    RedisBroker broker = broker();
    Recorder<String> recorder = new Recorder<>();
    broker.subscriber(channel("rt")).handle(String.class, recorder);
    broker.start();
    broker.publish("ping", channel("rt"), Map.of("correlation_id", "corr-1", "tenant", "acme"));
    var ctx = recorder.awaitOne().context();
    assertThat(ctx.correlationId()).isEqualTo("corr-1");
    assertThat(ctx.messageId()).isEqualTo("corr-1");
    assertThat(ctx.header("tenant")).isEqualTo("acme");
    assertThat(ctx.headers().keySet()).containsExactly("correlation_id", "content-type", "tenant");
    assertThat(ctx.channel()).isEqualTo("rt");
    assertThat(ctx.destination()).isEqualTo(channel("rt"));
  }

  @Test
  void generatedCorrelationIdWhenNoneGiven() {
    var ctx = roundTrip(String.class, "x").context();
    assertThat(ctx.correlationId()).matches("[0-9a-f-]{36}");
  }

  @Test
  void nonAsciiHeaderValuesRoundTrip() {
    RedisBroker broker = broker();
    Recorder<String> recorder = new Recorder<>();
    broker.subscriber(channel("rt")).handle(String.class, recorder);
    broker.start();
    broker.publish("café", channel("rt"), Map.of("city", "Zürich", "tokyo", "東京"));
    var call = recorder.awaitOne();
    assertThat(call.payload()).isEqualTo("café");
    assertThat(call.context().header("city")).isEqualTo("Zürich");
    assertThat(call.context().header("tokyo")).isEqualTo("東京");
  }

  @Test
  void handlersRunOnVirtualThreadsNotIoThreads() {
    var call = roundTrip(String.class, "where");
    assertThat(call.thread()).startsWith("VirtualThread[#").contains("brook-sub:channel:rt");
  }

  @Test
  void publishToSendsTheReturnValueWithTheCorrelationId() {
    RedisBroker broker = broker();
    broker.subscriber(channel("orders")).publishTo(channel("receipts"), channel("audit"))
        .handle(Order.class, (order, ctx) -> "receipt for " + order.id());
    Recorder<String> receipts = new Recorder<>();
    Recorder<String> audit = new Recorder<>();
    broker.subscriber(channel("receipts")).handle(String.class, receipts);
    broker.subscriber(channel("audit")).handle(String.class, audit);
    broker.start();
    broker.publish(new Order(7, "pen", List.of()), channel("orders"), Map.of("correlation_id", "c-7"));
    var receipt = receipts.awaitOne();
    assertThat(receipt.payload()).isEqualTo("receipt for 7");
    assertThat(receipt.context().correlationId()).isEqualTo("c-7");
    assertThat(audit.awaitOne().payload()).isEqualTo("receipt for 7");
  }

  @Test
  void publishAsyncCompletesWhenRedisHasTheMessage() throws Exception {
    RedisBroker broker = broker();
    Recorder<String> recorder = new Recorder<>();
    broker.subscriber(channel("rt")).handle(String.class, recorder);
    broker.start();
    broker.publishAsync("a", channel("rt")).get();
    broker.publishAsync("b", channel("rt")).get();
    recorder.awaitCount(2);
    assertThat(recorder.payloads()).containsExactly("a", "b");
  }
}
