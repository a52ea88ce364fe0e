package dev.brook;

import java.util.Map;

/**
 * Several publishes sent together, in one round trip: what {@link Broker#pipeline} hands to its
 * callback (FastStream's {@code broker.publish(..., pipeline=...)}). Each {@code publish} only
 * queues the message; when the callback returns, every message passes the broker's publish
 * middlewares and is encoded, then all are written to the server at once (on Redis: one write of
 * all the commands on the command connection), and {@code pipeline} returns once the server has
 * answered every one.
 *
 * <pre>{@code
 * broker.pipeline(p -> p
 *     .publish(order, list("orders"))
 *     .publish(event, stream("events"), Map.of("source", "checkout")));
 * }</pre>
 *
 * <p>A pipeline is not a transaction: when one command fails (say the key holds another type) the
 * others still take effect, and {@code pipeline} throws naming the failure. The messages are sent in
 * the order queued. Valid only during the callback and on its thread; it queues, it never blocks.
 */
public interface Pipeline {

  /** Queues a message for this destination. */
  default Pipeline publish(Object payload, Destination destination) {
    return publish(payload, destination, Map.of());
  }

  /** Queues a message with headers (sent after Brook's own {@code correlation_id} and {@code content-type}). */
  Pipeline publish(Object payload, Destination destination, Map<String, String> headers);

  /** Queues a message with a key (see {@link Broker#publish(Object, Destination, String)}). */
  default Pipeline publish(Object payload, Destination destination, String key) {
    return publish(payload, destination, Map.of(Broker.KEY_HEADER, java.util.Objects.requireNonNull(key, "key")));
  }

  /**
   * Queues several messages for one destination, one per payload (FastStream's {@code publish_batch}
   * with {@code pipeline=}). Messages queued one after another for the same List travel as one RPUSH,
   * so a batch subscriber can receive them together.
   */
  default Pipeline publishBatch(java.util.Collection<?> payloads, Destination destination) {
    for (Object payload : payloads) {
      publish(payload, destination);
    }
    return this;
  }
}
