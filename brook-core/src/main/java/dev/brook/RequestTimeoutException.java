package dev.brook;

import java.time.Duration;

/**
 * Thrown by {@link Broker#request} (and completes the future of {@link Broker#requestAsync}) when
 * no reply arrived within the timeout. The request is forgotten: a reply that arrives later is
 * dropped and counted in {@link RequestMetrics#lateReplies()}, never handed to another caller.
 */
public final class RequestTimeoutException extends BrookException {

  private final String destination;
  private final Duration timeout;
  private final String correlationId;

  public RequestTimeoutException(String destination, Duration timeout, String correlationId) {
    super("No reply to request " + correlationId + " on " + destination + " within " + format(timeout)
        + ". Check that a subscriber of " + destination + " is running (a FastStream handler that fails sends no "
        + "reply), or give the request more time.");
    this.destination = destination;
    this.timeout = timeout;
    this.correlationId = correlationId;
  }

  /** The request's destination key, such as {@code channel:orders}. */
  public String destination() {
    return destination;
  }

  public Duration timeout() {
    return timeout;
  }

  /** The request's {@code correlation_id} header. */
  public String correlationId() {
    return correlationId;
  }

  /** {@code 250 ms}, {@code 2 s}, {@code 1.5 s}. */
  static String format(Duration d) {
    long ms = d.toMillis();
    if (ms < 1000) {
      return ms + " ms";
    }
    return ms % 1000 == 0 ? (ms / 1000) + " s" : java.math.BigDecimal.valueOf(ms, 3).stripTrailingZeros().toPlainString() + " s";
  }
}
