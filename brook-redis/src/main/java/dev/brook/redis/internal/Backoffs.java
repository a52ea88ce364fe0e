package dev.brook.redis.internal;

import io.lettuce.core.resource.Delay;
import java.time.Duration;

/**
 * The back-off schedules of the Redis transport, as Lettuce {@link Delay}s: attempt {@code n}
 * (from 1) waits {@code createDelay(n)}. They only say how long; {@link Timing} says what a wait
 * is, so a test on a manual clock runs them without waiting.
 */
public final class Backoffs {

  /** A consume loop after a failed read, and a settlement batch Redis did not confirm: 100 ms doubling to 5 s. */
  public static final Delay RETRY = doubling(Duration.ofMillis(100), Duration.ofSeconds(5));

  /** A nacked Stream entry until its consumer claims it again: 100 ms doubling per attempt to 2 s. */
  public static final Delay STREAM_NACK = doubling(Duration.ofMillis(100), Duration.ofSeconds(2));

  /** A nacked List item in the processing list until it goes back to the queue: 100 ms doubling per delivery to 10 s. */
  public static final Delay LIST_NACK = doubling(Duration.ofMillis(100), Duration.ofSeconds(10));

  private Backoffs() {}

  /**
   * {@code first} for attempt 1 (and below), doubling with each attempt up to {@code max}. Lettuce's
   * {@link Delay#exponential} doubles from one unit of time (1, 2, 4 ... ms) and clamps to its
   * bounds, which is not "100 ms, then 200 ms".
   */
  public static Delay doubling(Duration first, Duration max) {
    return new Doubling(first, max);
  }

  private static final class Doubling extends Delay {
    private final Duration first;
    private final Duration max;

    Doubling(Duration first, Duration max) {
      this.first = first;
      this.max = max;
    }

    @Override
    public Duration createDelay(long attempt) {
      long shift = Math.max(0, Math.min(attempt - 1, 62));
      long firstNanos = first.toNanos();
      long maxNanos = max.toNanos();
      // first << shift > max, checked without overflowing.
      return firstNanos > (maxNanos >> shift) ? max : Duration.ofNanos(firstNanos << shift);
    }

    @Override
    public String toString() {
      return first.toMillis() + " ms doubling to " + max.toMillis() + " ms";
    }
  }
}
