package dev.brook;

import java.time.Duration;

/**
 * A handler ran longer than its subscription's {@link SubscriberBuilder#timeout(Duration) timeout}:
 * its thread was interrupted and the message fails with this exception, settled by the
 * subscription's {@link AckPolicy} as any failure (nacked for a retry, or dead-lettered).
 */
public final class HandlerTimeoutException extends BrookException {

  private final Duration timeout;

  public HandlerTimeoutException(String subscriptionId, Duration timeout) {
    super("The handler of subscription '" + subscriptionId + "' ran longer than its timeout of " + timeout
        + " and was interrupted. Make the handler finish sooner (it must stop when interrupted), or raise timeout(...).");
    this.timeout = timeout;
  }

  /** The subscription's timeout. */
  public Duration timeout() {
    return timeout;
  }
}
