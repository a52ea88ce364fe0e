package dev.brook.micrometer;

import dev.brook.Subscription;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;
import java.time.Duration;
import java.util.Arrays;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * FastStream's Prometheus metric set ({@code faststream.prometheus}): the same names, label names and
 * buckets, so that one dashboard reads Python and Java services. Micrometer's Prometheus naming adds the
 * suffixes: a counter {@code faststream.received.messages} is exposed as {@code
 * faststream_received_messages_total}, a timer as {@code ..._seconds}, a summary in bytes as {@code ..._bytes}.
 */
final class FastStreamScheme extends Scheme {

  /** prometheus_client's default histogram buckets, which FastStream's duration histograms use. */
  private static final Duration[] DURATION_BUCKETS = Arrays.stream(
          new double[] {.005, .01, .025, .05, .075, .1, .25, .5, .75, 1, 2.5, 5, 7.5, 10})
      .mapToObj(s -> Duration.ofNanos(Math.round(s * 1e9))).toArray(Duration[]::new);
  /** FastStream's size buckets: 2^4, 2^6, ... 2^24 bytes. */
  private static final double[] SIZE_BUCKETS = {16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216};

  private final String appName;
  private final ConcurrentHashMap<String, AtomicInteger> inProcess = new ConcurrentHashMap<>();

  FastStreamScheme(MeterRegistry registry, String appName) {
    super(registry);
    this.appName = appName;
  }

  private Counter counter(String name, String description, Tags tags) {
    return track(Counter.builder(name).description(description).tags(tags).register(registry));
  }

  private Timer timer(String name, String description, Tags tags) {
    return track(Timer.builder(name).description(description).tags(tags)
        .serviceLevelObjectives(DURATION_BUCKETS).register(registry));
  }

  @Override
  Consumed consumed(Subscription s) {
    String handler = Labels.destination(s);
    Tags tags = Tags.of("app_name", appName, "broker", "redis", "handler", handler);
    Counter received = counter("faststream.received.messages", "Count of received messages by broker and handler", tags);
    DistributionSummary size = track(DistributionSummary.builder("faststream.received.messages.size")
        .description("Histogram of received messages size in bytes by broker and handler").baseUnit("bytes")
        .serviceLevelObjectives(SIZE_BUCKETS).tags(tags).register(registry));
    // One gauge per handler label: two subscriptions of one destination share it, as their series do.
    AtomicInteger inFlight = inProcess.computeIfAbsent(handler, h -> {
      AtomicInteger n = new AtomicInteger();
      track(Gauge.builder("faststream.received.messages.in.process", n, AtomicInteger::get)
          .description("Gauge of received messages in process by broker and handler").tags(tags).strongReference(true)
          .register(registry));
      return n;
    });
    Timer duration = timer("faststream.received.processed.messages.duration",
        "Histogram of received processed messages duration in seconds by broker and handler", tags);
    ConcurrentHashMap<String, Counter> byStatus = new ConcurrentHashMap<>();
    ConcurrentHashMap<String, Counter> exceptions = new ConcurrentHashMap<>();
    Counter acked = counter("faststream.received.processed.messages",
        "Count of received processed messages by broker, handler and status", tags.and("status", "acked"));
    return new Consumed() {
      @Override
      public void received(int count, int bytes) {
        received.increment(count);
        size.record(bytes);
        inFlight.addAndGet(count);
      }

      @Override
      public void processed(long nanos, Throwable error, int count) {
        inFlight.addAndGet(-count);
        duration.record(nanos, TimeUnit.NANOSECONDS);
        String status = Labels.status(error);
        Counter c = status.equals("acked") ? acked : byStatus.computeIfAbsent(status, st -> counter(
            "faststream.received.processed.messages",
            "Count of received processed messages by broker, handler and status", tags.and("status", st)));
        c.increment(count);
        if (Labels.countsAsException(error)) {
          exceptions.computeIfAbsent(Labels.errorClass(error).getSimpleName(), type -> counter(
              "faststream.received.processed.messages.exceptions",
              "Count of received processed messages exceptions by broker, handler and exception_type",
              tags.and("exception_type", type))).increment();
        }
      }
    };
  }

  @Override
  Sent newSent(String destination) {
    Tags tags = Tags.of("app_name", appName, "broker", "redis", "destination", destination);
    Counter success = counter("faststream.published.messages", "Count of published messages by destination and status",
        tags.and("status", "success"));
    Counter failure = counter("faststream.published.messages", "Count of published messages by destination and status",
        tags.and("status", "error"));
    Timer duration = timer("faststream.published.messages.duration",
        "Histogram of published messages duration in seconds by broker and destination", tags);
    ConcurrentHashMap<String, Counter> exceptions = new ConcurrentHashMap<>();
    return (nanos, error) -> {
      duration.record(nanos, TimeUnit.NANOSECONDS);
      if (error == null) {
        success.increment();
      } else {
        failure.increment();
        exceptions.computeIfAbsent(Labels.errorClass(error).getSimpleName(), type -> counter(
            "faststream.published.messages.exceptions",
            "Count of published messages exceptions by broker, destination and exception_type",
            tags.and("exception_type", type))).increment();
      }
    };
  }
}
