package dev.brook;

/**
 * Thrown by a handler to acknowledge the message whatever the {@link AckPolicy}. A control-flow
 * signal, not an error: Brook never logs it as one. Has no stack trace, so throwing it is cheap.
 */
public class AckMessage extends RuntimeException {

  public AckMessage() {
    super("ack", null, false, false);
  }
}
