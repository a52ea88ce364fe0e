package dev.brook.redis.internal.jobs;

import java.time.Duration;

/**
 * The job options of a List or Stream destination: a shared rate limit ({@code rate} messages per
 * {@code perMillis}, 0 for none) and idempotent consumption ({@code idempotentTtl}, null for none).
 * Immutable; {@link #NONE} when no option is set, which the consumers check once at start.
 */
public record JobOptions(int rate, long perMillis, Duration idempotentTtl, String keyHeader, int keyRate, long keyPerMillis) {

  public static final JobOptions NONE = new JobOptions(0, 0, null, null, 0, 0);

  public JobOptions withRate(int rate, Duration per) {
    if (rate < 1) {
      throw new IllegalArgumentException("A rate limit must allow at least 1 message, was " + rate + ".");
    }
    if (per == null || per.toMillis() < 1) {
      throw new IllegalArgumentException("A rate limit's period must be at least 1 ms, was " + per + ".");
    }
    return new JobOptions(rate, per.toMillis(), idempotentTtl, keyHeader, keyRate, keyPerMillis);
  }

  public JobOptions withIdempotent(Duration ttl) {
    if (ttl == null || ttl.toMillis() < 1) {
      throw new IllegalArgumentException("An idempotency window must be at least 1 ms, was " + ttl + ".");
    }
    return new JobOptions(rate, perMillis, ttl, keyHeader, keyRate, keyPerMillis);
  }

  public JobOptions withKeyRate(String header, int rate, Duration per) {
    if (header == null || header.isEmpty()) {
      throw new IllegalArgumentException("rateLimitPerKey needs the name of the header that holds the key.");
    }
    if (rate < 1 || per == null || per.toMillis() < 1) {
      throw new IllegalArgumentException("A per-key rate limit must allow at least 1 message per at least 1 ms, was "
          + rate + " per " + per + ".");
    }
    return new JobOptions(this.rate, perMillis, idempotentTtl, header, rate, per.toMillis());
  }

  public boolean rateLimited() {
    return rate > 0;
  }

  public boolean idempotent() {
    return idempotentTtl != null;
  }
}
