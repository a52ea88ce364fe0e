package dev.brook.redis;

/**
 * A schedule registered on one broker with {@link RedisBroker#schedule}: its name and timing, and
 * {@link #cancel()} to stop it on this broker (other replicas keep theirs). Thread-safe.
 */
public interface ScheduleHandle {

  /** The name every replica shares; it keys the schedule's state in Redis. */
  String name();

  Schedule schedule();

  /** How many ticks this broker fired (claimed in Redis and published). */
  long fired();

  /** Stops this broker's timer for the schedule; idempotent. A tick being fired finishes. */
  void cancel();

  boolean isCancelled();
}
