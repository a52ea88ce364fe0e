package dev.brook;

/**
 * Thrown by a handler to reject the message whatever the {@link AckPolicy}: it goes to the
 * destination's dead letter where one exists (with the reason in a header), else it is dropped. A
 * control-flow signal, not an error.
 */
public class RejectMessage extends RuntimeException {

  private final String reason;

  public RejectMessage() {
    this("rejected by the handler");
  }

  public RejectMessage(String reason) {
    super("reject: " + reason, null, false, false);
    this.reason = reason;
  }

  /** Why, as written to the dead letter's {@code x-error} header. */
  public String reason() {
    return reason;
  }
}
