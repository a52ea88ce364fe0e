package dev.brook;

import java.time.Duration;
import java.util.Collection;
import java.util.Map;
import java.util.concurrent.CompletableFuture;

/**
 * A connection to a message system, the subscriptions registered on it, and publishing.
 *
 * <p>A broker is an expensive object that owns connections and threads: create one per service
 * and share it; all methods are thread-safe. Whoever creates a broker closes it: {@link #close()}
 * stops every subscription under one shared graceful deadline and then releases every connection
 * and thread the broker started. A closed broker cannot be started again.
 *
 * <p>A broker holds at most one live subscription per id (see {@link DuplicatePolicy}).
 */
public interface Broker extends AutoCloseable {

  /** Begins declaring a subscription on a destination. */
  SubscriberBuilder subscriber(Destination destination);

  /**
   * Connects, then starts every subscription that is registered and not yet started, or that was
   * stopped by {@link #stop()}; never one the user stopped by hand. Idempotent.
   *
   * @throws BrookException when the server cannot be reached, naming the URL and the fix
   * @throws IllegalStateException when the broker is closed
   */
  void start();

  /** Stops every running subscription (they restart with {@link #start()}); connections stay open. */
  void stop();

  /** Publishes and waits until the server has taken the message. */
  void publish(Object payload, Destination destination);

  /** Publishes with headers (sent after Brook's own {@code correlation_id} and {@code content-type}). */
  void publish(Object payload, Destination destination, Map<String, String> headers);

  /** Publishes without waiting; the future completes when the server has taken the message. */
  CompletableFuture<Void> publishAsync(Object payload, Destination destination, Map<String, String> headers);

  /**
   * Publishes several payloads to one destination in as few commands as the destination allows
   * (one RPUSH for a List, pipelined XADDs for a Stream) and waits until Redis has taken them all.
   */
  void publishBatch(java.util.Collection<?> payloads, Destination destination);

  /** A live, unmodifiable view of the registered subscriptions (closed ones leave it). */
  Collection<Subscription> subscriptions();

  /** The live subscription with this id, or null. */
  Subscription subscription(String id);

  /** How long stop and close wait for handlers in flight. */
  Duration gracefulTimeout();

  /** Closes every subscription concurrently under one graceful deadline, then every resource. Idempotent. */
  @Override
  void close();
}
