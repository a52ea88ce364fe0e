package dev.brook;

/**
 * Thrown by a handler (or a middleware) to skip the rest of the message's processing and leave it
 * unsettled, as FastStream's {@code SkipMessage}: Brook neither acknowledges nor rejects it, logs
 * no error and counts no failure (the access log says "skipped"), and publishes nothing. A
 * control-flow signal, not an error; has no stack trace, so throwing it is cheap.
 *
 * <p>Where the message goes: what happens to any unsettled message. On a reliable List it stays in
 * the consumer's processing list and comes back when the consumer stops or restarts (or when
 * another consumer recovers it after the heartbeat lapsed); on a Stream group it stays pending and
 * is claimed again after {@code minIdle}. On Pub/Sub channels and at-most-once destinations it is
 * simply gone. A message already settled ({@code ctx.ack()} before the throw, or {@link
 * AckPolicy#ACK_FIRST}) stays settled.
 */
public class SkipMessage extends RuntimeException {

  public SkipMessage() {
    super("skip", null, false, false);
  }
}
