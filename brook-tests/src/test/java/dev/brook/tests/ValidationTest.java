package dev.brook.tests;

import static dev.brook.redis.Redis.channel;
import static dev.brook.redis.Redis.list;
import static dev.brook.redis.Redis.stream;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import dev.brook.Subscribe;
import dev.brook.Subscription;
import dev.brook.redis.RedisBroker;
import dev.brook.redis.internal.Envelope;
import jakarta.validation.Valid;
import jakarta.validation.constraints.NotBlank;
import jakarta.validation.constraints.Positive;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

/** @Valid payloads: a violation rejects the message, the handler never sees it. */
class ValidationTest extends RedisTestBase {

  record Order(@Positive long id, @NotBlank String item) {}

  static final List<Object> HANDLED = new CopyOnWriteArrayList<>();

  static class Orders {
    @Subscribe(channel = "orders")
    void onOrder(@Valid Order order) {
      HANDLED.add(order);
    }

    @Subscribe(list = "order-jobs")
    void onJob(@Valid Order order) {
      HANDLED.add(order);
    }

    @Subscribe(channel = "many")
    void onMany(@Valid List<Order> orders) {
      HANDLED.add(orders);
    }

    @Subscribe(channel = "unchecked")
    void onUnchecked(Order order) {
      HANDLED.add(order);
    }
  }

  private final ListAppender<ILoggingEvent> log = new ListAppender<>();
  private final Logger logger = (Logger) LoggerFactory.getLogger("dev.brook.Subscription");

  @BeforeEach
  void capture() {
    HANDLED.clear();
    log.start();
    logger.addAppender(log);
  }

  @AfterEach
  void release() {
    logger.detachAppender(log);
  }

  private List<String> warnings() {
    return log.list.stream().filter(e -> e.getLevel() == Level.WARN).map(ILoggingEvent::getFormattedMessage).toList();
  }

  @Test
  void aViolationIsLoggedWithTheViolationsCountedAndTheHandlerIsNotCalled() {
    RedisBroker broker = broker();
    broker.include(new Orders());
    broker.start();
    Subscription sub = broker.subscription(Orders.class.getName() + "#onOrder");
    broker.publish(new Order(-1, " "), channel("orders"), Map.of("correlation_id", "bad-1"));
    broker.publish(new Order(1, "book"), channel("orders"));
    await().atMost(Duration.ofSeconds(10)).until(() -> HANDLED.size() == 1);
    assertThat(HANDLED).containsExactly(new Order(1, "book"));
    assertThat(sub.metrics().decodeErrors()).isEqualTo(1);
    assertThat(sub.metrics().handled()).isEqualTo(1);
    assertThat(warnings()).containsExactly("Invalid message bad-1 from orders (subscription '" + Orders.class.getName()
        + "#onOrder'): id must be greater than 0; item must not be blank. Skipped; the subscription goes on.");
  }

  @Test
  void anInvalidItemOfAReliableListIsRejectedAndLeavesNothingBehind() {
    RedisBroker broker = broker();
    broker.include(new Orders());
    broker.start();
    broker.publish(new Order(0, "pen"), list("order-jobs"));
    broker.publish(new Order(2, "pen"), list("order-jobs"));
    await().atMost(Duration.ofSeconds(10)).until(() -> HANDLED.size() == 1);
    assertThat(HANDLED).containsExactly(new Order(2, "pen"));
    assertThat(warnings()).singleElement().asString()
        .startsWith("Invalid message ")
        .endsWith(" from order-jobs (subscription '" + Orders.class.getName()
            + "#onJob'): id must be greater than 0. Rejected; the subscription goes on.");
    await().atMost(Duration.ofSeconds(5)).until(() -> ((List<?>) redis.command("KEYS", "{order-jobs}:processing:*")).stream()
        .allMatch(k -> (Long) redis.command("LLEN", (String) k) == 0));
  }

  static class StreamOrders {
    @Subscribe(stream = "vorders", group = "g", consumer = "c1")
    void onOrder(@Valid Order order) {
      HANDLED.add(order);
    }
  }

  @Test
  void anInvalidStreamEntryGoesToTheDeadLetterWithTheViolationsAsTheReason() {
    RedisBroker broker = broker();
    broker.include(new StreamOrders());
    broker.start();
    broker.publish(new Order(-1, ""), stream("vorders"));
    broker.publish(new Order(1, "ok"), stream("vorders"));
    await().atMost(Duration.ofSeconds(10)).until(() -> HANDLED.size() == 1);
    await().atMost(Duration.ofSeconds(10)).until(() -> (Long) redis.command("XLEN", "{vorders}:dlq") == 1);
    var entry = raw().sync().xrange(utf8("{vorders}:dlq"), io.lettuce.core.Range.create("-", "+")).get(0);
    var frame = Envelope.decode(entry.getBody().values().iterator().next());
    assertThat(frame.header("x-error")).isEqualTo("invalid payload: id must be greater than 0; item must not be blank");
    assertThat(new String(frame.payload())).isEqualTo("{\"id\":-1,\"item\":\"\"}");
    assertThat(HANDLED).containsExactly(new Order(1, "ok"));
  }

  @Test
  void listPayloadsAreValidatedElementByElement() {
    RedisBroker broker = broker();
    broker.include(new Orders());
    broker.start();
    broker.publish(List.of(new Order(1, "a"), new Order(2, "")), channel("many"), Map.of("correlation_id", "many-1"));
    broker.publish(List.of(new Order(3, "c")), channel("many"));
    await().atMost(Duration.ofSeconds(10)).until(() -> HANDLED.size() == 1);
    assertThat(HANDLED).containsExactly(List.of(new Order(3, "c")));
    assertThat(warnings()).containsExactly("Invalid message many-1 from many (subscription '" + Orders.class.getName()
        + "#onMany'): [1].item must not be blank. Skipped; the subscription goes on.");
  }

  @Test
  void withoutValidTheSamePayloadIsHandled() {
    RedisBroker broker = broker();
    broker.include(new Orders());
    broker.start();
    broker.publish(new Order(-5, ""), channel("unchecked"));
    await().atMost(Duration.ofSeconds(10)).until(() -> HANDLED.size() == 1);
    assertThat(warnings()).isEmpty();
  }
}
