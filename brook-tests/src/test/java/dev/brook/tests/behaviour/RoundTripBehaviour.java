package dev.brook.tests.behaviour;

import static dev.brook.redis.Redis.channel;
import static dev.brook.redis.Redis.list;
import static dev.brook.redis.Redis.shardChannel;
import static dev.brook.redis.Redis.stream;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.core.type.TypeReference;
import dev.brook.Destination;
import dev.brook.redis.RedisBroker;
import dev.brook.tests.Calls;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** Every payload kind the codec supports goes out and comes back equal, with its headers, on every destination kind. */
abstract class RoundTripBehaviour extends Behaviour {

  record Order(long id, String item, List<String> tags) {}

  RoundTripBehaviour(Backend backend) {
    super(backend);
  }

  private <T> Calls.Call<T> roundTrip(java.lang.reflect.Type type, Object payload) {
    RedisBroker broker = started();
    Calls<T> calls = new Calls<>();
    broker.subscriber(channel("rt")).handle(type, calls);
    broker.publish(payload, channel("rt"));
    return calls.awaitOne();
  }

  @Test
  void string() {
    Calls.Call<String> call = roundTrip(String.class, "hello, Zürich");
    assertThat(call.payload()).isEqualTo("hello, Zürich");
    assertThat(call.context().header("content-type")).isEqualTo("text/plain");
  }

  @Test
  void bytes() {
    byte[] data = {0, 1, 2, (byte) 0xFF, (byte) 0x89, 'B'};
    Calls.Call<byte[]> call = roundTrip(byte[].class, data);
    assertThat(call.payload()).containsExactly(data);
    assertThat(call.context().header("content-type")).isNull();
  }

  @Test
  void integer() {
    Calls.Call<Integer> call = roundTrip(int.class, -42);
    assertThat(call.payload()).isEqualTo(-42);
    assertThat(call.context().header("content-type")).isEqualTo("application/json");
  }

  @Test
  void bool() {
    Calls.Call<Boolean> call = roundTrip(Boolean.class, true);
    assertThat(call.payload()).isTrue();
  }

  @Test
  void record() {
    Order order = new Order(42, "book", List.of("a", "b"));
    Calls.Call<Order> call = roundTrip(Order.class, order);
    assertThat(call.payload()).isEqualTo(order);
    assertThat(call.context().header("content-type")).isEqualTo("application/json");
  }

  @Test
  void listOfRecords() {
    List<Order> orders = List.of(new Order(1, "a", List.of()), new Order(2, "b", List.of("x")));
    Calls.Call<List<Order>> call = roundTrip(new TypeReference<List<Order>>() {}.getType(), orders);
    assertThat(call.payload()).isEqualTo(orders);
    assertThat(call.payload().get(0)).isInstanceOf(Order.class);
  }

  record Line(String sku, int qty, java.util.Optional<String> note) {}

  record Shipment(java.time.OffsetDateTime at, java.time.Instant sent, java.time.LocalDate day,
      java.util.Optional<String> carrier, java.util.Optional<Integer> missing, List<Line> lines,
      Map<String, List<Line>> byWarehouse) {}

  @Test
  void javaTimeOptionalAndRecordsNestedInCollections() {
    Line pen = new Line("pen", 2, java.util.Optional.of("blue"));
    Line ink = new Line("ink", 1, java.util.Optional.empty());
    Shipment shipment = new Shipment(
        java.time.OffsetDateTime.of(2026, 3, 1, 10, 15, 30, 123_000_000, java.time.ZoneOffset.ofHours(2)),
        java.time.Instant.parse("2026-03-01T08:15:30.123456789Z"), java.time.LocalDate.of(2026, 2, 28),
        java.util.Optional.of("post"), java.util.Optional.empty(), List.of(pen, ink),
        Map.of("north", List.of(pen, ink), "south", List.of()));
    Calls.Call<List<Shipment>> call =
        roundTrip(new TypeReference<List<Shipment>>() {}.getType(), List.of(shipment, shipment));
    assertThat(call.payload()).containsExactly(shipment, shipment);
  }

  @Test
  void map() {
    Map<String, Object> map = new LinkedHashMap<>();
    map.put("n", 1);
    map.put("s", "two");
    map.put("l", List.of(3, 4));
    Calls.Call<Map<String, Object>> call = roundTrip(new TypeReference<Map<String, Object>>() {}.getType(), map);
    assertThat(call.payload()).isEqualTo(map);
  }

  @Test
  void headersAndCorrelationIdArrive() {
    RedisBroker broker = started();
    Calls<String> calls = new Calls<>();
    broker.subscriber(channel("rt")).handle(String.class, calls);
    broker.publish("ping", channel("rt"), Map.of("correlation_id", "corr-1", "tenant", "acme"));
    var ctx = calls.awaitOne().context();
    assertThat(ctx.correlationId()).isEqualTo("corr-1");
    assertThat(ctx.messageId()).isEqualTo("corr-1");
    assertThat(ctx.header("tenant")).isEqualTo("acme");
    assertThat(ctx.headers().keySet()).containsExactly("correlation_id", "content-type", "tenant");
    assertThat(ctx.channel()).isEqualTo("rt");
    assertThat(ctx.destination()).isEqualTo(channel("rt"));
    assertThat(ctx.replyTo()).isNull();
  }

  @Test
  void aCorrelationIdIsGeneratedWhenNoneIsGiven() {
    var ctx = roundTrip(String.class, "x").context();
    assertThat(ctx.correlationId()).matches("[0-9a-f-]{36}");
  }

  @Test
  void nonAsciiHeaderValuesRoundTrip() {
    RedisBroker broker = started();
    Calls<String> calls = new Calls<>();
    broker.subscriber(channel("rt")).handle(String.class, calls);
    broker.publish("café", channel("rt"), Map.of("city", "Zürich", "tokyo", "東京", "emoji", "🚀"));
    var call = calls.awaitOne();
    assertThat(call.payload()).isEqualTo("café");
    assertThat(call.context().header("city")).isEqualTo("Zürich");
    assertThat(call.context().header("tokyo")).isEqualTo("東京");
    assertThat(call.context().header("emoji")).isEqualTo("🚀");
  }

  @Test
  void handlersRunOnVirtualThreadsNamedAfterTheSubscription() {
    var call = roundTrip(String.class, "where");
    assertThat(call.thread()).startsWith("VirtualThread[#").contains("brook-sub:channel:rt");
  }

  @Test
  void publishToSendsTheReturnValueWithTheCorrelationId() {
    RedisBroker broker = started();
    broker.subscriber(channel("orders")).publishTo(channel("receipts"), list("audit"))
        .handle(Order.class, (order, ctx) -> "receipt for " + order.id());
    Calls<String> receipts = new Calls<>();
    Calls<String> audit = new Calls<>();
    broker.subscriber(channel("receipts")).handle(String.class, receipts);
    broker.subscriber(list("audit")).handle(String.class, audit);
    broker.publish(new Order(7, "pen", List.of()), channel("orders"), Map.of("correlation_id", "c-7"));
    var receipt = receipts.awaitOne();
    assertThat(receipt.payload()).isEqualTo("receipt for 7");
    assertThat(receipt.context().correlationId()).isEqualTo("c-7");
    assertThat(audit.awaitOne().payload()).isEqualTo("receipt for 7");
    assertThat(audit.awaitOne().context().correlationId()).isEqualTo("c-7");
  }

  @Test
  void publishAsyncCompletesAndKeepsTheOrder() throws Exception {
    RedisBroker broker = started();
    Calls<String> calls = new Calls<>();
    broker.subscriber(channel("rt")).handle(String.class, calls);
    broker.publishAsync("a", channel("rt")).get();
    broker.publishAsync("b", channel("rt"), Map.of("n", "2")).get();
    calls.await(2);
    assertThat(calls.payloads()).containsExactly("a", "b");
  }

  static Stream<Destination> everyKind() {
    return Stream.of(channel("kinds"), shardChannel("kinds"), list("kinds"), list("kinds").atMostOnce(), stream("kinds"),
        stream("kinds").group("g").consumer("c1"));
  }

  @ParameterizedTest
  @MethodSource("everyKind")
  void everyDestinationKindCarriesPayloadAndHeaders(Destination destination) {
    RedisBroker broker = started();
    Calls<Order> calls = new Calls<>();
    broker.subscriber(destination).handle(Order.class, calls);
    Order order = new Order(3, "Käse", List.of("ü"));
    broker.publish(order, destination, Map.of("correlation_id", "k-1", "tenant", "東京"));
    var call = calls.awaitOne();
    assertThat(call.payload()).isEqualTo(order);
    assertThat(call.context().correlationId()).isEqualTo("k-1");
    assertThat(call.context().header("tenant")).isEqualTo("東京");
    assertThat(call.context().channel()).isEqualTo("kinds");
    assertThat(call.context().destination()).isEqualTo(destination);
    assertThat(call.context().deliveryCount()).isEqualTo(1);
  }
}
