package dev.brook.micrometer;

import static dev.brook.redis.Redis.channel;
import static dev.brook.redis.Redis.list;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.brook.NackMessage;
import dev.brook.Subscription;
import dev.brook.redis.RedisBroker;
import dev.brook.testing.RedisServer;
import dev.brook.testing.TestRedisBroker;
import dev.brook.testing.WithRedisServer;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.lang.ref.WeakReference;
import java.time.Duration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Redeliveries, replies and requests as meters; close releases the middleware and every meter. */
@WithRedisServer
class BrookMetricsTest {

  private RedisServer redis;
  private RedisBroker broker;
  private PrometheusMeterRegistry registry;

  @BeforeEach
  void open(RedisServer redis) {
    this.redis = redis;
    broker = RedisBroker.create(redis.url());
    registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
  }

  @AfterEach
  void close() {
    broker.close();
    registry.close();
  }

  @Test
  void countsRedeliveriesAndTagsRepliesAsTemporary() {
    Subscription retry = broker.subscriber(list("retry")).handle(String.class, (s, ctx) -> {
      if (ctx.deliveryCount() == 1) {
        throw new NackMessage();
      }
      return null;
    });
    Subscription quotes = broker.subscriber(channel("quotes")).handle(String.class, (s, ctx) -> "quote for " + s);
    try (BrookMetrics metrics = BrookMetrics.bind(broker, registry)) {
      broker.start();
      broker.publish("job", list("retry"));
      assertThat(broker.request("apples", channel("quotes"), String.class, Duration.ofSeconds(5)))
          .isEqualTo("quote for apples");
      await().atMost(Duration.ofSeconds(10)).until(() -> retry.metrics().handled() == 1);
      Scrape s = Scrape.parse(registry.scrape());

      assertThat(s.value("brook_subscription_redelivered_total", "messaging_destination_subscription_name", retry.id()))
          .isEqualTo(1);
      assertThat(s.value("messaging_client_consumed_messages_total", "messaging_destination_name", "retry",
          "error_type", "dev.brook.NackMessage")).isEqualTo(1);
      assertThat(s.value("messaging_client_consumed_messages_total", "messaging_destination_name", "retry",
          "error_type", "none")).isEqualTo(1);
      // The request went to quotes, its reply to the requester's own channel: tagged (temporary).
      assertThat(s.labelValues("messaging_client_sent_messages_total", "messaging_destination_name"))
          .containsExactlyInAnyOrder("retry", "quotes", "(temporary)");
      assertThat(s.value("messaging_client_sent_messages_total", "messaging_destination_name", "(temporary)"))
          .isEqualTo(1);
      assertThat(s.value("messaging_client_consumed_messages_total", "messaging_destination_name", "quotes"))
          .as("the reply reaching the requester is not a processed message").isEqualTo(1);
      assertThat(s.value("brook_requests_replied_total")).isEqualTo(1);
      assertThat(quotes.metrics().handled()).isEqualTo(1);
    }
  }

  @Test
  void closeRemovesTheMiddlewareAndEveryMeter() {
    Workload w = new Workload(broker);
    BrookMetrics metrics = BrookMetrics.bind(broker, registry);
    broker.start();
    w.run(broker);
    assertThat(registry.getMeters()).isNotEmpty();
    assertThat(BacklogGaugesTest.backlogThreads()).as("the backlog refresher").isEqualTo(1);

    metrics.close();
    metrics.close(); // idempotent
    assertThat(BacklogGaugesTest.backlogThreads()).as("the backlog refresher ends with the binding").isZero();
    assertThat(registry.getMeters()).isEmpty();
    assertThat(registry.scrape()).doesNotContain("brook_").doesNotContain("messaging_");

    // The broker goes on without it: no meter comes back, and nothing of the binding stays reachable.
    w.run(broker);
    assertThat(Workload.done(w.orders)).isEqualTo(2L * (Workload.OK + Workload.FAILED + Workload.DECODE_ERRORS));
    assertThat(registry.getMeters()).isEmpty();
    WeakReference<BrookMetrics> ref = new WeakReference<>(metrics);
    metrics = null;
    await().atMost(Duration.ofSeconds(10)).until(() -> {
      System.gc();
      return ref.get() == null;
    });
  }

  @Test
  void countsTheSameInTheInMemoryTestBroker() {
    Subscription orders = broker.subscriber(channel("orders")).handle(Workload.Order.class, (o, ctx) -> {
      if (o.id() < 0) {
        throw new IllegalStateException("negative");
      }
      return null;
    });
    try (BrookMetrics metrics = BrookMetrics.bind(broker, registry);
        TestRedisBroker test = TestRedisBroker.of(broker)) {
      broker.publish(new Workload.Order(1), channel("orders"));
      broker.publish(new Workload.Order(2), channel("orders"));
      assertThatThrownBy(() -> broker.publish(new Workload.Order(-1), channel("orders")))
          .isInstanceOf(IllegalStateException.class);
      Scrape s = Scrape.parse(registry.scrape());
      String consumed = "messaging_client_consumed_messages_total";
      assertThat(s.value(consumed, "messaging_destination_name", "orders", "error_type", "none")).isEqualTo(2);
      assertThat(s.value(consumed, "messaging_destination_name", "orders",
          "error_type", "java.lang.IllegalStateException")).isEqualTo(1);
      // The test broker's synchronous publish fails with the handler's exception: so does its send meter.
      assertThat(s.value("messaging_client_sent_messages_total", "messaging_destination_name", "orders",
          "error_type", "none")).isEqualTo(2);
      assertThat(s.value("messaging_client_sent_messages_total", "messaging_destination_name", "orders",
          "error_type", "java.lang.IllegalStateException")).isEqualTo(1);
      assertThat(s.value("brook_subscription_failed_total", "messaging_destination_subscription_name", orders.id()))
          .isEqualTo(1);
    }
  }

  @Test
  void aLostPubSubConnectionIsOneConnectionLossAndOneGap() {
    java.util.List<String> received = new java.util.concurrent.CopyOnWriteArrayList<>();
    broker.subscriber(channel("news")).handle(String.class, (s, ctx) -> {
      received.add(s);
      return null;
    });
    try (BrookMetrics metrics = BrookMetrics.bind(broker, registry)) {
      broker.start();
      broker.publish("before", channel("news"));
      await().atMost(Duration.ofSeconds(10)).until(() -> received.contains("before"));
      redis.command("CLIENT", "KILL", "TYPE", "pubsub");
      await().atMost(Duration.ofSeconds(10)).until(() -> broker.pubSubMetrics().disconnects() == 1);
      await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(20)).until(() -> {
        broker.publish("after", channel("news"));
        return received.contains("after");
      });
      // The last probe may still be on its way: wait until every message the connection received was handled.
      await().atMost(Duration.ofSeconds(10)).until(() -> broker.pubSubMetrics().received() == received.size());
      Scrape s = Scrape.parse(registry.scrape());
      assertThat(s.value("brook_pubsub_disconnects_total")).isEqualTo(1);
      assertThat(s.value("brook_redis_connection_losses_total")).as("only the Pub/Sub connection").isEqualTo(1);
      assertThat(s.value("brook_pubsub_downtime_seconds_total")).isPositive();
      assertThat(s.value("brook_pubsub_received_total")).isEqualTo(received.size());
    }
  }

  @Test
  void fastStreamNamesCloseToo() {
    Workload w = new Workload(broker);
    try (BrookMetrics metrics = BrookMetrics.builder(registry).fastStreamNames().bindTo(broker)) {
      broker.start();
      w.run(broker);
      assertThat(registry.scrape()).contains("faststream_received_messages_total{app_name=\"faststream\"");
    }
    assertThat(registry.getMeters()).isEmpty();
  }
}
