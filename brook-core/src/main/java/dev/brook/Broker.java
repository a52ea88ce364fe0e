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

  /**
   * Publishes with options — a delay or a due instant, a dedup key (see {@link PublishOptions}) —
   * and waits until the server has taken the message or dropped it as a duplicate, which the
   * result tells. The broker's publish middlewares run as for any publish; the options go with the
   * message they pass on.
   *
   * @throws IllegalArgumentException when the destination does not support an option (on Redis:
   *     delays and dedup keys are for Lists and Streams)
   * @throws BrookException when publishing fails
   */
  PublishResult publish(Object payload, Destination destination, PublishOptions options);

  /** Publishes with headers and options; see {@link #publish(Object, Destination, PublishOptions)}. */
  PublishResult publish(Object payload, Destination destination, Map<String, String> headers, PublishOptions options);

  /**
   * Publishes with headers and options without waiting; the future completes with the result
   * (see {@link #publish(Object, Destination, PublishOptions)}), never on the transport's I/O thread.
   */
  CompletableFuture<PublishResult> publishAsync(Object payload, Destination destination, Map<String, String> headers,
      PublishOptions options);

  /** Publishes without waiting; the future completes when the server has taken the message. */
  CompletableFuture<Void> publishAsync(Object payload, Destination destination, Map<String, String> headers);

  /**
   * Publishes several payloads to one destination in as few commands as the destination allows
   * (one RPUSH for a List, pipelined XADDs for a Stream) and waits until Redis has taken them all.
   */
  void publishBatch(java.util.Collection<?> payloads, Destination destination);

  /**
   * Publishes every message the callback queues on the {@link Pipeline} in one round trip to the
   * server, and waits until the server has answered them all; the broker's publish middlewares run
   * for each message. Nothing is sent when the callback throws or queues nothing.
   *
   * @throws BrookException naming the first command that failed (the others still took effect)
   */
  void pipeline(java.util.function.Consumer<Pipeline> commands);

  /**
   * As {@link #pipeline} without waiting for the server: the callback runs on the caller's thread,
   * and the future completes when the server has answered every message.
   */
  CompletableFuture<Void> pipelineAsync(java.util.function.Consumer<Pipeline> commands);

  /**
   * A reusable publisher to this destination; see {@link Publisher}. Cheap: it holds no resource
   * and needs no closing.
   */
  Publisher publisher(Destination destination);

  /**
   * Sends a request and waits for the reply: publishes {@code payload} to {@code destination} with
   * the headers {@code correlation_id} (new for each request), {@code reply_to} (the broker's
   * reply channel) and {@code x-brook-error-reply} (asking a Brook subscriber to report a failure),
   * then decodes the reply into {@code replyType}. The subscriber's handler replies with the value
   * it returns; a handler that returns null sends an empty reply, which decodes to null.
   *
   * <p>All requests of a broker share one reply channel ({@code brook.reply.<random>}), subscribed
   * at the first request and released by {@link #close()}; replies are matched by correlation id.
   * Works for every destination kind the broker can publish to; the reply always comes back on the
   * reply channel. When several subscribers reply, the first reply wins and the others are counted
   * in {@link RequestMetrics#lateReplies()}. The consume scope of the middlewares the request went
   * out through (the broker's; for a router's publisher the router's too) runs on the reply
   * before the caller gets it (decoded; for a reply, {@link Middleware.ConsumeChain#subscription()}
   * is null), and a payload a middleware passes on is what the caller gets.
   *
   * @throws RequestTimeoutException when no reply arrives within {@code timeout}, naming the
   *     destination and the timeout; the request is forgotten at once, so a late reply is dropped
   * @throws RemoteHandlerException when a Brook subscriber's handler failed on the request (threw,
   *     rejected it, or its payload could not be decoded or validated), naming the error
   * @throws BrookException when publishing fails or the reply cannot be decoded into {@code replyType}
   */
  <R> R request(Object payload, Destination destination, Class<R> replyType, Duration timeout);

  /**
   * Sends a request without waiting; the future completes with the decoded reply, or
   * exceptionally with {@link RequestTimeoutException}, {@link RemoteHandlerException}, a
   * publishing failure or a decoding failure.
   * Cancelling the future forgets the request. Dependent stages without {@code ...Async} run on a
   * Brook worker thread: keep them quick or use the async variants.
   */
  <R> CompletableFuture<R> requestAsync(Object payload, Destination destination, Class<R> replyType, Duration timeout);

  /**
   * Sends a request with headers and waits for the reply; as {@link #request(Object, Destination,
   * Class, Duration)}. A {@code correlation_id} among the headers is kept (else Brook makes one) and
   * matches the reply: while a request with that id waits, another with the same id fails at once
   * with a {@link BrookException}. {@code reply_to} and {@code x-brook-error-reply} are Brook's.
   */
  <R> R request(Object payload, Destination destination, Map<String, String> headers, Class<R> replyType,
      Duration timeout);

  /** Sends a request with headers without waiting; see {@link #request(Object, Destination, Map, Class, Duration)}. */
  <R> CompletableFuture<R> requestAsync(Object payload, Destination destination, Map<String, String> headers,
      Class<R> replyType, Duration timeout);

  /**
   * Sends a request with headers and waits for the whole reply: its payload decoded into {@code
   * replyType} with the reply's headers and correlation id (FastStream's {@code broker.request},
   * which returns the message). A reply needs no settlement: its {@code ack}, {@code nack} and {@code
   * reject} do nothing. Fails as {@link #request(Object, Destination, Map, Class, Duration)} does.
   */
  <R> Message<R> requestMessage(Object payload, Destination destination, Map<String, String> headers,
      Class<R> replyType, Duration timeout);

  /** The whole reply without waiting; see {@link #requestMessage}. */
  <R> CompletableFuture<Message<R>> requestMessageAsync(Object payload, Destination destination,
      Map<String, String> headers, Class<R> replyType, Duration timeout);

  /** Counters of this broker's requests and replies. */
  RequestMetrics requestMetrics();

  /**
   * Registers one subscription for every {@link Subscribe @Subscribe} method of {@code handlers}
   * (its class and superclasses) and returns them sorted by method name. Ids default to {@code
   * ClassName#method}, so including another instance of the same class replaces the earlier
   * subscriptions (under {@link DuplicatePolicy#REPLACE}) rather than stacking them, and including
   * the very same object again changes nothing. A router passed here is included as by {@link
   * #include(Router)}.
   *
   * @throws BrookException naming the method and the fix when a method cannot be a handler (no
   *     or two destinations, a parameter Brook cannot supply, {@code @Valid} without a validator)
   */
  java.util.List<Subscription> include(Object handlers);

  /**
   * Registers everything the router declares (its subscriptions, handlers, nested routers, with
   * their prefixes and middlewares) and binds its publishers to this broker. Including a router
   * again leaves the subscriptions it registered before as they are.
   */
  java.util.List<Subscription> include(Router router);

  /**
   * Adds a middleware for every subscription (also those registered before) and every publish of
   * this broker, after those added earlier; see {@link Middleware} for the order.
   */
  void middleware(Middleware middleware);

  /** A live, unmodifiable view of the registered subscriptions (closed ones leave it). */
  Collection<Subscription> subscriptions();

  /** The live subscription with this id, or null. */
  Subscription subscription(String id);

  /** How long stop and close wait for handlers in flight. */
  Duration gracefulTimeout();

  /**
   * Whether the server answers a PING within {@code timeout} (FastStream's {@code
   * broker.ping(timeout)}), for health checks: false when it does not answer in time, cannot be
   * reached, or the broker has not connected yet (it connects at {@code start()} or its first
   * publish). Never throws for an unreachable server; blocks at most about {@code timeout}. A test
   * broker answers true while it runs.
   *
   * @throws IllegalStateException when this broker is closed
   */
  boolean ping(Duration timeout);

  /**
   * The broker's health with {@link Health.Options#DEFAULT} thresholds (a PING within 1 s, stuck
   * after 60 s, a stream lag of 10,000): UP, DEGRADED or DOWN with the details behind it; see
   * {@link Health} for the rules. For readiness and liveness checks: never throws, also on a closed
   * broker (DOWN); a broker that has not connected yet connects for the check. Blocks about one
   * round trip to the server, plus one per running stream-group subscription (its lag), and at
   * most about the timeout (or the connect timeout, for the first check of a broker that never
   * connected) when the server does not answer.
   */
  Health health();

  /** The broker's health with these thresholds; see {@link #health()}. */
  Health health(Health.Options options);

  /** Closes every subscription concurrently under one graceful deadline, then every resource. Idempotent. */
  @Override
  void close();
}
