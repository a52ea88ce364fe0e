package dev.brook.redis;

/**
 * What a {@link Schedule} does with ticks that passed while no replica ran it (or while Redis could
 * not be reached). Decided when a replica next looks (its start, or its next tick); with several
 * replicas each missed tick is still fired at most once.
 */
public enum MissedTicks {
  /** Missed ticks are dropped; only ticks reached on time (within a second) fire. The default. */
  SKIP,
  /** The latest missed tick fires once, however many were missed; the rest are dropped. */
  FIRE_ONCE,
  /** Every missed tick fires, oldest first (at most 1,000; older ones are dropped with a WARN). */
  FIRE_ALL
}
