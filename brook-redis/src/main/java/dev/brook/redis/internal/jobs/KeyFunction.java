package dev.brook.redis.internal.jobs;

import dev.brook.internal.LogText;
import dev.brook.internal.WarnLimit;
import java.util.Collections;
import java.util.Map;
import java.util.function.Function;
import org.slf4j.Logger;

/**
 * The key of a message for a per-key limit ({@code rateLimitPerKey}, {@code concurrencyPerKey}) of
 * one consumer: the header, or the user's function of the headers. A function that throws leaves
 * the message unlimited by key and is logged at most 10 WARN lines a minute (the rest at DEBUG).
 * Loop thread of one consumer.
 */
public final class KeyFunction {

  private final Function<Map<String, String>, String> keyOf;
  private final Logger log;
  private final String destination;
  private final WarnLimit warnings = WarnLimit.perMinute(WarnLimit.DECODE_WARNINGS_PER_MINUTE);

  public KeyFunction(Function<Map<String, String>, String> keyOf, Logger log, String destination) {
    this.keyOf = keyOf;
    this.log = log;
    this.destination = destination;
  }

  /** The key, or null: none, or the function failed. */
  public String of(Map<String, String> headers) {
    try {
      return keyOf.apply(Collections.unmodifiableMap(headers));
    } catch (RuntimeException e) {
      long suppressed = warnings.acquire();
      if (suppressed >= 0) {
        log.warn("The per-key function of {} failed ({}); the message is not limited by key.{}", destination,
            LogText.escape(e.toString()),
            suppressed > 0 ? " " + suppressed + " more failures in the last minute were logged at DEBUG only." : "");
      } else {
        log.debug("The per-key function of {} failed", destination, e);
      }
      return null;
    }
  }
}
