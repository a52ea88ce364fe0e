package dev.brook.tests.behaviour;

import static dev.brook.redis.Redis.channel;
import static dev.brook.redis.Redis.list;
import static dev.brook.redis.Redis.stream;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.brook.AckPolicy;
import dev.brook.Subscription;
import dev.brook.redis.RedisBroker;
import dev.brook.tests.Calls;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Filters (FastStream's {@code filter=}): several handlers on one subscription, the first whose
 * predicate accepts the message and whose type decodes it handles it; what no filter takes is
 * acknowledged and counted as dropped; what a filter accepts but cannot decode is bad input.
 */
abstract class FilterBehaviour extends Behaviour {

  record Order(long id, String item) {}

  record OrderV2(long id, String item, String currency) {}

  FilterBehaviour(Backend backend) {
    super(backend);
  }

  private List<String> texts(String key) {
    return backend.list(key).stream().map(Backend.Stored::text).toList();
  }

  @Test
  void theFirstFilterThatTakesAMessageHandlesIt() {
    RedisBroker broker = started();
    Calls<OrderV2> v2 = new Calls<>();
    Calls<Order> v1 = new Calls<>();
    Subscription sub = broker.subscriber(list("f-orders").consumer("c"))
        .filter(ctx -> "2".equals(ctx.header("version")), OrderV2.class, v2)
        .filter(ctx -> true, Order.class, v1)
        .register();
    assertThat(broker.subscriptions()).containsExactly(sub);
    broker.publish(new OrderV2(1, "pen", "EUR"), list("f-orders"), Map.of("version", "2"));
    broker.publish(new Order(2, "ink"), list("f-orders"));
    broker.publish(new Order(3, "pad"), list("f-orders"), Map.of("version", "1"));
    assertThat(v2.awaitOne().payload()).isEqualTo(new OrderV2(1, "pen", "EUR"));
    assertThat(v1.await(2)).extracting(Calls.Call::payload).containsExactly(new Order(2, "ink"), new Order(3, "pad"));
    assertThat(v2.count()).isEqualTo(1);
    eventually().until(() -> backend.list("{f-orders}:processing:c").isEmpty());
    assertThat(sub.metrics().handled()).isEqualTo(3);
    assertThat(sub.metrics().dropped()).isZero();
  }

  @Test
  void aFilterTakesOnlyWhatDecodesAsItsType() {
    RedisBroker broker = started();
    Calls<Integer> numbers = new Calls<>();
    Calls<String> texts = new Calls<>();
    broker.subscriber(channel("f-mixed"))
        .filter(ctx -> true, Integer.class, numbers)
        .handle(String.class, texts);
    broker.publish(42, channel("f-mixed"));
    broker.publish("hello", channel("f-mixed"));
    assertThat(numbers.awaitOne().payload()).isEqualTo(42);
    assertThat(texts.awaitOne().payload()).isEqualTo("hello");
  }

  @Test
  void whatNoFilterTakesIsAcknowledgedAndCountedAsDropped() {
    RedisBroker broker = started();
    Calls<String> urgent = new Calls<>();
    Subscription onList = broker.subscriber(list("f-none").consumer("c").deadLetter()).ackPolicy(AckPolicy.MANUAL)
        .filter(ctx -> "high".equals(ctx.header("priority")), String.class, urgent)
        .register();
    Subscription onStream = broker.subscriber(stream("f-none-s").group("g").consumer("c"))
        .filter(ctx -> "high".equals(ctx.header("priority")), String.class, urgent)
        .register();
    broker.publish("routine", list("f-none"));
    broker.publish("routine", stream("f-none-s"));
    eventually().until(() -> onList.metrics().dropped() == 1 && onStream.metrics().dropped() == 1);
    eventually().until(() -> backend.list("{f-none}:processing:c").isEmpty() && backend.pending("f-none-s", "g").isEmpty());
    assertThat(backend.list("{f-none}:dlq")).isEmpty();
    assertThat(backend.list("f-none")).isEmpty();
    assertThat(onList.metrics().handled()).isZero();
    assertThat(onList.metrics().failed()).isZero();
    assertThat(urgent.count()).isZero();
  }

  @Test
  void whatAFilterAcceptsButCannotDecodeIsBadInput() {
    RedisBroker broker = started();
    Calls<Order> orders = new Calls<>();
    Subscription sub = broker.subscriber(list("f-bad").consumer("c").deadLetter())
        .filter(ctx -> true, Order.class, orders)
        .register();
    backend.despiteFailures(() -> broker.publish("not an order", list("f-bad")));
    eventually().until(() -> backend.list("{f-bad}:dlq").size() == 1);
    assertThat(texts("{f-bad}:dlq")).containsExactly("not an order");
    assertThat(backend.list("{f-bad}:dlq").get(0).header("x-error")).startsWith("cannot decode into " + Order.class.getName());
    assertThat(sub.metrics().decodeErrors()).isEqualTo(1);
    assertThat(sub.metrics().dropped()).isZero();
    broker.publish(new Order(1, "ok"), list("f-bad"));
    assertThat(orders.awaitOne().payload()).isEqualTo(new Order(1, "ok"));
  }

  @Test
  void aFilteredHandlersResultIsPublished() {
    RedisBroker broker = started();
    Calls<String> receipts = new Calls<>();
    broker.subscriber(channel("f-receipts")).handle(String.class, receipts);
    broker.subscriber(channel("f-in")).publishTo(channel("f-receipts"))
        .filter(ctx -> ctx.header("kind") != null, String.class, (s, ctx) -> ctx.header("kind") + ":" + s)
        .handle(String.class, (s, ctx) -> "plain:" + s);
    broker.publish("a", channel("f-in"), Map.of("kind", "gift"));
    broker.publish("b", channel("f-in"));
    assertThat(receipts.await(2)).extracting(Calls.Call::payload).containsExactly("gift:a", "plain:b");
  }

  @Test
  void filtersDoNotBatch() {
    RedisBroker broker = started();
    var builder = broker.subscriber(list("f-batch"));
    builder.batch(10);
    assertThatThrownBy(() -> builder.filter(ctx -> true, String.class, (s, ctx) -> null))
        .isInstanceOf(IllegalStateException.class).hasMessageContaining("batch");
  }
}
