package dev.brook.internal;

import dev.brook.RejectMessage;

/**
 * A message the subscription cannot hand to its handler: undecodable payload, failed validation, a
 * missing or unconvertible header. Thrown by a link of the consume chain (or by an annotated
 * handler's argument resolution); the settlement link logs it once (WARN), counts it as a decode
 * error and rejects the message with {@link #reason()}. A {@link RejectMessage}, so middlewares such
 * as {@code ExceptionMiddleware} let it pass as the control signal it is. No stack trace.
 *
 * <p>The WARN line reads {@code <before> message <id> from <channel> (subscription '<id>')<after>.
 * Skipped|Rejected; the subscription goes on.}
 */
final class BadInput extends RejectMessage {

  private final String before;
  private final String after;
  private final Throwable error;

  BadInput(String before, String after, String reason, Throwable error) {
    super(reason);
    this.before = before;
    this.after = after;
    this.error = error;
  }

  /** The line's beginning, such as {@code Cannot decode}. */
  String before() {
    return before;
  }

  /** The line's middle after the subscription, such as {@code  into Order: Unrecognized token}. */
  String after() {
    return after;
  }

  /** The exception behind it, or null. */
  Throwable error() {
    return error;
  }
}
