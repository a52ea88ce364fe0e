package dev.brook;

import dev.brook.internal.DefaultRouter;

/**
 * A group of subscriptions, annotated handlers, publishers and middlewares declared apart from a
 * broker, with a prefix for every destination name; {@link Broker#include(Router)} registers
 * them.
 *
 * <pre>{@code
 * Router billing = Router.withPrefix("billing.");
 * billing.middleware(audit);
 * billing.subscriber(channel("invoices"))                       // reads billing.invoices
 *     .handle(Invoice.class, (invoice, ctx) -> ...);
 * billing.include(new PaymentHandlers());                         // @Subscribe(channel = "payments") → billing.payments
 * Publisher paid = billing.publisher(channel("paid"));            // sends to billing.paid once included
 *
 * Router api = Router.withPrefix("v1.").include(billing);         // nested: v1.billing.invoices
 * broker.include(api);
 * broker.include(api);                                            // again: nothing changes
 * }</pre>
 *
 * <p><b>Names.</b> Every destination declared here or in an included router or handler object gets
 * the prefix in front of its name ({@link Destination#withName}); nested routers put the outer
 * prefix first. {@code publishTo} and {@code @Publish} destinations are prefixed too; a {@code
 * reply_to} is not.
 *
 * <p><b>Including.</b> Including a router registers what it holds at that moment, with the
 * broker's duplicate rules: a declaration whose subscription is still live from an earlier include
 * of this router is left as it is, so including twice is the same as once. Default ids are the
 * prefixed destination key ({@code channel:v1.billing.invoices}) and, for annotated methods, the
 * full prefix followed by {@code ClassName#method}; ids set by hand are kept as written.
 *
 * <p><b>Dynamic routers.</b> What is declared on a router after it was included — a subscriber, a
 * handler object, a nested router, a publisher — is registered at once in every broker the router
 * is included in, with the router's prefix, middlewares and options, and starts right away when
 * that broker runs (FastStream's dynamic subscribers on an included router). The broker's {@link
 * DuplicatePolicy} applies as for {@code broker.subscriber}: a subscriber re-declared under the
 * same id replaces the live one (and the older declaration leaves the router) or is rejected, and
 * then it is not added to the router at all. Middlewares added after an include apply to what is
 * declared after them.
 *
 * <p><b>Several brokers.</b> A router may be included in several brokers; each registers it on its
 * own (one live subscription per id and broker) and each later declaration goes to all of them.
 * The {@link Subscription} handles and publishers follow the broker of the latest include. A
 * broker's close releases the router: declarations made after it go only to brokers still open.
 *
 * <p><b>Middlewares</b> added here run for the router's subscriptions and publishers, after the
 * broker's and, for a nested router, after the outer router's; see {@link Middleware}.
 *
 * <p>A router is a declaration, not a resource: it holds no connection and needs no closing.
 * Thread-safe: declarations, includes and broker start, stop and close may race; each declaration
 * is registered exactly once per broker it is included in.
 */
public interface Router {

  /** A router whose destination names all begin with {@code prefix} (may be empty). */
  static Router withPrefix(String prefix) {
    return new DefaultRouter(prefix);
  }

  /** The prefix given to {@link #withPrefix}. */
  String prefix();

  /**
   * Declares a subscription: options as on a broker, then {@code handle(...)}. The {@link
   * Subscription} that {@code handle} returns stands for the declaration: before the router is
   * included it is {@code REGISTERED} and its {@code start}, {@code stop} and {@code close} throw;
   * afterwards it acts on the live subscription in the broker the router was last included in.
   * Declared on a router that is included already, it is registered there at once (see "Dynamic
   * routers" above).
   */
  SubscriberBuilder subscriber(Destination destination);

  /** Adds every {@link Subscribe @Subscribe} method of this object; checked when the router is included. */
  Router include(Object handlers);

  /** Nests another router: its names get this router's prefix in front, its middlewares run after this one's. */
  Router include(Router router);

  /**
   * A publisher to the prefixed destination. It sends through the broker this router was last
   * included in (directly or through a parent) and fails before that.
   */
  Publisher publisher(Destination destination);

  /** Adds middlewares for every subscription and publisher of this router (and nested ones), in order. */
  Router middleware(Middleware... middlewares);

  /**
   * The ack policy of this router's subscriptions (and nested routers') that set none themselves;
   * a nested router's own default wins over this one, and this one over the broker's. A default
   * on subscriptions with nothing to acknowledge (channels) has no effect and logs nothing.
   */
  Router ackPolicy(AckPolicy policy);

  /**
   * The {@link MessageParser} of this router's subscriptions (and nested routers') that set none
   * themselves; a nested router's wins over this one, and this one over the broker's.
   */
  Router parser(MessageParser parser);

  /**
   * The {@link MessageDecoder} of this router's subscriptions (and nested routers') that set none
   * themselves; a nested router's wins over this one, and this one over the broker's.
   */
  Router decoder(MessageDecoder decoder);
}
