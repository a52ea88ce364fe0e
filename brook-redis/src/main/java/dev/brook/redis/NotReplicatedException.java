package dev.brook.redis;

import dev.brook.BrookException;

/**
 * A durable publish ({@code waitForReplicas}) that Redis stored but fewer replicas than required
 * acknowledged within the timeout. The message <em>is</em> in Redis: it may still reach the
 * replicas, or be lost if the primary fails first. Publishing it again may store it twice, so
 * retry only what consumers can take twice (Lists and Streams are at-least-once anyway), or check
 * the replicas ({@code INFO replication}) first.
 */
public final class NotReplicatedException extends BrookException {

  private static final long serialVersionUID = 1L;

  private final int acknowledged;
  private final int required;

  public NotReplicatedException(String message, int acknowledged, int required) {
    super(message);
    this.acknowledged = acknowledged;
    this.required = required;
  }

  /** How many replicas acknowledged the write ({@code WAIT}'s answer). */
  public int acknowledged() {
    return acknowledged;
  }

  /** How many were required. */
  public int required() {
    return required;
  }
}
