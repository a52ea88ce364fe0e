package dev.brook;

import java.time.Duration;
import java.time.Instant;
import java.util.Objects;

/**
 * How one message is published beyond its payload and headers: when it becomes visible to
 * consumers ({@link #delay}, {@link #at}) and whether a second publish of the same key is dropped
 * ({@link #dedupKey}). Immutable and thread-safe; combine options with {@link #and}.
 *
 * <p>Not every destination supports every option: on Redis, delays and deduplication work on Lists
 * and Streams (the message waits in a sorted set {@code {name}:delayed} next to the destination and
 * the consumers themselves move it in when it is due); a channel refuses them with an
 * {@link IllegalArgumentException}. See {@code docs/jobs.md}.
 *
 * <p>New options (for job queues: a priority, a key for per-key limits, ...) are added here as
 * another factory and field, combined by {@link #and}.
 */
public final class PublishOptions {

  private static final PublishOptions NONE = new PublishOptions(null, null, null, null);

  private final Duration delay;
  private final Instant at;
  private final String dedupKey;
  private final Duration dedupTtl;

  private PublishOptions(Duration delay, Instant at, String dedupKey, Duration dedupTtl) {
    this.delay = delay;
    this.at = at;
    this.dedupKey = dedupKey;
    this.dedupTtl = dedupTtl;
  }

  /** No option: a plain publish. */
  public static PublishOptions none() {
    return NONE;
  }

  /**
   * Delivers the message no sooner than {@code delay} after the server took it (measured on the
   * server's clock). A zero or negative delay publishes at once.
   */
  public static PublishOptions delay(Duration delay) {
    Objects.requireNonNull(delay, "delay");
    return new PublishOptions(delay, null, null, null);
  }

  /**
   * Delivers the message no sooner than {@code instant} (compared with the server's clock). An
   * instant in the past publishes at once.
   */
  public static PublishOptions at(Instant instant) {
    Objects.requireNonNull(instant, "instant");
    return new PublishOptions(null, instant, null, null);
  }

  /**
   * Drops this publish when another with the same {@code key} on the same destination was taken
   * within {@code ttl} (the first one wins; the result says {@link PublishResult#duplicate()}). The
   * check and the write are one atomic step on the server.
   *
   * @throws IllegalArgumentException when the key is empty or the ttl not positive
   */
  public static PublishOptions dedupKey(String key, Duration ttl) {
    Objects.requireNonNull(key, "key");
    Objects.requireNonNull(ttl, "ttl");
    if (key.isEmpty()) {
      throw new IllegalArgumentException("dedupKey: the key is empty. Give the job's natural key, e.g. \"invoice-42\".");
    }
    if (ttl.isNegative() || ttl.isZero() || ttl.toMillis() == 0) {
      throw new IllegalArgumentException("dedupKey: the ttl " + ttl + " is not positive. Give at least one millisecond.");
    }
    return new PublishOptions(null, null, key, ttl);
  }

  /**
   * These options with the other's added; an option set on both comes from {@code other}. A delay
   * and an instant exclude each other: the one from {@code other} replaces the other.
   */
  public PublishOptions and(PublishOptions other) {
    Objects.requireNonNull(other, "other");
    boolean timed = other.delay != null || other.at != null;
    return new PublishOptions(timed ? other.delay : delay, timed ? other.at : at,
        other.dedupKey != null ? other.dedupKey : dedupKey, other.dedupKey != null ? other.dedupTtl : dedupTtl);
  }

  /** The delay, or null. */
  public Duration delay() {
    return delay;
  }

  /** The instant, or null. */
  public Instant at() {
    return at;
  }

  /** The deduplication key, or null. */
  public String dedupKey() {
    return dedupKey;
  }

  /** How long the deduplication key holds, or null. */
  public Duration dedupTtl() {
    return dedupTtl;
  }

  /** Whether the message is to wait: a positive delay or an instant was given. */
  public boolean isDelayed() {
    return (delay != null && delay.toMillis() > 0) || at != null;
  }

  /** Whether no option is set. */
  public boolean isEmpty() {
    return delay == null && at == null && dedupKey == null;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof PublishOptions p && Objects.equals(delay, p.delay) && Objects.equals(at, p.at)
        && Objects.equals(dedupKey, p.dedupKey) && Objects.equals(dedupTtl, p.dedupTtl);
  }

  @Override
  public int hashCode() {
    return Objects.hash(delay, at, dedupKey, dedupTtl);
  }

  @Override
  public String toString() {
    StringBuilder b = new StringBuilder("PublishOptions[");
    if (delay != null) {
      b.append("delay=").append(delay).append(' ');
    }
    if (at != null) {
      b.append("at=").append(at).append(' ');
    }
    if (dedupKey != null) {
      b.append("dedupKey=").append(dedupKey).append(" ttl=").append(dedupTtl).append(' ');
    }
    return b.toString().strip() + "]";
  }
}
