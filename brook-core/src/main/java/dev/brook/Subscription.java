package dev.brook;

/**
 * One handler bound to one destination under one id: the unit Brook starts, stops and closes.
 *
 * <p>Lifecycle: {@code REGISTERED → RUNNING ⇄ STOPPED → CLOSED}. {@link #start()} and {@link
 * #stop()} are idempotent and a subscription never runs two consume loops. {@link #close()} is
 * final and releases everything the subscription holds: its consume loop and worker threads, its
 * share of the broker's Redis subscription (UNSUBSCRIBE when no other subscription needs the
 * channel) and its registry entry. All methods are thread-safe.
 */
public interface Subscription extends AutoCloseable {

  /** The subscription's states; see the class comment for the transitions. */
  enum State {
    /** Registered on a broker that has not started it yet. */
    REGISTERED,
    /** Receiving and handling messages. */
    RUNNING,
    /** Stopped by {@link #stop()} or {@link Broker#stop()}; can be started again. */
    STOPPED,
    /** Closed: unregistered and released. Final. */
    CLOSED
  }

  /** The id: set with {@code .id(...)} or, by default, the destination's key such as {@code channel:orders}. */
  String id();

  /** The destination this subscription reads. */
  Destination destination();

  State state();

  /** The declared payload type the handler receives (for a batch subscription, the item type). */
  java.lang.reflect.Type payloadType();

  /** Where the handler's return value is published; empty when nowhere. */
  java.util.List<Destination> publishTo();

  /** When messages are acknowledged (meaningful where {@link Destination#atLeastOnce()}). */
  AckPolicy ackPolicy();

  /** Messages per handler call: 1, or the maximum of a batch subscription. */
  int batchSize();

  /**
   * Starts receiving (connecting the broker if needed). Idempotent: starting a running
   * subscription does nothing.
   *
   * @throws IllegalStateException when the subscription is closed
   */
  void start();

  /**
   * Stops taking new messages and waits, up to the broker's graceful timeout, for handlers in
   * flight and for messages already received to finish. Idempotent. A subscription stopped here
   * stays stopped when the broker is started again; start it with {@link #start()}.
   */
  void stop();

  /** Stops, then unregisters and releases everything this subscription holds. Idempotent. */
  @Override
  void close();

  /** Counters since registration; a snapshot, cheap to take. */
  SubscriptionMetrics metrics();
}
