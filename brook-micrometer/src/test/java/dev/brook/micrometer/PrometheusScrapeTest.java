package dev.brook.micrometer;

import static dev.brook.micrometer.Workload.DECODE_ERRORS;
import static dev.brook.micrometer.Workload.FAILED;
import static dev.brook.micrometer.Workload.OK;
import static org.assertj.core.api.Assertions.assertThat;

import dev.brook.redis.RedisBroker;
import dev.brook.testing.RedisServer;
import dev.brook.testing.WithRedisServer;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** A known workload on a private redis-server, then the Prometheus exposition holds exactly its counts. */
@WithRedisServer
class PrometheusScrapeTest {

  private RedisBroker broker;
  private PrometheusMeterRegistry registry;

  @BeforeEach
  void open(RedisServer redis) {
    broker = RedisBroker.create(redis.url());
    registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
  }

  @AfterEach
  void close() {
    broker.close();
    registry.close();
  }

  @Test
  void otelNamesCountTheWorkloadExactly() {
    Workload w = new Workload(broker);
    try (BrookMetrics metrics = BrookMetrics.bind(broker, registry)) {
      broker.start();
      w.run(broker);
      Scrape s = Scrape.parse(registry.scrape());

      String consumed = "messaging_client_consumed_messages_total";
      String[] orders = {"messaging_system", "redis", "messaging_operation_name", "process",
          "messaging_destination_name", "orders", "messaging_destination_subscription_name", w.orders.id(),
          "messaging_consumer_group_name", "none"};
      assertThat(s.value(consumed, with(orders, "error_type", "none"))).isEqualTo(OK);
      assertThat(s.value(consumed, with(orders, "error_type", "java.lang.IllegalStateException"))).isEqualTo(FAILED);
      assertThat(s.value(consumed, with(orders, "error_type", "dev.brook.RejectMessage"))).isEqualTo(DECODE_ERRORS);
      assertThat(s.find(consumed, "messaging_destination_name", "orders")).hasSize(3);
      assertThat(s.value("messaging_process_duration_seconds_count", with(orders, "error_type", "none"))).isEqualTo(OK);
      assertThat(s.value("messaging_process_duration_seconds_count",
          with(orders, "error_type", "java.lang.IllegalStateException"))).isEqualTo(FAILED);

      // A pattern subscription is tagged with its template, never the concrete channels.
      assertThat(s.labelValues(consumed, "messaging_destination_name"))
          .containsExactlyInAnyOrder("orders", "logs.{level}", "events", "jobs");
      assertThat(s.value(consumed, "messaging_destination_name", "logs.{level}", "error_type", "none")).isEqualTo(2);
      assertThat(s.value(consumed, "messaging_destination_name", "events", "messaging_consumer_group_name", "g1"))
          .isEqualTo(1);
      assertThat(s.value(consumed, "messaging_destination_name", "jobs",
          "error_type", "java.lang.IllegalArgumentException")).isEqualTo(1);

      String sent = "messaging_client_sent_messages_total";
      assertThat(s.value(sent, "messaging_destination_name", "orders", "messaging_operation_name", "send",
          "messaging_system", "redis", "error_type", "none")).isEqualTo(OK + FAILED + DECODE_ERRORS);
      assertThat(s.value(sent, "messaging_destination_name", "logs.error")).isEqualTo(1);
      assertThat(s.value(sent, "messaging_destination_name", "events")).isEqualTo(1);
      assertThat(s.value("messaging_client_operation_duration_seconds_count", "messaging_destination_name", "orders"))
          .isEqualTo(OK + FAILED + DECODE_ERRORS);

      // Brook's own, read from subscription.metrics() at the scrape.
      String[] sub = {"messaging_destination_subscription_name", w.orders.id()};
      assertThat(s.value("brook_subscription_received_total", sub)).isEqualTo(OK + FAILED + DECODE_ERRORS);
      assertThat(s.value("brook_subscription_handled_total", sub)).isEqualTo(OK);
      assertThat(s.value("brook_subscription_failed_total", sub)).isEqualTo(FAILED);
      assertThat(s.value("brook_subscription_decode_errors_total", sub)).isEqualTo(DECODE_ERRORS);
      assertThat(s.value("brook_subscription_rejected_total", sub)).isEqualTo(FAILED + DECODE_ERRORS);
      assertThat(s.value("brook_subscription_dropped_total", sub)).isZero();
      assertThat(s.value("brook_subscription_redelivered_total", sub)).isZero();
      assertThat(s.value("brook_subscription_in_flight", sub)).isZero();
      assertThat(s.value("brook_subscription_rejected_total", "messaging_destination_subscription_name", w.jobs.id()))
          .as("the failed job went to the dead letter").isEqualTo(1);
      assertThat(s.value("brook_subscription_received_total", "messaging_destination_name", "logs.{level}")).isEqualTo(2);
      assertThat(s.value("brook_requests_pending")).isZero();
      assertThat(s.value("brook_requests_timeouts_total")).isZero();
      assertThat(s.value("brook_requests_late_replies_total")).isZero();
      assertThat(s.value("brook_pubsub_received_total")).isEqualTo(OK + FAILED + DECODE_ERRORS + 2);
      assertThat(s.value("brook_pubsub_disconnects_total")).isZero();
      assertThat(s.value("brook_pubsub_estimated_lost_total")).isZero();
      assertThat(s.value("brook_pubsub_downtime_seconds_total")).isZero();
    }
  }

  @Test
  void fastStreamNamesCountTheWorkloadExactly() {
    Workload w = new Workload(broker);
    try (BrookMetrics metrics = BrookMetrics.builder(registry).fastStreamNames().appName("billing").bindTo(broker)) {
      broker.start();
      w.run(broker);
      Scrape s = Scrape.parse(registry.scrape());

      String[] orders = {"app_name", "billing", "broker", "redis", "handler", "orders"};
      assertThat(s.value("faststream_received_messages_total", orders)).isEqualTo(OK + FAILED + DECODE_ERRORS);
      assertThat(s.value("faststream_received_messages_size_bytes_count", orders)).isEqualTo(OK + FAILED + DECODE_ERRORS);
      assertThat(s.value("faststream_received_messages_size_bytes_bucket", with(orders, "le", "16.0")))
          .as("each order's JSON is at most 16 bytes").isEqualTo(OK + FAILED + DECODE_ERRORS);
      assertThat(s.value("faststream_received_messages_in_process", orders)).isZero();
      String processed = "faststream_received_processed_messages_total";
      assertThat(s.value(processed, with(orders, "status", "acked"))).isEqualTo(OK);
      assertThat(s.value(processed, with(orders, "status", "error"))).isEqualTo(FAILED);
      assertThat(s.value(processed, with(orders, "status", "rejected"))).isEqualTo(DECODE_ERRORS);
      String duration = "faststream_received_processed_messages_duration_seconds";
      assertThat(s.value(duration + "_count", orders)).isEqualTo(OK + FAILED + DECODE_ERRORS);
      assertThat(s.value(duration + "_bucket", with(orders, "le", "+Inf"))).isEqualTo(OK + FAILED + DECODE_ERRORS);
      assertThat(s.find(duration + "_bucket", orders)).extracting(x -> x.labels().get("le")).contains("0.005", "10.0");
      String exceptions = "faststream_received_processed_messages_exceptions_total";
      assertThat(s.value(exceptions, with(orders, "exception_type", "IllegalStateException"))).isEqualTo(FAILED);
      assertThat(s.value(exceptions, with(orders, "exception_type", "RejectMessage"))).isEqualTo(DECODE_ERRORS);
      assertThat(s.labelValues("faststream_received_messages_total", "handler"))
          .containsExactlyInAnyOrder("orders", "logs.{level}", "events", "jobs");
      assertThat(s.value(processed, "handler", "jobs", "status", "error")).isEqualTo(1);

      String published = "faststream_published_messages_total";
      String[] toOrders = {"app_name", "billing", "broker", "redis", "destination", "orders"};
      assertThat(s.value(published, with(toOrders, "status", "success"))).isEqualTo(OK + FAILED + DECODE_ERRORS);
      assertThat(s.value(published, with(toOrders, "status", "error"))).isZero();
      assertThat(s.value("faststream_published_messages_duration_seconds_count", toOrders))
          .isEqualTo(OK + FAILED + DECODE_ERRORS);
      assertThat(s.find("messaging_client_consumed_messages_total")).as("no OpenTelemetry names").isEmpty();
      assertThat(s.value("brook_subscription_decode_errors_total", "messaging_destination_subscription_name",
          w.orders.id())).isEqualTo(DECODE_ERRORS);
    }
  }

  private static String[] with(String[] labels, String key, String value) {
    String[] all = java.util.Arrays.copyOf(labels, labels.length + 2);
    all[labels.length] = key;
    all[labels.length + 1] = value;
    return all;
  }
}
