package dev.brook.micrometer;

import dev.brook.Broker;
import dev.brook.MessageContext;
import dev.brook.Middleware;
import dev.brook.Subscription;
import dev.brook.SubscriptionMetrics;
import dev.brook.redis.PubSubMetrics;
import dev.brook.redis.RedisBroker;
import dev.brook.spi.Brokers;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.ToDoubleFunction;

/**
 * A broker's meters in a Micrometer {@link MeterRegistry}: the messages its subscriptions process and
 * the messages it sends, named by the OpenTelemetry semantic conventions for messaging (or, with {@link
 * Builder#fastStreamNames()}, by FastStream's Prometheus middleware), and Brook's own counters —
 * handlers in flight, received, handled, failed, decode errors, dropped, rejected (dead-lettered),
 * redelivered, request timeouts and late replies, connection losses (reconnects), Pub/Sub gaps. docs/observability.md
 * lists every meter, its tags and when to alert on it.
 *
 * <pre>{@code
 * try (BrookMetrics metrics = BrookMetrics.bind(broker, registry)) {   // or builder(registry)...bindTo(broker)
 *   broker.start();
 *   ...
 * }
 * }</pre>
 *
 * <p><b>How.</b> Binding adds one broker {@link Middleware} (so every subscription, router and
 * publisher of the broker passes it, from their next message on) and registers Brook's counters as
 * function counters and gauges that read {@link Subscription#metrics()}, {@link
 * Broker#requestMetrics()} and {@link RedisBroker#pubSubMetrics()} when the registry is scraped. The
 * backlog gauges (list length, processing list, stream lag and pending entries, dead letters; {@link
 * Builder#backlogInterval}) are refreshed from {@link RedisBroker#backlog} by one daemon thread of the
 * binding every 15 s by default, so a scrape never waits for Redis. A
 * message costs a few counter increments and one timer record; a broker without a binding pays
 * nothing. Replies to the broker's own requests are not counted as processed messages.
 *
 * <p><b>Cardinality.</b> Tags are bounded: a pattern subscription is tagged with its template
 * ({@code logs.{level}}), never the channel a message came on; a failure with the failure's class; a
 * reply to a request (sent to the requester's own channel) with the destination {@code (temporary)}.
 *
 * <p><b>Lifecycle.</b> {@link #close()} stops the backlog thread, removes the middleware from the broker
 * and every meter this binding registered from the registry; nothing of it stays reachable from either.
 * (Closing the broker first also ends the backlog thread, at its next refresh.) Bind once per broker
 * and registry. Thread-safe.
 */
public final class BrookMetrics implements AutoCloseable {

  /** Function counter: messages a subscription took from Redis. */
  public static final String RECEIVED = "brook.subscription.received";
  /** Function counter: messages whose handler returned normally. */
  public static final String HANDLED = "brook.subscription.handled";
  /** Function counter: messages whose handler threw. */
  public static final String FAILED = "brook.subscription.failed";
  /** Function counter: messages that could not be decoded (rejected without calling the handler). */
  public static final String DECODE_ERRORS = "brook.subscription.decode.errors";
  /** Function counter: messages dropped by a full buffer or a stop (at-most-once destinations). */
  public static final String DROPPED = "brook.subscription.dropped";
  /** Function counter: messages rejected: to the destination's dead letter when it has one, else dropped. */
  public static final String REJECTED = "brook.subscription.rejected";
  /** Counter: messages delivered again (delivery count above 1: after a nack, a crash or a reclaim). */
  public static final String REDELIVERED = "brook.subscription.redelivered";
  /** Gauge: handlers running now. */
  public static final String IN_FLIGHT = "brook.subscription.in.flight";
  /** Gauge: requests waiting for their reply. */
  public static final String REQUESTS_PENDING = "brook.requests.pending";
  /** Function counter: requests that received their reply. */
  public static final String REQUESTS_REPLIED = "brook.requests.replied";
  /** Function counter: requests that timed out. */
  public static final String REQUESTS_TIMEOUTS = "brook.requests.timeouts";
  /** Function counter: replies that arrived after their request had given up (or twice). */
  public static final String REQUESTS_LATE_REPLIES = "brook.requests.late.replies";
  /** Function counter: times one of the broker's Redis connections was lost (each reconnects). */
  public static final String CONNECTION_LOSSES = "brook.redis.connection.losses";
  /** Function counter: messages the shared Pub/Sub connection received. */
  public static final String PUBSUB_RECEIVED = "brook.pubsub.received";
  /** Function counter: times the Pub/Sub connection was lost and came back (reconnects). */
  public static final String PUBSUB_DISCONNECTS = "brook.pubsub.disconnects";
  /** Function counter, seconds: time without the Pub/Sub connection. */
  public static final String PUBSUB_DOWNTIME = "brook.pubsub.downtime";
  /** Function counter: Pub/Sub messages estimated lost while the connection was down. */
  public static final String PUBSUB_ESTIMATED_LOST = "brook.pubsub.estimated.lost";
  /** Backlog gauge: items waiting in a list subscription's list, not yet taken (LLEN). */
  public static final String LIST_LENGTH = "brook.list.length";
  /** Backlog gauge: items a reliable list subscription took and has not settled (its processing list's LLEN). */
  public static final String LIST_PROCESSING = "brook.list.processing";
  /** Backlog gauge: entries in a stream subscription's stream (XLEN). */
  public static final String STREAM_LENGTH = "brook.stream.length";
  /** Backlog gauge: entries added to the stream and not yet read by the subscription's group (NaN when Redis cannot tell). */
  public static final String STREAM_LAG = "brook.stream.lag";
  /** Backlog gauge: entries the group read and has not acknowledged (its pending entries list). */
  public static final String STREAM_PENDING = "brook.stream.pending";
  /** Backlog gauge: the group's pending entries held by this subscription's consumer. */
  public static final String STREAM_CONSUMER_PENDING = "brook.stream.consumer.pending";
  /** Backlog gauge: messages in the destination's dead letter ({@code {key}:dlq}). */
  public static final String DEAD_LETTERS = "brook.dead.letters";

  /** The default of {@link Builder#backlogInterval}. */
  public static final Duration DEFAULT_BACKLOG_INTERVAL = Duration.ofSeconds(15);

  private final Broker broker;
  private final Scheme scheme;
  private final MeterMiddleware middleware = new MeterMiddleware();
  private final ConcurrentHashMap<String, SubState> subscriptions = new ConcurrentHashMap<>();
  private BacklogGauges backlog;
  private volatile boolean closed;

  private BrookMetrics(Broker broker, Scheme scheme) {
    this.broker = broker;
    this.scheme = scheme;
  }

  /** Binds a broker's meters to a registry with the OpenTelemetry names; close the result to unbind. */
  public static BrookMetrics bind(Broker broker, MeterRegistry registry) {
    return builder(registry).bindTo(broker);
  }

  /** Options, then {@link Builder#bindTo}. */
  public static Builder builder(MeterRegistry registry) {
    return new Builder(Objects.requireNonNull(registry, "registry"));
  }

  /** Options of a binding. Not thread-safe; build one binding per broker. */
  public static final class Builder {
    private final MeterRegistry registry;
    private boolean fastStream;
    private String appName = "faststream";
    private Duration backlogInterval = DEFAULT_BACKLOG_INTERVAL;

    private Builder(MeterRegistry registry) {
      this.registry = registry;
    }

    /**
     * Names the message meters as FastStream's {@code PrometheusMiddleware} does ({@code
     * faststream_received_messages_total}, {@code faststream_received_processed_messages_duration_seconds},
     * {@code faststream_published_messages_total}, ... with the labels {@code app_name}, {@code broker},
     * {@code handler}, {@code destination}, {@code status}, {@code exception_type}) instead of the
     * OpenTelemetry names, so that Python and Java services share one dashboard. Brook's own meters
     * ({@code brook.*}) are there either way.
     */
    public Builder fastStreamNames() {
      this.fastStream = true;
      return this;
    }

    /** The {@code app_name} label of FastStream's names; FastStream's default is {@code faststream}. */
    public Builder appName(String appName) {
      this.appName = Objects.requireNonNull(appName, "appName");
      return this;
    }

    /**
     * How often the backlog gauges ({@link #LIST_LENGTH}, {@link #STREAM_LAG}, ...) are refreshed from
     * Redis: default 15 s; {@link Duration#ZERO} turns them off (no gauges, no thread). The figures are read
     * by one daemon thread of the binding ({@code brook-metrics-backlog}), a few commands per List or
     * Stream subscription per refresh, never by the scrape; a gauge shows the last refresh's figure. Only a
     * {@link RedisBroker} has backlog figures.
     */
    public Builder backlogInterval(Duration interval) {
      Objects.requireNonNull(interval, "interval");
      if (interval.isNegative()) {
        throw new IllegalArgumentException("backlogInterval must be positive, or zero to turn the backlog gauges off: "
            + interval);
      }
      this.backlogInterval = interval;
      return this;
    }

    /** Adds the middleware to the broker and registers the broker's meters. */
    public BrookMetrics bindTo(Broker broker) {
      Objects.requireNonNull(broker, "broker");
      Scheme scheme = fastStream ? new FastStreamScheme(registry, appName) : new OtelScheme(registry);
      BrookMetrics metrics = new BrookMetrics(broker, scheme);
      metrics.registerBrokerMeters();
      for (Subscription s : broker.subscriptions()) {
        metrics.state(s);
      }
      broker.middleware(metrics.middleware);
      if (!backlogInterval.isZero() && broker instanceof RedisBroker redis) {
        metrics.backlog = new BacklogGauges(redis, scheme, backlogInterval);
        metrics.backlog.start();
      }
      return metrics;
    }
  }

  /** Removes the middleware from the broker and this binding's meters from the registry. Idempotent. */
  @Override
  public synchronized void close() {
    if (closed) {
      return;
    }
    closed = true;
    Brokers.removeMiddleware(broker, middleware);
    if (backlog != null) {
      backlog.close();
    }
    scheme.removeAll();
    subscriptions.clear();
  }

  @Override
  public String toString() {
    return "BrookMetrics[" + broker + (scheme instanceof FastStreamScheme ? ", FastStream names" : "")
        + (closed ? ", closed" : "") + "]";
  }

  // ---------------------------------------------------------------------------------------------

  /** One subscription's meters: the scheme's, in flight, redelivered. */
  private static final class SubState {
    final Subscription subscription;
    final Scheme.Consumed consumed;
    final AtomicInteger inFlight = new AtomicInteger();
    final Counter redelivered;

    SubState(Subscription subscription, Scheme.Consumed consumed, Counter redelivered) {
      this.subscription = subscription;
      this.consumed = consumed;
      this.redelivered = redelivered;
    }
  }

  /** The subscription's state, made at its first message (or at bind): its meters are registered then. */
  private SubState state(Subscription s) {
    SubState st = subscriptions.get(s.id());
    if (st != null && st.subscription == s) {
      return st;
    }
    return subscriptions.compute(s.id(), (id, old) -> old != null && old.subscription == s ? old : newState(s, old));
  }

  private SubState newState(Subscription s, SubState old) {
    Tags tags = Tags.of("messaging.system", "redis", "messaging.destination.name", Labels.destination(s),
        "messaging.destination.subscription.name", s.id());
    String id = s.id();
    subscriptionCounter(RECEIVED, "Messages taken from Redis", tags, id, SubscriptionMetrics::received);
    subscriptionCounter(HANDLED, "Messages whose handler returned normally", tags, id, SubscriptionMetrics::handled);
    subscriptionCounter(FAILED, "Messages whose handler threw", tags, id, SubscriptionMetrics::failed);
    subscriptionCounter(DECODE_ERRORS, "Messages that could not be decoded", tags, id, SubscriptionMetrics::decodeErrors);
    subscriptionCounter(DROPPED, "Messages dropped by a full buffer or a stop", tags, id, SubscriptionMetrics::dropped);
    subscriptionCounter(REJECTED, "Messages rejected (dead-lettered where the destination has a dead letter)", tags, id,
        SubscriptionMetrics::rejected);
    MeterRegistry registry = scheme.registry;
    Counter redelivered = scheme.track(Counter.builder(REDELIVERED).description("Messages delivered again")
        .tags(tags).register(registry));
    SubState st = new SubState(s, scheme.consumed(s), redelivered);
    // A replacement under the same id keeps the gauge (same tags): it reads whichever state is current.
    scheme.track(Gauge.builder(IN_FLIGHT, this, m -> m.inFlight(id)).description("Handlers running now")
        .tags(tags).register(registry));
    return st;
  }

  private double inFlight(String id) {
    SubState st = subscriptions.get(id);
    return st == null ? 0 : st.inFlight.get();
  }

  /** Reads the live subscription of this id at each scrape (a replacement restarts its counts: a counter reset). */
  private void subscriptionCounter(String name, String description, Tags tags, String id,
      ToDoubleFunction<SubscriptionMetrics> value) {
    scheme.track(FunctionCounter.builder(name, broker, b -> {
      Subscription s = b.subscription(id);
      return s == null ? 0 : value.applyAsDouble(s.metrics());
    }).description(description).tags(tags).register(scheme.registry));
  }

  private void registerBrokerMeters() {
    MeterRegistry registry = scheme.registry;
    Tags tags = Tags.of("messaging.system", "redis");
    scheme.track(Gauge.builder(REQUESTS_PENDING, broker, b -> b.requestMetrics().pending())
        .description("Requests waiting for their reply").tags(tags).register(registry));
    scheme.track(FunctionCounter.builder(REQUESTS_REPLIED, broker, b -> b.requestMetrics().replied())
        .description("Requests that received their reply").tags(tags).register(registry));
    scheme.track(FunctionCounter.builder(REQUESTS_TIMEOUTS, broker, b -> b.requestMetrics().timedOut())
        .description("Requests that timed out").tags(tags).register(registry));
    scheme.track(FunctionCounter.builder(REQUESTS_LATE_REPLIES, broker, b -> b.requestMetrics().lateReplies())
        .description("Replies that matched no waiting request").tags(tags).register(registry));
    if (broker instanceof RedisBroker redis) {
      scheme.track(FunctionCounter.builder(CONNECTION_LOSSES, redis, RedisBroker::connectionLosses)
          .description("Times one of the broker's Redis connections was lost (each reconnects)").tags(tags)
          .register(registry));
      pubSub(PUBSUB_RECEIVED, "Messages the shared Pub/Sub connection received", redis, tags, PubSubMetrics::received, null);
      pubSub(PUBSUB_DISCONNECTS, "Times the Pub/Sub connection was lost and came back", redis, tags,
          PubSubMetrics::disconnects, null);
      pubSub(PUBSUB_DOWNTIME, "Time without the Pub/Sub connection", redis, tags,
          m -> m.downtime().toNanos() / 1e9, "seconds");
      pubSub(PUBSUB_ESTIMATED_LOST, "Pub/Sub messages estimated lost while the connection was down", redis, tags,
          PubSubMetrics::estimatedLost, null);
    }
  }

  private void pubSub(String name, String description, RedisBroker redis, Tags tags,
      ToDoubleFunction<PubSubMetrics> value, String unit) {
    scheme.track(FunctionCounter.builder(name, redis, b -> value.applyAsDouble(b.pubSubMetrics()))
        .description(description).baseUnit(unit).tags(tags).register(scheme.registry));
  }

  /** The broker middleware: times and counts every message and every publish. */
  private final class MeterMiddleware implements Middleware {

    @Override
    public Object consume(ConsumeChain chain) throws Exception {
      Subscription s = chain.subscription();
      if (s == null || closed) {
        return chain.proceed(); // a reply to one of the broker's requests; or a chain built before close
      }
      SubState st = state(s);
      MessageContext ctx = chain.context();
      int count = s.batchSize() == 1 ? 1 : ctx.batchHeaders().size();
      st.consumed.received(count, ctx.body().length);
      if (ctx.deliveryCount() > 1) {
        st.redelivered.increment(count);
      }
      Labels.handling(ctx.replyTo());
      st.inFlight.incrementAndGet();
      long start = System.nanoTime();
      Throwable error = null;
      try {
        return chain.proceed();
      } catch (Throwable t) {
        error = t;
        throw t;
      } finally {
        long nanos = System.nanoTime() - start;
        st.inFlight.decrementAndGet();
        st.consumed.processed(nanos, error, count);
      }
    }

    @Override
    public CompletableFuture<Void> publish(PublishChain chain) {
      if (closed) {
        return chain.proceed(chain.command());
      }
      Scheme.Sent sent = scheme.sent(Labels.sentTo(chain.command().destination()));
      long start = System.nanoTime();
      CompletableFuture<Void> f;
      try {
        f = chain.proceed(chain.command());
      } catch (RuntimeException | Error e) {
        sent.sent(System.nanoTime() - start, e);
        throw e;
      }
      if (f.isDone() && !f.isCompletedExceptionally()) {
        sent.sent(System.nanoTime() - start, null);
        return f;
      }
      // Recorded before the caller sees the outcome, and the outcome passed on as it was.
      CompletableFuture<Void> out = new CompletableFuture<>();
      f.whenComplete((v, e) -> {
        sent.sent(System.nanoTime() - start, e == null ? null
            : e instanceof java.util.concurrent.CompletionException && e.getCause() != null ? e.getCause() : e);
        if (e == null) {
          out.complete(null);
        } else {
          out.completeExceptionally(e);
        }
      });
      return out;
    }
  }
}
