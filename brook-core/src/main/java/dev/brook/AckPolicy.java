package dev.brook;

/**
 * When a subscription acknowledges a message, named as in FastStream. Matters for destinations
 * that keep messages until acknowledged (reliable Lists, Streams with a consumer group); on
 * Pub/Sub channels, at-most-once Lists and Streams without a group every policy is a no-op.
 *
 * <p>Whatever the policy, a handler may settle the message itself with {@link
 * MessageContext#ack()}, {@link MessageContext#nack()} or {@link MessageContext#reject()}, or by
 * throwing {@link AckMessage}, {@link NackMessage} or {@link RejectMessage}; {@link SkipMessage}
 * leaves it unsettled and {@link StopConsume} settles it as a return, then stops the subscription.
 * A pull subscription's caller settles through {@link Message}. A message that cannot
 * be decoded is always rejected (dead-lettered where a dead letter is configured).
 */
public enum AckPolicy {

  /** Acknowledge on receipt, before the handler runs: at-most-once. */
  ACK_FIRST,

  /** Acknowledge after the handler, whether it returned or threw. */
  ACK,

  /**
   * Acknowledge when the handler returns; reject (dead-letter or drop) when it throws. The default
   * for Streams with groups and reliable Lists.
   */
  REJECT_ON_ERROR,

  /** Acknowledge when the handler returns; nack (deliver again later) when it throws. */
  NACK_ON_ERROR,

  /** Brook never settles the message; the handler calls {@code ctx.ack()}, {@code ctx.nack()} or {@code ctx.reject()}. */
  MANUAL
}
