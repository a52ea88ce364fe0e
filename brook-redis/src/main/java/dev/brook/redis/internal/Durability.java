package dev.brook.redis.internal;

import java.time.Duration;
import java.util.Objects;

/**
 * How many replicas a publish waits for ({@code WAIT replicas timeout} after the write), set on the
 * broker ({@code waitForReplicas}) or on a List or Stream destination. {@link #NONE}: no waiting.
 */
public record Durability(int replicas, Duration timeout) {

  public static final Durability NONE = new Durability(0, Duration.ZERO);

  public Durability {
    Objects.requireNonNull(timeout, "timeout");
  }

  /** Checked: at least 0 replicas; a positive timeout when waiting for any (WAIT 0 would wait for ever). */
  public static Durability of(int replicas, Duration timeout) {
    if (replicas < 0) {
      throw new IllegalArgumentException("waitForReplicas needs 0 or more replicas, was " + replicas + ".");
    }
    if (replicas == 0) {
      return NONE;
    }
    Objects.requireNonNull(timeout, "timeout");
    if (timeout.isNegative() || timeout.isZero()) {
      throw new IllegalArgumentException("waitForReplicas needs a positive timeout (WAIT with 0 would wait for ever), was "
          + timeout + ".");
    }
    return new Durability(replicas, timeout);
  }

  /** Whether a publish waits for anything. */
  public boolean waits() {
    return replicas > 0;
  }
}
