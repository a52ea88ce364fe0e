package dev.brook.internal;

/**
 * A message the subscription cannot hand to its handler: undecodable payload, failed validation, a
 * missing or unconvertible header. Thrown by a link of the consume chain; the settlement link logs
 * it once (WARN), counts it as a decode error and rejects the message with {@link #reason}. A
 * control-flow signal with no stack trace.
 *
 * <p>The WARN line reads {@code <before> message <id> from <channel> (subscription '<id>')<after>.
 * Skipped|Rejected; the subscription goes on.}
 */
final class BadInput extends RuntimeException {

  private final String before;
  private final String after;
  private final String reason;

  BadInput(String before, String after, String reason, Throwable cause) {
    super(reason, cause, false, false);
    this.before = before;
    this.after = after;
    this.reason = reason;
  }

  /** The line's beginning, such as {@code Cannot decode}. */
  String before() {
    return before;
  }

  /** The line's middle after the subscription, such as {@code  into Order: Unrecognized token}. */
  String after() {
    return after;
  }

  /** One line for the dead letter's {@code x-error} header. */
  String reason() {
    return reason;
  }
}
