package dev.brook.internal;

import dev.brook.AckPolicy;
import dev.brook.Destination;
import dev.brook.Subscription;
import dev.brook.SubscriptionMetrics;
import java.lang.reflect.Type;
import java.util.List;

/**
 * What {@code router.subscriber(...).handle(...)} returns: the declaration, and once the router is
 * included, the live subscription it became in the broker of the latest include. Thread-safe.
 */
final class RouterSubscription implements Subscription {

  private final SubscriptionSpec spec;
  private final String prefix;
  private volatile Subscription live;

  RouterSubscription(SubscriptionSpec spec, String prefix) {
    this.spec = spec;
    this.prefix = prefix;
  }

  void bind(Subscription subscription) {
    live = subscription;
  }

  /**
   * The subscription a handle stands for: a router's handle resolves to the live subscription it
   * is bound to (in the broker of the latest include), or to itself before any include; any other
   * subscription is itself.
   */
  static Subscription resolve(Subscription handle) {
    return handle instanceof RouterSubscription r && r.live != null ? r.live : handle;
  }

  private Subscription live(String action) {
    Subscription s = live;
    if (s == null) {
      throw new IllegalStateException("Cannot " + action + " subscription '" + id() + "': it is declared on a router "
          + "that is not included in a broker yet. Call broker.include(router) first.");
    }
    return s;
  }

  @Override
  public String id() {
    Subscription s = live;
    if (s != null) return s.id();
    return spec.id() != null ? spec.id() : spec.destination().withPrefix(prefix).key();
  }

  @Override
  public Destination destination() {
    Subscription s = live;
    return s != null ? s.destination() : spec.destination().withPrefix(prefix);
  }

  @Override
  public State state() {
    Subscription s = live;
    return s != null ? s.state() : State.REGISTERED;
  }

  @Override
  public Type payloadType() {
    return spec.payloadType();
  }

  @Override
  public List<Destination> publishTo() {
    Subscription s = live;
    return s != null ? s.publishTo() : spec.publishTo();
  }

  @Override
  public AckPolicy ackPolicy() {
    Subscription s = live;
    if (s != null) {
      return s.ackPolicy();
    }
    return spec.ackPolicy() != null ? spec.ackPolicy() : AckPolicy.REJECT_ON_ERROR;
  }

  @Override
  public int batchSize() {
    return Math.max(1, spec.batchSize());
  }

  @Override
  public void start() {
    live("start").start();
  }

  @Override
  public void stop() {
    live("stop").stop();
  }

  @Override
  public void close() {
    live("close").close();
  }

  @Override
  public SubscriptionMetrics metrics() {
    Subscription s = live;
    return s != null ? s.metrics() : SubscriptionCounters.NONE;
  }

  @Override
  public String toString() {
    Subscription s = live;
    return s != null ? s.toString() : "Subscription[" + id() + " on a router, not included]";
  }
}
