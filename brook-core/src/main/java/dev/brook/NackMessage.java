package dev.brook;

/**
 * Thrown by a handler to nack the message whatever the {@link AckPolicy}: it is delivered again
 * (requeued on a List, left pending on a Stream) until its destination's delivery limit sends it
 * to the dead letter. A control-flow signal, not an error.
 */
public class NackMessage extends RuntimeException {

  public NackMessage() {
    super("nack", null, false, false);
  }
}
