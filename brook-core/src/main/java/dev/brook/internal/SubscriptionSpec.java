package dev.brook.internal;

import dev.brook.AckPolicy;
import dev.brook.Destination;
import dev.brook.Handler;
import dev.brook.Middleware;
import java.lang.reflect.Type;
import java.util.ArrayList;
import java.util.List;

/**
 * Everything declared for one subscription, as a builder, a router or an annotated method hands it
 * to the engine.
 *
 * @param id the id set by hand, or null for the default (the destination's key)
 * @param ackPolicy null when not set (the default, REJECT_ON_ERROR, applies)
 * @param batchSize 0 for a handler of single payloads, else the maximum batch
 * @param middlewares the router's (outer first), then the subscription's own; the broker's are
 *     added in front at run time
 * @param check validates the decoded payload (annotated {@code @Valid}), or null
 * @param origin what declared it (a router entry, an annotated method of one object), or null;
 *     registering a spec whose origin equals the live subscription's changes nothing, which makes
 *     including the same router or object twice the same as once
 * @param publishBatchTo where the items of a Collection result are published, one message each
 * @param noReply true when the subscription never answers a message's {@code reply_to}
 * @param hooks the parser, decoder (the subscription's own, else the innermost router's) and the
 *     routers' default ack policy (applies when {@code ackPolicy} is null); never null
 */
record SubscriptionSpec(String id, Destination destination, Type payloadType, Handler<Object> handler,
    List<Destination> publishTo, int concurrency, AckPolicy ackPolicy, int batchSize, List<Middleware> middlewares,
    PayloadCheck check, Object origin, List<Destination> publishBatchTo, boolean noReply, SubscriptionHooks hooks) {

  /** Without batch publishing, answering {@code reply_to}. */
  SubscriptionSpec(String id, Destination destination, Type payloadType, Handler<Object> handler,
      List<Destination> publishTo, int concurrency, AckPolicy ackPolicy, int batchSize, List<Middleware> middlewares,
      PayloadCheck check, Object origin, SubscriptionHooks hooks) {
    this(id, destination, payloadType, handler, publishTo, concurrency, ackPolicy, batchSize, middlewares, check, origin,
        List.of(), false, hooks);
  }

  /** The id, or the destination's key by default. */
  String effectiveId() {
    return id != null ? id : destination.key();
  }

  /** As declared on a router: names prefixed, the router's middlewares in front, the origin recorded. */
  SubscriptionSpec underRouter(String prefix, List<Middleware> routerMiddlewares, Object origin,
      SubscriptionHooks routerHooks) {
    List<Destination> targets = new ArrayList<>(publishTo.size());
    for (Destination d : publishTo) {
      targets.add(d.withPrefix(prefix));
    }
    List<Destination> batchTargets = new ArrayList<>(publishBatchTo.size());
    for (Destination d : publishBatchTo) {
      batchTargets.add(d.withPrefix(prefix));
    }
    List<Middleware> all = new ArrayList<>(routerMiddlewares);
    all.addAll(middlewares);
    return new SubscriptionSpec(id, destination.withPrefix(prefix), payloadType, handler, List.copyOf(targets), concurrency,
        ackPolicy, batchSize, List.copyOf(all), check, origin, List.copyOf(batchTargets), noReply,
        hooks.orElse(routerHooks));
  }

  /** With what the hooks leave unset taken from a router's. */
  SubscriptionSpec withRouterHooks(SubscriptionHooks routerHooks) {
    return new SubscriptionSpec(id, destination, payloadType, handler, publishTo, concurrency, ackPolicy, batchSize,
        middlewares, check, origin, publishBatchTo, noReply, hooks.orElse(routerHooks));
  }
}
