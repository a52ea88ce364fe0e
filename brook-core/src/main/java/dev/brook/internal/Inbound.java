package dev.brook.internal;

import java.util.List;
import java.util.Map;

/**
 * One received message before decoding. Transports create it on their I/O or consume thread with
 * as little work as possible; {@link #frame()} does the unwrapping and runs on the subscription's
 * worker.
 *
 * <p>Settlement: at-least-once transports (reliable Lists, Stream groups) override {@link #ack()},
 * {@link #nack()}, {@link #reject} and {@link #release()}; the defaults are the no-ops of
 * at-most-once delivery. The engine settles each message at most once.
 */
public interface Inbound {

  /** The concrete channel, list or stream the message came from. */
  String channel();

  /** The server-side id (a stream entry id), or null when the transport has none. */
  String serverId();

  /** Unwraps the wire value into headers and payload; never throws. */
  Frame frame();

  /** Named parts of a pattern channel; empty for other destinations. */
  Map<String, String> pathParams();

  /** True when Redis keeps this message until it is settled, so it can be given back on stop. */
  default boolean atLeastOnce() {
    return false;
  }

  /** How many times it has been delivered, this time included. */
  default long deliveryCount() {
    return 1;
  }

  /** Done: Redis may forget it. */
  default void ack() {}

  /**
   * Settles a batch (all from one consumer) at once; transports override it to acknowledge with
   * one command (one XACK for the batch).
   */
  default void ackAll(List<? extends Inbound> batch) {
    for (Inbound m : batch) {
      m.ack();
    }
  }

  /**
   * Deliver again later.
   *
   * @param reason why, when a handler failed (kept for the dead letter should deliveries run
   *     out), or null
   */
  default void nack(String reason) {}

  /**
   * Give up on it: to the dead letter with the reason where there is one, else drop.
   *
   * @param reason one line for the {@code x-error} header
   * @param error the exception behind it, or null
   */
  default void reject(String reason, Throwable error) {}

  /**
   * Never started (the subscription is stopping): hand it back to Redis untouched, so another
   * consumer or the next start gets it, without counting a failed delivery.
   */
  default void release() {}
}
