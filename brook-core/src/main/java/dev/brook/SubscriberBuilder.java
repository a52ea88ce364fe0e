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

  /**
   * Publishes the handler's non-null return value to these destinations (a {@link Response} with its
   * headers and correlation id). May be called more than once.
   */
  SubscriberBuilder publishTo(Destination... destinations);

  /**
   * Publishes the items of the handler's {@code Collection} result (or of a {@link Response}'s
   * collection payload) to these destinations, one message per item, in as few commands as the
   * destination allows (one RPUSH for a List, pipelined XADDs for a Stream): FastStream's {@code
   * publisher(..., batch=True)}. A result that is not a collection is published as one message; an
   * empty collection publishes nothing. May be called more than once.
   */
  SubscriberBuilder publishBatchTo(Destination... destinations);

  /**
   * The subscription never answers a message's {@code reply_to}, neither with the result nor with
   * an error reply (FastStream's {@code no_reply=True}); results still go to {@code publishTo}. A
   * requester waiting for this subscription times out, so another subscriber can answer alone.
   */
  SubscriberBuilder noReply();

  /**
   * How many messages this subscription handles at once, each on its own virtual thread; default
   * 1, which keeps the order of messages.
   */
  SubscriberBuilder concurrency(int maxInFlight);

  /**
   * When messages are acknowledged; by default the router's ({@link Router#ackPolicy}, the
   * innermost that sets one), else the broker's ({@code builder().ackPolicy(...)}), else {@link
   * AckPolicy#REJECT_ON_ERROR}. Only destinations that keep messages until settled (reliable Lists,
   * Stream groups) have anything to acknowledge; setting a policy here on another destination logs
   * one WARN at registration (a router's or broker's default does not).
   */
  SubscriberBuilder ackPolicy(AckPolicy policy);

  /**
   * Reads this subscription's raw messages into headers and body (FastStream's {@code parser=}),
   * instead of the router's or the broker's parser; see {@link MessageParser}. Set at most once.
   */
  SubscriberBuilder parser(MessageParser parser);

  /**
   * Decodes this subscription's messages into the handler's type (FastStream's {@code decoder=}),
   * instead of the router's or the broker's decoder; see {@link MessageDecoder}. Set at most once.
   */
  SubscriberBuilder decoder(MessageDecoder decoder);

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

  /**
   * Interrupts the handler's thread when it runs longer than {@code timeout} for one message (or
   * batch) and fails the message with {@link HandlerTimeoutException}, which the {@link AckPolicy}
   * settles as any failure (a nack retries it, a reject dead-letters it). The handler must stop when
   * interrupted (blocking calls throw; a loop checks {@code Thread.interrupted()}); the worker goes
   * on with the next message with its interrupt cleared. Runs around the handler, inside the
   * middlewares; costs one virtual thread per message while set.
   *
   * @throws IllegalArgumentException when the timeout is not positive
   */
  SubscriberBuilder timeout(java.time.Duration timeout);

  /**
   * Retries a message whose handler failed after the back-off for its attempt, up to the
   * destination's {@code maxDeliveries}, after which it is dead-lettered: a failure is settled as a
   * nack (whatever the {@link AckPolicy} says for failures; a {@link RejectMessage} or bad input
   * still rejects). On a reliable List the message waits in the List's delayed set (see {@code
   * PublishOptions.delay}) with its attempt in the {@code x-deliveries} header and the error in
   * {@code x-last-error}; on a Stream group it stays pending and is claimed again when due.
   */
  SubscriberBuilder retry(Backoff backoff);

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
