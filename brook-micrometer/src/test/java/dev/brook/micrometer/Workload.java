package dev.brook.micrometer;

import static dev.brook.redis.Redis.channel;
import static dev.brook.redis.Redis.list;
import static dev.brook.redis.Redis.pattern;
import static dev.brook.redis.Redis.stream;
import static org.awaitility.Awaitility.await;

import dev.brook.Subscription;
import dev.brook.redis.RedisBroker;
import java.time.Duration;
import java.util.List;

/**
 * A known workload on a running broker: on channel {@code orders}, {@link #OK} orders handled, {@link
 * #FAILED} failing ({@code IllegalStateException}) and {@link #DECODE_ERRORS} undecodable; two messages on
 * pattern {@code logs.{level}} (channels logs.error and logs.info); one entry on stream {@code events}
 * read by group {@code g1}; one job on list {@code jobs} that fails and is dead-lettered.
 */
final class Workload {

  static final int OK = 3;
  static final int FAILED = 2;
  static final int DECODE_ERRORS = 1;

  record Order(int id) {}

  final Subscription orders;
  final Subscription logs;
  final Subscription events;
  final Subscription jobs;

  /** Registers the subscriptions (call before binding, or after: both are counted). */
  Workload(RedisBroker broker) {
    orders = broker.subscriber(channel("orders")).handle(Order.class, (o, ctx) -> {
      if (o.id() < 0) {
        throw new IllegalStateException("negative order " + o.id());
      }
      return null;
    });
    logs = broker.subscriber(pattern("logs.{level}")).handle(String.class, (s, ctx) -> null);
    events = broker.subscriber(stream("events").group("g1")).handle(String.class, (s, ctx) -> null);
    jobs = broker.subscriber(list("jobs")).handle(String.class, (s, ctx) -> {
      throw new IllegalArgumentException("bad job");
    });
  }

  private int rounds;

  /** Publishes everything and waits until every message was processed (each run adds the same counts). */
  void run(RedisBroker broker) {
    int n = ++rounds;
    for (int i = 1; i <= OK; i++) {
      broker.publish(new Order(i), channel("orders"));
    }
    for (int i = 1; i <= FAILED; i++) {
      broker.publish(new Order(-i), channel("orders"));
    }
    for (int i = 0; i < DECODE_ERRORS; i++) {
      broker.publish("not an order", channel("orders"));
    }
    broker.publish("boom", channel("logs.error"));
    broker.publish("fine", channel("logs.info"));
    broker.publish("created", stream("events"));
    broker.publish("job", list("jobs"));
    await().atMost(Duration.ofSeconds(10)).until(() -> done(orders) == n * (OK + FAILED + DECODE_ERRORS)
        && done(logs) == 2 * n && done(events) == n && done(jobs) == n
        && orders.metrics().rejected() == n * (FAILED + DECODE_ERRORS) && jobs.metrics().rejected() == n);
  }

  static long done(Subscription s) {
    var m = s.metrics();
    return m.handled() + m.failed() + m.decodeErrors();
  }

  List<Subscription> all() {
    return List.of(orders, logs, events, jobs);
  }
}
