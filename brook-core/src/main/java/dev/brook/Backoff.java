package dev.brook;

import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.ThreadLocalRandom;

/**
 * How long a failed message waits before its next delivery, by attempt: set on a subscription with
 * {@link SubscriberBuilder#retry(Backoff)}. {@link #fixed}, {@link #exponential} (with {@link #max}
 * and {@link #jitter}), or any function of the attempt ({@code attempt -> Duration.ofSeconds(attempt)}).
 * Implementations must be thread-safe and quick: called on a worker for each failed delivery.
 */
@FunctionalInterface
public interface Backoff {

  /**
   * The wait before the delivery after failed attempt {@code attempt} (1 for the first delivery).
   * Zero or negative: deliver again at once.
   */
  Duration delay(long attempt);

  /** The same wait after every attempt. */
  static Backoff fixed(Duration delay) {
    Objects.requireNonNull(delay, "delay");
    return attempt -> delay;
  }

  /** {@code initial}, then multiplied by {@code factor} each attempt: {@code initial * factor^(attempt-1)}. */
  static Backoff exponential(Duration initial, double factor) {
    Objects.requireNonNull(initial, "initial");
    if (!(factor >= 1.0) || Double.isInfinite(factor)) {
      throw new IllegalArgumentException("Backoff.exponential: factor " + factor + " must be at least 1.");
    }
    long base = initial.toNanos();
    return attempt -> {
      double nanos = base * Math.pow(factor, Math.max(0, attempt - 1));
      return Duration.ofNanos(nanos >= Long.MAX_VALUE ? Long.MAX_VALUE : (long) nanos);
    };
  }

  /** This back-off, never longer than {@code max}. */
  default Backoff max(Duration max) {
    Objects.requireNonNull(max, "max");
    Backoff self = this;
    return attempt -> {
      Duration d = self.delay(attempt);
      return d.compareTo(max) > 0 ? max : d;
    };
  }

  /**
   * This back-off spread by up to {@code fraction} either way ({@code 0.2}: 80 % to 120 %), at
   * random, so messages that failed together do not all come back together.
   */
  default Backoff jitter(double fraction) {
    if (!(fraction >= 0 && fraction <= 1)) {
      throw new IllegalArgumentException("Backoff.jitter: fraction " + fraction + " must be between 0 and 1.");
    }
    Backoff self = this;
    return attempt -> {
      long nanos = self.delay(attempt).toNanos();
      double f = 1 + fraction * (ThreadLocalRandom.current().nextDouble() * 2 - 1);
      return Duration.ofNanos((long) (nanos * f));
    };
  }
}
