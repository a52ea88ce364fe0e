package dev.brook.redis.internal;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;

/**
 * Where the Redis transport reads the time for its scheduled work — back-offs after failures, when
 * a nacked Stream entry is due again, when to look for idle entries or abandoned lists, the Pub/Sub
 * receive rate — and waits for it. One per transport, the system clock unless a test passes a
 * manual one, on which a wait moves the clock instead of taking time: a test of reclaim or retry
 * timing then runs in microseconds, not in seconds.
 *
 * <p>Deadlines that bound a wait for Redis or for another thread (a stop's join, the confirmation
 * of settlements) stay on the system clock: a manual clock would not move while they wait.
 */
public interface Timing {

  /** The system clock: {@link System#nanoTime()}, {@link System#currentTimeMillis()} and real waits. */
  Timing SYSTEM = new Timing() {
    @Override
    public long nanoTime() {
      return System.nanoTime();
    }

    @Override
    public long currentTimeMillis() {
      return System.currentTimeMillis();
    }

    @Override
    public long awaitNanos(Condition condition, long nanos) throws InterruptedException {
      return condition.awaitNanos(nanos);
    }

    @Override
    public void sleep(long nanos) throws InterruptedException {
      TimeUnit.NANOSECONDS.sleep(nanos);
    }
  };

  /** A monotonic time in nanoseconds, for intervals only (as {@link System#nanoTime()}). */
  long nanoTime();

  /** Wall-clock milliseconds since the epoch, for values other processes read (a heartbeat). */
  long currentTimeMillis();

  /**
   * Waits on {@code condition} (whose lock the caller holds) until signalled or {@code nanos} have
   * passed on this clock, as {@link Condition#awaitNanos}: returns what is left, at most 0 when the
   * time is up.
   */
  long awaitNanos(Condition condition, long nanos) throws InterruptedException;

  /** Waits {@code nanos} on this clock. */
  void sleep(long nanos) throws InterruptedException;
}
