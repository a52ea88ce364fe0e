package dev.brook.internal;

import dev.brook.Destination;
import dev.brook.Middleware;
import java.util.List;

/**
 * Where a publisher sends: a broker's engine, a destination and the middlewares after the
 * broker's. Fixed for a broker's publisher; for a router's, bound (again) each time the router is
 * included, so every publisher made from it, before or after, follows the latest include.
 *
 * <p>Thread-safe: the binding is one immutable snapshot behind a volatile field.
 */
final class PublisherTarget {

  record Bound(BrokerEngine engine, Destination destination, MiddlewareStack stack) {}

  private final Destination declared;
  private final String owner;
  private volatile Bound bound;

  private PublisherTarget(Destination declared, String owner) {
    this.declared = declared;
    this.owner = owner;
  }

  static PublisherTarget of(BrokerEngine engine, Destination destination) {
    PublisherTarget t = new PublisherTarget(destination, null);
    t.bind(engine, destination, List.of());
    return t;
  }

  /** A router's publisher, unbound until the router is included. */
  static PublisherTarget unbound(Destination declared, String routerPrefix) {
    return new PublisherTarget(declared, routerPrefix);
  }

  /** The destination as declared on its router (without the router's prefix). */
  Destination declared() {
    return declared;
  }

  void bind(BrokerEngine engine, Destination destination, List<Middleware> after) {
    bound = new Bound(engine, destination, new MiddlewareStack(MiddlewareStack.NONE, after));
  }

  /** The destination publishes go to (the router's own prefix only, while unbound). */
  Destination destination() {
    Bound b = bound;
    return b != null ? b.destination : declared.withPrefix(owner);
  }

  Bound bound() {
    Bound b = bound;
    if (b == null) {
      throw new IllegalStateException("The publisher to " + declared.withPrefix(owner).key() + " belongs to a router (prefix '"
          + owner + "') that is not included in a broker yet. Call broker.include(router) before publishing.");
    }
    return b;
  }
}
