package dev.brook;

import java.lang.reflect.Type;
import java.util.function.Predicate;

/**
 * Several handlers on one subscription, each taking the messages its filter accepts, as FastStream's
 * {@code @subscriber(..., filter=...)} on one subscriber. Obtained from {@link
 * SubscriberBuilder#filter}; not thread-safe, use it for one declaration.
 *
 * <pre>{@code
 * broker.subscriber(list("orders"))
 *     .filter(ctx -> "2".equals(ctx.header("version")), OrderV2.class, (o, ctx) -> v2(o))
 *     .filter(ctx -> true, OrderV1.class, (o, ctx) -> v1(o))
 *     .register();
 * }</pre>
 *
 * <p>For each message the filters are tried in the order declared: a filter takes the message when
 * its predicate accepts the {@link MessageContext} (headers, channel, raw body) <em>and</em> the
 * payload decodes into the filter's type; the first that takes it handles it, and the others never
 * see it. A message whose predicates all refused it is acknowledged (whatever the {@link AckPolicy}:
 * no handler will ever settle it), logged at DEBUG on {@code dev.brook.Subscription} and counted in
 * {@link SubscriptionMetrics#dropped()}. A message some predicate accepted but that decoded into none
 * of those filters' types is bad input: rejected to the dead letter with a WARN, as for a single
 * handler. A predicate that throws fails the message as its handler would (settled by the ack
 * policy, counted in {@code failed}), the exception noting which filter's predicate threw. The
 * subscription is one subscription: one id, one consumer, one ack policy; the
 * handlers' results go to its {@code publishTo} destinations. Its middlewares see the raw bytes as
 * the payload (decoding happens per filter, after them), and {@link Subscription#payloadType()} is
 * {@code byte[]}.
 */
public interface FilteredSubscriberBuilder {

  /** Adds a filter and its handler after those declared before. */
  <T> FilteredSubscriberBuilder filter(Predicate<? super MessageContext> when, Class<T> payloadType,
      Handler<? super T> handler);

  /** {@link #filter(Predicate, Class, Handler)} for a generic payload type. */
  <T> FilteredSubscriberBuilder filter(Predicate<? super MessageContext> when, Type payloadType,
      Handler<? super T> handler);

  /**
   * Adds a last handler for every message the filters before left that decodes into {@code
   * payloadType} (FastStream's handler without a filter), and registers the subscription.
   */
  <T> Subscription handle(Class<T> payloadType, Handler<? super T> handler);

  /** {@link #handle(Class, Handler)} for a generic payload type. */
  <T> Subscription handle(Type payloadType, Handler<? super T> handler);

  /** Registers the subscription with the filters declared, and no handler for what they leave. */
  Subscription register();
}
