package dev.brook.micrometer;

import static dev.brook.redis.Redis.channel;
import static dev.brook.redis.Redis.list;
import static dev.brook.redis.Redis.stream;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.brook.Subscription;
import dev.brook.redis.RedisBroker;
import dev.brook.testing.RedisServer;
import dev.brook.testing.TestRedisBroker;
import dev.brook.testing.WithRedisServer;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.time.Duration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The backlog gauges: exact figures from a private redis-server and from the test broker, refreshed off the scrape. */
@WithRedisServer
class BacklogGaugesTest {

  private static final Duration FAST = Duration.ofMillis(50);
  private static final String SUB = "messaging_destination_subscription_name";

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

  private BrookMetrics bind(boolean fastStream) {
    BrookMetrics.Builder b = BrookMetrics.builder(registry).backlogInterval(FAST);
    return (fastStream ? b.fastStreamNames() : b).bindTo(broker);
  }

  private double gauge(String name, String subscription) {
    Gauge g = registry.find(name).tag("messaging.destination.subscription.name", subscription).gauge();
    return g == null ? -1 : g.value();
  }

  @ParameterizedTest(name = "fastStreamNames={0}")
  @ValueSource(booleans = {false, true})
  void aStoppedListSubscriptionShowsWhatWaits(boolean fastStream) {
    Subscription jobs = broker.subscriber(list("bk-q").deadLetter().consumer("c")).id("jobs")
        .handle(String.class, (s, ctx) -> {
          throw new IllegalArgumentException("bad job");
        });
    broker.subscriber(channel("news")).id("news").handle(String.class, (s, ctx) -> null);
    try (BrookMetrics metrics = bind(fastStream)) {
      broker.start();
      broker.publish("bad", list("bk-q"));
      await().atMost(Duration.ofSeconds(10)).until(() -> jobs.metrics().rejected() == 1);
      jobs.stop();
      for (int i = 0; i < 5; i++) {
        broker.publish("job" + i, list("bk-q"));
      }
      await().atMost(Duration.ofSeconds(10))
          .until(() -> gauge(BrookMetrics.LIST_LENGTH, "jobs") == 5 && gauge(BrookMetrics.DEAD_LETTERS, "jobs") == 1);

      Scrape s = Scrape.parse(registry.scrape());
      String[] tags = {"messaging_system", "redis", "messaging_destination_name", "bk-q", SUB, "jobs",
          "messaging_consumer_group_name", "none"};
      assertThat(s.value("brook_list_length", tags)).isEqualTo(5);
      assertThat(s.value("brook_list_processing", tags)).isZero();
      assertThat(s.value("brook_dead_letters", tags)).isEqualTo(1);
      assertThat(s.find("brook_stream_lag")).isEmpty();
      // Pub/Sub keeps nothing waiting: no backlog series for it.
      assertThat(s.series()).noneMatch(x -> x.name().startsWith("brook_list") && "news".equals(x.labels().get(SUB)));
    }
    assertThat(registry.getMeters()).isEmpty();
    assertThat(backlogThreads()).isZero();
  }

  @Test
  void aStreamGroupShowsLagAndPendingEntries() {
    Subscription events = broker.subscriber(stream("bk-s").group("g").consumer("c")).id("events")
        .handle(String.class, (s, ctx) -> null);
    try (BrookMetrics metrics = bind(false)) {
      broker.start();
      await().atMost(Duration.ofSeconds(10)).until(() -> broker.backlog(events).lag() == 0); // the group exists
      events.stop();
      for (int i = 0; i < 5; i++) {
        broker.publish("e" + i, stream("bk-s"));
      }
      // Two read by consumer c (as if it had crashed holding them), three unread.
      redis.command("XREADGROUP", "GROUP", "g", "c", "COUNT", "2", "STREAMS", "bk-s", ">");
      await().atMost(Duration.ofSeconds(10)).until(() -> gauge(BrookMetrics.STREAM_LAG, "events") == 3
          && gauge(BrookMetrics.STREAM_PENDING, "events") == 2);

      Scrape s = Scrape.parse(registry.scrape());
      String[] tags = {"messaging_destination_name", "bk-s", SUB, "events", "messaging_consumer_group_name", "g"};
      assertThat(s.value("brook_stream_length", tags)).isEqualTo(5);
      assertThat(s.value("brook_stream_lag", tags)).isEqualTo(3);
      assertThat(s.value("brook_stream_pending", tags)).isEqualTo(2);
      assertThat(s.value("brook_stream_consumer_pending", tags)).isEqualTo(2);
      assertThat(s.value("brook_dead_letters", tags)).isZero();
      assertThat(s.find("brook_list_length")).isEmpty();
    }
  }

  @Test
  void aFailedRefreshShowsNaNAndTheNextOneRecoversAndAClosedSubscriptionLosesItsGauges() {
    Subscription jobs = broker.subscriber(list("bk-f")).id("jobs").handle(String.class, (s, ctx) -> null);
    try (BrookMetrics metrics = bind(false)) {
      broker.start();
      jobs.stop();
      broker.publish("one", list("bk-f"));
      await().atMost(Duration.ofSeconds(10)).until(() -> gauge(BrookMetrics.LIST_LENGTH, "jobs") == 1);
      redis.command("DEL", "bk-f");
      redis.command("SET", "bk-f", "not a list"); // LLEN fails with WRONGTYPE
      await().atMost(Duration.ofSeconds(10)).until(() -> Double.isNaN(gauge(BrookMetrics.LIST_LENGTH, "jobs")));
      redis.command("DEL", "bk-f");
      await().atMost(Duration.ofSeconds(10)).until(() -> gauge(BrookMetrics.LIST_LENGTH, "jobs") == 0);
      assertThat(backlogThreads()).isEqualTo(1);

      // A subscription closed (unregistered) loses its series at the next refresh.
      jobs.close();
      await().atMost(Duration.ofSeconds(10)).until(() -> registry.find(BrookMetrics.LIST_LENGTH).gauges().isEmpty());
    }
  }

  @Test
  void theTestBrokerShowsTheSameFigures() {
    Subscription jobs = broker.subscriber(list("bk-q").consumer("c")).id("jobs").handle(String.class, (s, ctx) -> null);
    Subscription events = broker.subscriber(stream("bk-s").group("g").consumer("c")).id("events")
        .handle(String.class, (s, ctx) -> null);
    try (BrookMetrics metrics = bind(true);
        TestRedisBroker test = TestRedisBroker.of(broker)) {
      jobs.stop();
      events.stop();
      for (int i = 0; i < 5; i++) {
        broker.publish("job" + i, list("bk-q"));
      }
      for (int i = 0; i < 3; i++) {
        broker.publish("e" + i, stream("bk-s"));
      }
      await().atMost(Duration.ofSeconds(10)).until(() -> gauge(BrookMetrics.LIST_LENGTH, "jobs") == 5
          && gauge(BrookMetrics.STREAM_LAG, "events") == 3);
      Scrape s = Scrape.parse(registry.scrape());
      assertThat(s.value("brook_list_length", SUB, "jobs")).isEqualTo(5);
      assertThat(s.value("brook_list_processing", SUB, "jobs")).isZero();
      assertThat(s.value("brook_stream_length", SUB, "events")).isEqualTo(3);
      assertThat(s.value("brook_stream_lag", SUB, "events")).isEqualTo(3);
      assertThat(s.value("brook_stream_pending", SUB, "events")).isZero();
    }
  }

  @Test
  void zeroTurnsThemOff() {
    broker.subscriber(list("bk-q")).id("jobs").handle(String.class, (s, ctx) -> null);
    try (BrookMetrics metrics = BrookMetrics.builder(registry).backlogInterval(Duration.ZERO).bindTo(broker)) {
      broker.start();
      assertThat(backlogThreads()).isZero();
      assertThat(registry.find(BrookMetrics.LIST_LENGTH).gauges()).isEmpty();
    }
    assertThatThrownBy(() -> BrookMetrics.builder(registry).backlogInterval(Duration.ofSeconds(-1)))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("zero to turn the backlog gauges off");
  }

  static long backlogThreads() {
    return Thread.getAllStackTraces().keySet().stream()
        .filter(t -> t.getName().equals("brook-metrics-backlog") && t.isAlive()).count();
  }
}
