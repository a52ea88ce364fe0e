package dev.brook.micrometer;

import dev.brook.Subscription;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/** The OpenTelemetry semantic conventions for messaging: {@code messaging.client.*} and {@code messaging.process.duration}. */
final class OtelScheme extends Scheme {

  static final String CONSUMED = "messaging.client.consumed.messages";
  static final String PROCESS_DURATION = "messaging.process.duration";
  static final String SENT = "messaging.client.sent.messages";
  static final String OPERATION_DURATION = "messaging.client.operation.duration";

  OtelScheme(MeterRegistry registry) {
    super(registry);
  }

  /** A counter and a timer under one set of tags. */
  private record Pair(Counter counter, Timer timer) {
    void record(long nanos, int count) {
      counter.increment(count);
      timer.record(nanos, TimeUnit.NANOSECONDS);
    }
  }

  private Pair pair(String counter, String timer, String counterDescription, String timerDescription, Tags tags) {
    return new Pair(
        track(Counter.builder(counter).description(counterDescription).baseUnit("messages").tags(tags).register(registry)),
        track(Timer.builder(timer).description(timerDescription).tags(tags).register(registry)));
  }

  /** The ok pair, made at once; one pair per failure class, made at its first occurrence. */
  private final class ByError {
    final Tags tags;
    final Pair ok;
    final ConcurrentHashMap<Class<?>, Pair> failed = new ConcurrentHashMap<>();
    final boolean consume;

    ByError(Tags tags, boolean consume) {
      this.tags = tags;
      this.consume = consume;
      this.ok = make(Labels.NONE);
    }

    Pair make(String errorType) {
      Tags t = tags.and("error.type", errorType);
      return consume
          ? pair(CONSUMED, PROCESS_DURATION, "Messages a subscription processed", "How long processing a message took", t)
          : pair(SENT, OPERATION_DURATION, "Messages sent", "How long sending a message took", t);
    }

    Pair of(Throwable error) {
      if (Labels.success(error)) {
        return ok;
      }
      Class<?> c = Labels.errorClass(error);
      Pair p = failed.get(c);
      return p != null ? p : failed.computeIfAbsent(c, k -> make(k.getName()));
    }
  }

  @Override
  Consumed consumed(Subscription s) {
    ByError meters = new ByError(Tags.of(
        "messaging.system", "redis",
        "messaging.operation.name", "process",
        "messaging.destination.name", Labels.destination(s),
        "messaging.destination.subscription.name", s.id(),
        "messaging.consumer.group.name", Labels.group(s)), true);
    return new Consumed() {
      @Override
      public void received(int count, int bytes) {}

      @Override
      public void processed(long nanos, Throwable error, int count) {
        meters.of(error).record(nanos, count);
      }
    };
  }

  @Override
  Sent newSent(String destination) {
    ByError meters = new ByError(Tags.of(
        "messaging.system", "redis",
        "messaging.operation.name", "send",
        "messaging.destination.name", destination), false);
    return (nanos, error) -> meters.of(error).record(nanos, 1);
  }
}
