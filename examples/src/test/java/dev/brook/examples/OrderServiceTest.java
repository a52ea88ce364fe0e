package dev.brook.examples;

import static dev.brook.redis.Redis.channel;
import static dev.brook.redis.Redis.defaultConsumerName;
import static dev.brook.redis.Redis.list;
import static dev.brook.redis.Redis.stream;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.brook.AckPolicy;
import dev.brook.RejectMessage;
import dev.brook.Subscription;
import dev.brook.examples.guide.OrderService;
import dev.brook.examples.guide.OrderService.Order;
import dev.brook.examples.guide.OrderService.Receipt;
import dev.brook.redis.RedisBroker;
import dev.brook.testing.RedisServer;
import dev.brook.testing.TestRedisBroker;
import dev.brook.testing.WithRedisServer;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;

/**
 * docs/testing.md: the guide's {@link OrderService} tested in memory with {@link TestRedisBroker}
 * and on a private redis-server with {@link WithRedisServer}. The regions marked below are shown in
 * the doc as they are here ({@code TestingDocSnippetsTest} checks it).
 */
class OrderServiceTest {

  // region:wiring
  /** How the application builds its broker; its tests build it the same way. */
  static RedisBroker orderService(String url, Consumer<String> out) {
    RedisBroker broker = RedisBroker.create(url);
    broker.include(new OrderService(out));
    return broker;
  }
  // endregion

  @Nested
  class InMemory {

    // region:memory
    final List<String> out = new CopyOnWriteArrayList<>();

    @Test
    void anOrderGetsAReceipt() {
      try (RedisBroker broker = orderService("redis://localhost:6379", out::add);   // never connected
           TestRedisBroker test = TestRedisBroker.of(broker)) {                       // in memory from here, started
        broker.publish(new Order(42, "book"), channel("orders"), Map.of("tenant", "acme"));

        // publish returned when the handler was done and its receipt published
        assertThat(test.published(channel("receipts"))).extracting(m -> m.as(Receipt.class))
            .containsExactly(new Receipt(42, "acme"));
        Subscription onOrder = broker.subscription(OrderService.class.getName() + "#onOrder");
        assertThat(test.calls(onOrder)).extracting(TestRedisBroker.Call::payload).containsExactly(new Order(42, "book"));
      }
    }

    @Test
    void anOrderWithoutATenantIsRejected() {
      try (RedisBroker broker = orderService("redis://localhost:6379", out::add);
           TestRedisBroker test = TestRedisBroker.of(broker)) {
        assertThatThrownBy(() -> broker.publish(new Order(7, "pen"), channel("orders")))   // rethrown to the test
            .isInstanceOf(RejectMessage.class)
            .hasMessage("reject: missing header 'tenant'");
        assertThat(test.published(channel("receipts"))).isEmpty();
      }
    }

    @Test
    void importsGoThroughTheQueue() {
      try (RedisBroker broker = orderService("redis://localhost:6379", out::add);
           TestRedisBroker test = TestRedisBroker.of(broker)) {
        broker.publish(List.of(new Order(1, "a"), new Order(2, "b")), list("imports"));
        assertThat(out).containsExactly("imported 2 orders");
        assertThat(test.list("imports")).isEmpty();                      // taken from the queue
        assertThat(test.list("{imports}:processing:" + defaultConsumerName())).isEmpty();   // and acknowledged
      }
    }

    @Test
    void aRequestGetsTheReceipt() {
      try (RedisBroker broker = orderService("redis://localhost:6379", out::add);
           TestRedisBroker test = TestRedisBroker.of(broker)) {
        Receipt receipt = broker.publisher(channel("orders")).withHeader("tenant", "acme")
            .request(new Order(9, "ink"), Receipt.class, Duration.ofSeconds(5));
        assertThat(receipt).isEqualTo(new Receipt(9, "acme"));
      }
    }
    // endregion

    // region:clock
    @Test
    void aFailedPaymentIsRetriedAfterABackOffThenDeadLettered() {
      try (RedisBroker broker = RedisBroker.create("redis://localhost:6379");
           TestRedisBroker test = TestRedisBroker.of(broker)) {
        broker.subscriber(stream("payments").group("billing").maxDeliveries(2))
            .ackPolicy(AckPolicy.NACK_ON_ERROR)
            .handle(String.class, (payment, ctx) -> {
              throw new IllegalStateException("bank unavailable");
            });

        assertThatThrownBy(() -> broker.publish("p-1", stream("payments"))).hasMessage("bank unavailable");
        assertThat(test.pending("payments", "billing")).containsOnlyKeys("0-1").containsValue(1L);   // pending, 1 attempt
        assertThatThrownBy(() -> test.advance(Duration.ofMillis(100))).hasMessage("bank unavailable"); // back-off passed: again
        assertThat(test.pending("payments", "billing")).isEmpty();  // attempt 2 of maxDeliveries 2 failed: dead letter
        assertThat(test.stream("{payments}:dlq")).extracting(m -> m.header("x-error")).containsExactly(
            "failed 2 times (maxDeliveries 2); last error: java.lang.IllegalStateException: bank unavailable");
      }
    }
    // endregion
  }

  // region:redis
  @Nested
  @WithRedisServer                      // a private redis-server for this class, flushed before each test
  class OnRedis {

    final List<String> out = new CopyOnWriteArrayList<>();

    @Test
    void anOrderGetsAReceipt(RedisServer redis) {
      try (RedisBroker broker = orderService(redis.url(), out::add)) {
        List<Receipt> receipts = new CopyOnWriteArrayList<>();
        broker.subscriber(channel("receipts")).handle(Receipt.class, (receipt, ctx) -> {
          receipts.add(receipt);
          return null;
        });
        broker.start();

        broker.publish(new Order(42, "book"), channel("orders"), Map.of("tenant", "acme"));

        await().atMost(Duration.ofSeconds(5)).until(() -> !receipts.isEmpty());   // Redis delivers asynchronously
        assertThat(receipts).containsExactly(new Receipt(42, "acme"));
      }
    }

    @Test
    void importsWaitInRedisUntilTheServiceRuns(RedisServer redis) {
      try (RedisBroker broker = orderService(redis.url(), out::add)) {
        broker.publish(List.of(new Order(1, "a"), new Order(2, "b")), list("imports"));
        assertThat(redis.command("LLEN", "imports")).isEqualTo(1L);             // ask Redis itself
        broker.start();
        await().atMost(Duration.ofSeconds(5)).until(() -> out.contains("imported 2 orders"));
        await().atMost(Duration.ofSeconds(5)).until(() -> redis.command("LLEN", "imports").equals(0L));
      }
    }

    @Test
    void aRequestGetsTheReceipt(RedisServer redis) {
      try (RedisBroker broker = orderService(redis.url(), out::add)) {
        broker.start();
        Receipt receipt = broker.publisher(channel("orders")).withHeader("tenant", "acme")
            .request(new Order(9, "ink"), Receipt.class, Duration.ofSeconds(5));
        assertThat(receipt).isEqualTo(new Receipt(9, "acme"));
      }
    }
  }
  // endregion
}
