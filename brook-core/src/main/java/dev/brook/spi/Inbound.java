package dev.brook.spi;

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

  /**
   * The value as received, before {@link #frame()} unwraps it: what a {@code MessageParser} reads.
   * Called only when a parser is set, on the worker. The default is the unwrapped payload, for
   * transports that receive no single value.
   */
  default byte[] raw() {
    return frame().payload();
  }

  /**
   * Why this message must not be unwrapped or decoded at all (for example: larger than the
   * broker's maximum message size), or null for a normal message. The subscription then counts it
   * as a decode error, logs the reason and rejects it (the dead letter, where there is one) without
   * decoding it or calling the handler; {@link #frame()} of such a message is empty, so it is not
   * unwrapped either.
   */
  default String unreadable() {
    return null;
  }

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

  /**
   * Removes the message from the server's log, where it outlives settlement (a stream entry); the
   * default, for servers that keep nothing after settlement, does nothing. Blocks until confirmed.
   */
  default void delete() {}

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
   * Deliver again no sooner than {@code delay} (the subscription's {@code retry} back-off); the
   * default ignores the delay and nacks as {@link #nack(String)}, whose own back-off applies.
   */
  default void nack(String reason, java.time.Duration delay) {
    nack(reason);
  }

  /**
   * Give up on it: to the dead letter with the reason where there is one, else drop.
   *
   * @param reason one line for the {@code x-error} header
   * @param error the exception behind it, or null
   */
  default void reject(String reason, Throwable error) {}

  /**
   * Called once when the subscription is done with this message: handled and settled, rejected as
   * unreadable, dropped, or given back. {@code failure} is the handler's or the decoder's exception,
   * or null. For transports that must know (the in-memory test broker waits for it); Redis ignores it.
   * A pull subscription calls it early too, when the message starts waiting for a caller (a test's
   * synchronous publish must not wait for a pull that has not happened yet): act on the first call.
   */
  default void processed(Throwable failure) {}

  /**
   * Never started, or interrupted by a stop: hand it back to Redis untouched, so another consumer or
   * the next start gets it, without counting a failed delivery.
   */
  default void release() {}

  /**
   * Gives several messages of one consumer back at once, in the order they were received;
   * transports override it to keep that order in the server (a List puts them back at its head as
   * they were) and to use one command.
   */
  default void releaseAll(List<? extends Inbound> messages) {
    for (Inbound m : messages) {
      m.release();
    }
  }
}
