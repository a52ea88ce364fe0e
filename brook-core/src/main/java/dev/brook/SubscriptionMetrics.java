package dev.brook;

/**
 * A snapshot of one subscription's counters since it was registered, from {@link
 * Subscription#metrics()}. Its {@code toString()} names every counter.
 *
 * <p>An interface so that Brook can add counters without breaking code that reads these; Brook
 * implements it, applications only read it.
 */
public interface SubscriptionMetrics {

  /** Messages taken from Redis. */
  long received();

  /** Messages whose handler returned normally. */
  long handled();

  /** Messages whose handler threw. */
  long failed();

  /** Messages that could not be decoded into the handler's type (the handler was not called). */
  long decodeErrors();

  /**
   * Messages received but never handled because the buffer was full or the graceful timeout ran out
   * during a stop (at-most-once destinations only).
   */
  long dropped();

  /**
   * Messages rejected, by the ack policy after a failure, as undecodable, or by the handler: moved to
   * the destination's dead letter when it has one (the dead-lettered count), else dropped. A batch
   * counts each of its messages. A nack of a message's last allowed delivery ({@code
   * maxDeliveries}), which dead-letters it, counts too; an entry a Stream group dead-letters at
   * read time because earlier consumers left it unsettled {@code maxDeliveries} times does not (no
   * handler of this subscription saw it).
   */
  default long rejected() {
    return 0;
  }
}
