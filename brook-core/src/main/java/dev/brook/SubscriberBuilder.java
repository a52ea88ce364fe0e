package dev.brook;

import java.lang.reflect.Type;

/**
 * Declares one subscription: options first, then {@code handle(...)} registers it on the broker
 * and returns it. Obtained from {@link Broker#subscriber(Destination)}; not thread-safe, use one
 * builder per declaration.
 *
 * <pre>{@code
 * Subscription orders = broker.subscriber(channel("orders"))
 *     .publishTo(channel("receipts"))
 *     .handle(Order.class, (order, ctx) -> new Receipt(order.id()));
 * }</pre>
 *
 * <p>Registration follows the broker's {@link DuplicatePolicy} when the id is already live. On a
 * running broker the new subscription starts at once; otherwise it starts with {@link
 * Broker#start()}.
 */
public interface SubscriberBuilder {

  /** The subscription's id; by default the destination's key (e.g. {@code channel:orders}). Set at most once. */
  SubscriberBuilder id(String id);

  /** Publishes the handler's non-null return value to these destinations. May be called more than once. */
  SubscriberBuilder publishTo(Destination... destinations);

  /**
   * How many messages this subscription handles at once, each on its own virtual thread; default
   * 1, which keeps the order of messages.
   */
  SubscriberBuilder concurrency(int maxInFlight);

  /**
   * When messages are acknowledged; default {@link AckPolicy#REJECT_ON_ERROR}. Only destinations
   * that keep messages until settled (reliable Lists, Stream groups) have anything to acknowledge;
   * setting a policy on another destination logs one WARN at registration.
   */
  SubscriberBuilder ackPolicy(AckPolicy policy);

  /**
   * Hands the handler up to {@code maxRecords} messages at once as a {@code List}: what is waiting
   * when the handler is free, never waiting for a batch to fill. Settlement (ack, nack, reject)
   * applies to the whole batch.
   */
  BatchSubscriberBuilder batch(int maxRecords);

  /**
   * Adds middlewares for this subscription only; they run after the broker's and the router's,
   * in the order added (see {@link Middleware}). May be called more than once.
   */
  SubscriberBuilder middleware(Middleware... middlewares);

  /** Registers the handler for payloads of this class. */
  <T> Subscription handle(Class<T> payloadType, Handler<? super T> handler);

  /**
   * Registers the handler for payloads of a generic type, such as {@code List<Order>} obtained
   * from a method parameter or a type token.
   */
  <T> Subscription handle(Type payloadType, Handler<? super T> handler);

  /**
   * Registers a {@link PullSubscription} instead of a handler: the application takes messages with
   * {@code get(timeout)} or iterates over them, as FastStream's {@code get_one} and {@code async
   * for}. Takes the id, ack policy and middlewares set here; {@code publishTo}, {@code concurrency}
   * and {@code batch} do not apply. Declared on a broker only, not on a {@link Router}.
   */
  <T> PullSubscription<T> pull(Class<T> payloadType);

  /** {@link #pull(Class)} for a generic payload type. */
  <T> PullSubscription<T> pull(Type payloadType);

  /**
   * Starts a subscription with several handlers, each for the messages its filter takes (FastStream's
   * {@code filter=}): {@code when} looks at the message's context, and the payload must decode into
   * {@code payloadType}. See {@link FilteredSubscriberBuilder}. Not with {@code batch}.
   */
  <T> FilteredSubscriberBuilder filter(java.util.function.Predicate<? super MessageContext> when,
      Class<T> payloadType, Handler<? super T> handler);

  /** {@link #filter(java.util.function.Predicate, Class, Handler)} for a generic payload type. */
  <T> FilteredSubscriberBuilder filter(java.util.function.Predicate<? super MessageContext> when,
      Type payloadType, Handler<? super T> handler);
}
