package dev.brook;

import java.time.Duration;
import java.util.Collection;
import java.util.Map;
import java.util.concurrent.CompletableFuture;

/**
 * A reusable sender to one destination, with default headers: obtained from {@link
 * Broker#publisher(Destination)} or {@link Router#publisher(Destination)}.
 *
 * <pre>{@code
 * Publisher receipts = broker.publisher(channel("receipts")).withHeader("source", "billing");
 * receipts.publish(new Receipt(42));
 * receipts.publish(new Receipt(43), Map.of("priority", "high"));   // merged with the defaults
 * }</pre>
 *
 * <p>Immutable and thread-safe: share one per destination. It holds no connection of its own and
 * needs no closing; it publishes through its broker (and fails as the broker does once that is
 * closed). Headers given to a call are sent after the defaults and win over a default of the same
 * name. A broker's publishers run the broker's publish-scope {@link Middleware}s; a router's run the
 * broker's, then the router's.
 */
public interface Publisher {

  /** Where this publisher sends (for a router's publisher, with the router's prefix). */
  Destination destination();

  /** The default headers, in order; unmodifiable. */
  Map<String, String> headers();

  /** A publisher to the same destination whose defaults are these headers added to (and overriding) the current ones. */
  Publisher withHeaders(Map<String, String> headers);

  /** A publisher to the same destination with one more default header. */
  default Publisher withHeader(String name, String value) {
    return withHeaders(Map.of(name, value));
  }

  /** Publishes and waits until the server has taken the message. */
  void publish(Object payload);

  /** Publishes with headers in addition to the defaults and waits until the server has taken the message. */
  void publish(Object payload, Map<String, String> headers);

  /** Publishes without waiting; the future completes when the server has taken the message. */
  CompletableFuture<Void> publishAsync(Object payload);

  /** Publishes with headers without waiting. */
  CompletableFuture<Void> publishAsync(Object payload, Map<String, String> headers);

  /**
   * Publishes several payloads, each with the default headers, in as few commands as the
   * destination allows, and waits until the server has taken them all.
   */
  void publishBatch(Collection<?> payloads);

  /**
   * Sends a request with the default headers and waits for the reply; see {@link
   * Broker#request(Object, Destination, Class, Duration)}.
   */
  <R> R request(Object payload, Class<R> replyType, Duration timeout);

  /** Sends a request with the default headers; see {@link Broker#requestAsync}. */
  <R> CompletableFuture<R> requestAsync(Object payload, Class<R> replyType, Duration timeout);

  /**
   * Sends a request with headers in addition to the defaults and waits for the reply; see {@link
   * Broker#request(Object, Destination, Map, Class, Duration)}.
   */
  <R> R request(Object payload, Map<String, String> headers, Class<R> replyType, Duration timeout);

  /** Sends a request with headers in addition to the defaults without waiting; see {@link Broker#requestAsync}. */
  <R> CompletableFuture<R> requestAsync(Object payload, Map<String, String> headers, Class<R> replyType,
      Duration timeout);

  /**
   * Sends a request with headers in addition to the defaults and waits for the whole reply; see
   * {@link Broker#requestMessage}.
   */
  <R> Message<R> requestMessage(Object payload, Map<String, String> headers, Class<R> replyType, Duration timeout);

  /** The whole reply without waiting; see {@link Broker#requestMessageAsync}. */
  <R> CompletableFuture<Message<R>> requestMessageAsync(Object payload, Map<String, String> headers, Class<R> replyType,
      Duration timeout);
}
