package dev.brook.redis.internal.jobs;

import java.time.Duration;
import java.util.Map;
import java.util.function.Function;

/**
 * The job options of a List or Stream destination: a shared rate limit ({@code rate} messages per
 * {@code perMillis}, 0 for none), idempotent consumption ({@code idempotentTtl}, null for none),
 * and a per-key limit: the key of a message ({@code keyOf}, from a header named {@code keyHeader}
 * or a function of the headers; null for none) with either a rate ({@code keyRate} per {@code
 * keyPerMillis}) or a concurrency ({@code keyConcurrency}). Immutable; {@link #NONE} when no option
 * is set, which the consumers check once at start.
 */
public record JobOptions(int rate, long perMillis, Duration idempotentTtl, String keyHeader, int keyRate, long keyPerMillis,
    Function<Map<String, String>, String> keyOf, int keyConcurrency) {

  public static final JobOptions NONE = new JobOptions(0, 0, null, null, 0, 0, null, 0);

  public JobOptions withRate(int rate, Duration per) {
    if (rate < 1) {
      throw new IllegalArgumentException("A rate limit must allow at least 1 message, was " + rate + ".");
    }
    if (per == null || per.toMillis() < 1) {
      throw new IllegalArgumentException("A rate limit's period must be at least 1 ms, was " + per + ".");
    }
    return new JobOptions(rate, per.toMillis(), idempotentTtl, keyHeader, keyRate, keyPerMillis, keyOf, keyConcurrency);
  }

  public JobOptions withIdempotent(Duration ttl) {
    if (ttl == null || ttl.toMillis() < 1) {
      throw new IllegalArgumentException("An idempotency window must be at least 1 ms, was " + ttl + ".");
    }
    return new JobOptions(rate, perMillis, ttl, keyHeader, keyRate, keyPerMillis, keyOf, keyConcurrency);
  }

  /** A per-key rate limit; {@code header} null when {@code keyOf} is the caller's own function. */
  public JobOptions withKeyRate(String header, Function<Map<String, String>, String> keyOf, int rate, Duration per) {
    checkKey(header, keyOf, "rateLimitPerKey");
    if (keyConcurrency > 0) {
      throw new IllegalArgumentException("rateLimitPerKey and concurrencyPerKey cannot be combined on one destination "
          + "(both park a key's messages in its waiting list, with different wake-ups). Choose one, or combine "
          + "concurrencyPerKey with the shared rateLimit.");
    }
    if (rate < 1 || per == null || per.toMillis() < 1) {
      throw new IllegalArgumentException("A per-key rate limit must allow at least 1 message per at least 1 ms, was "
          + rate + " per " + per + ".");
    }
    return new JobOptions(this.rate, perMillis, idempotentTtl, header, rate, per.toMillis(), keyOf(header, keyOf), 0);
  }

  /** A per-key concurrency limit; {@code header} null when {@code keyOf} is the caller's own function. */
  public JobOptions withKeyConcurrency(String header, Function<Map<String, String>, String> keyOf, int max) {
    checkKey(header, keyOf, "concurrencyPerKey");
    if (keyRate > 0) {
      throw new IllegalArgumentException("concurrencyPerKey and rateLimitPerKey cannot be combined on one destination "
          + "(both park a key's messages in its waiting list, with different wake-ups). Choose one, or combine "
          + "concurrencyPerKey with the shared rateLimit.");
    }
    if (max < 1) {
      throw new IllegalArgumentException("concurrencyPerKey must allow at least 1 message of a key at a time, was " + max + ".");
    }
    return new JobOptions(rate, perMillis, idempotentTtl, header, 0, 0, keyOf(header, keyOf), max);
  }

  private static void checkKey(String header, Function<Map<String, String>, String> keyOf, String option) {
    if (keyOf == null && (header == null || header.isEmpty())) {
      throw new IllegalArgumentException(option + " needs the name of the header that holds the key, or a function "
          + "of the headers that returns it.");
    }
  }

  private static Function<Map<String, String>, String> keyOf(String header, Function<Map<String, String>, String> keyOf) {
    return keyOf != null ? keyOf : new HeaderKey(header);
  }

  /** The key read from one header: a record, so that two destinations naming the same header are equal. */
  record HeaderKey(String header) implements Function<Map<String, String>, String> {
    @Override
    public String apply(Map<String, String> headers) {
      return headers.get(header);
    }
  }

  public boolean rateLimited() {
    return rate > 0;
  }

  public boolean idempotent() {
    return idempotentTtl != null;
  }

  /** Whether messages are limited per key (by rate or by concurrency). */
  public boolean perKey() {
    return keyOf != null;
  }
}
