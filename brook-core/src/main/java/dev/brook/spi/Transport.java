package dev.brook.spi;

import dev.brook.Destination;
import java.util.concurrent.CompletableFuture;

/**
 * The only code that talks to the message server. A broker's engine owns exactly one transport
 * and closes it last; the in-memory test broker swaps in another implementation.
 *
 * <p>Threading: every method may be called from any thread. {@link Sink#accept} is called on the
 * transport's I/O threads and must return quickly; the engine hands messages to virtual threads.
 */
public interface Transport {

  /**
   * Connects if not yet connected; idempotent and thread-safe.
   *
   * @throws dev.brook.BrookException naming the server (password masked), the cause and the fix
   */
  void connect();

  /**
   * Creates a consumer that delivers the destination's messages to the sink once started.
   *
   * @param subscriptionId the id of the subscription it reads for: a transport that names consumers
   *     in the server (a List's processing list, a Stream group's consumer) derives the default name
   *     from it, so two subscriptions never share one, while a subscription that replaces another
   *     of its id (after the other stopped) takes over what that one left
   */
  Consumer consumer(Destination destination, String subscriptionId, Sink sink);

  /** Sends one message; the future completes when the server has taken it. */
  CompletableFuture<Void> send(Destination destination, Frame frame);

  /**
   * Sends one message with options (a delay, a dedup key); the future completes with what became of
   * it once the server answered. The default sends a message without options and refuses any
   * option: a transport that supports some overrides it.
   *
   * @throws IllegalArgumentException when the destination does not support an option given
   */
  default CompletableFuture<dev.brook.PublishResult> send(Destination destination, Frame frame,
      dev.brook.PublishOptions options) {
    if (!options.isEmpty()) {
      throw new IllegalArgumentException(getClass().getName() + " does not support " + options + " on "
          + destination.key() + ". Publish without options.");
    }
    return send(destination, frame).thenApply(v -> dev.brook.PublishResult.PUBLISHED);
  }

  /** Sends several messages to one destination, in order; transports override it to batch. */
  default CompletableFuture<Void> sendBatch(Destination destination, java.util.List<Frame> frames) {
    CompletableFuture<?>[] all = new CompletableFuture<?>[frames.size()];
    for (int i = 0; i < all.length; i++) {
      all[i] = send(destination, frames.get(i));
    }
    return CompletableFuture.allOf(all);
  }

  /**
   * Sends messages to several destinations together, in order, as one round trip where the server
   * allows (a pipeline); the future completes when the server has answered all, exceptionally with
   * the first failure (the other messages are still sent). The two lists have the same size. A
   * transport may send a run of messages to one destination as one batch ({@link #sendBatch}). The
   * default sends each with {@link #send}.
   */
  default CompletableFuture<Void> sendPipeline(java.util.List<Destination> destinations, java.util.List<Frame> frames) {
    CompletableFuture<?>[] all = new CompletableFuture<?>[frames.size()];
    for (int i = 0; i < all.length; i++) {
      all[i] = send(destinations.get(i), frames.get(i));
    }
    return CompletableFuture.allOf(all);
  }

  /**
   * The destination a reply to a request travels on, by the name the requester put in its {@code
   * reply_to} header: a Pub/Sub channel on Redis. The engine subscribes to one per broker for the
   * replies to its requests, and a subscription publishes its handler's result to the one a message
   * names.
   */
  default Destination replyChannel(String name) {
    throw new UnsupportedOperationException(getClass().getName() + " does not support request/reply.");
  }

  /**
   * Builds the destination an annotation names ({@code @Subscribe}, {@code @Publish}), so the core
   * needs no transport's destination classes and knows none of their rules.
   *
   * @param annotation {@code "@Subscribe"} or {@code "@Publish"}
   * @param attributes the annotation's destination attributes that are set, in declaration order,
   *     such as {@code stream=events, group=billing}
   * @throws IllegalArgumentException when they do not name exactly one destination the transport
   *     has, or an option does not fit its kind; the message continues "{@code @Subscribe on
   *     Orders#on }", e.g. {@code "sets group = \"g\" on a channel: consumer groups are for streams.
   *     Use stream = \"...\", or leave group out."}
   */
  default Destination destination(String annotation, java.util.Map<String, String> attributes) {
    throw new UnsupportedOperationException("names a destination, but " + getClass().getName()
        + " does not support annotated handlers.");
  }

  /**
   * Unwraps a received value as this transport's own format (Redis: Brook's envelope, FastStream's
   * JSON form, else raw bytes): the default parser a {@code MessageParser} is given. Never throws.
   * The default takes the bytes as the payload, with no headers.
   */
  default Frame unwrap(byte[] raw) {
    return new Frame(java.util.Map.of(), raw);
  }

  /**
   * Whether the server answers a PING within {@code timeout} (FastStream's {@code
   * broker.ping(timeout)}): false when it does not or cannot be reached. Never throws; may be
   * called from any thread, connected or not. The default, for a transport without a server, is
   * true.
   */
  default boolean ping(java.time.Duration timeout) {
    return true;
  }

  /**
   * The server's part of {@code Broker.health()}: whether it answers a PING within {@code timeout},
   * how long that took, and whether a connection is being re-established. A transport that has not
   * connected yet may connect for the check. Never throws; may be called from any thread. The
   * default times {@link #ping} and never reports reconnecting.
   */
  default dev.brook.Health.Server health(java.time.Duration timeout) {
    long start = System.nanoTime();
    boolean reachable = ping(timeout);
    return new dev.brook.Health.Server(describe(), reachable,
        reachable ? java.time.Duration.ofNanos(System.nanoTime() - start) : null, false);
  }

  /**
   * For {@code Broker.health()}: how many entries of the destination the subscription's consumer
   * group has not read yet (a Redis stream group's {@code lag}); empty (the default) when the
   * destination has no such figure or the server cannot tell. Asks the server: called only when it
   * answered the health check's PING. May throw; the health check then reports the lag unknown.
   */
  default java.util.OptionalLong lag(Destination destination, String subscriptionId) {
    return java.util.OptionalLong.empty();
  }

  /** The server in text for messages and logs, with any password masked. */
  String describe();

  /**
   * What documentation says about a destination of this transport (see {@link
   * DestinationDescription}, which shows how a new server fills it in). Called by {@code
   * brook-asyncapi} through {@link Brokers#describe}; must not touch the server or any state: the
   * broker need not be connected. The default is {@link DestinationDescription#generic}, a
   * description without bindings; a transport overrides it for every kind it has.
   */
  default DestinationDescription describe(Destination destination) {
    return DestinationDescription.generic(destination);
  }

  /**
   * What documentation says about the server this transport connects to, without any secret;
   * empty (the default) when there is no server to name, as for an in-memory transport. Must not
   * touch the server.
   */
  default java.util.Optional<ServerDescription> describeServer() {
    return java.util.Optional.empty();
  }

  /** Releases every connection and thread. Called once, after every consumer was stopped. */
  void close();

  /** Reads one destination for one subscription. */
  interface Consumer {

    /** Begins delivery to the sink; called at most once between stops. */
    void start();

    /** Ends delivery: once this returns the sink receives nothing more from this consumer. */
    void stop();

    /**
     * Called after the subscription has finished (or given back) every message this consumer
     * delivered; releases what must outlive {@link #stop()} until then, such as a heartbeat.
     */
    default void afterDrain() {}

    /**
     * For {@code Broker.health()}: when this consumer last read from the server, in epoch
     * milliseconds — the current time while a read is in progress (a blocking read that waits for
     * messages is polling). 0 (the default) for a consumer the server pushes to, which never polls.
     * Consumers that poll record it once per read round, never per message.
     */
    default long lastPoll() {
      return 0L;
    }

    /**
     * For {@code Broker.health()}: why this consumer receives nothing now although it runs (a
     * subscription the server dropped and the transport is restoring), naming the destination and
     * what is being done; null (the default) when it is fine. Cheap and non-blocking.
     */
    default String problem() {
      return null;
    }
  }

  /**
   * Where a consumer delivers what it received. {@link #accept} never blocks; consumers of
   * at-least-once destinations call {@link #awaitCapacity} before fetching so that Redis, not the
   * JVM, holds what the subscription cannot take yet.
   */
  interface Sink {
    void accept(Inbound message);

    /**
     * Delivers messages fetched together (in order), so a batch subscription receives them in one
     * batch rather than the first alone.
     */
    default void acceptAll(java.util.List<? extends Inbound> messages) {
      for (Inbound m : messages) {
        accept(m);
      }
    }

    /**
     * Blocks until {@code n} more messages fit; false when the subscription is stopping (the
     * consumer should then stop fetching).
     */
    boolean awaitCapacity(int n) throws InterruptedException;

    /** How many messages fit now without waiting. */
    int room();

    /**
     * Gives back (releases, in the order received) the buffered at-least-once messages that {@code
     * which} selects and no handler has started, and returns how many: for a consumer that stops
     * reading one of several sources while the subscription goes on (a partition of a stream handed
     * to another member), so what it fetched goes back at once instead of being handled first.
     * Messages already taken by a worker are not affected. Atomic for the workers: none takes a
     * selected message while the others are withdrawn, so what goes back is the selection's
     * unstarted tail and a source's order holds. The default withdraws nothing.
     */
    default int withdraw(java.util.function.Predicate<Inbound> which) {
      return 0;
    }
  }
}
