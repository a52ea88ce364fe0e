package dev.brook.internal;

import dev.brook.Middleware;
import dev.brook.Router;
import dev.brook.Subscription;
import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.Set;
import java.util.List;
import java.util.Objects;

/**
 * Includes routers and objects with {@code @Subscribe} methods in a broker, and holds the Bean
 * Validation factory their {@code @Valid} handlers need: created at the first, closed with the
 * broker.
 *
 * <p>Thread-safe: including registers through the engine's registry; the factory is guarded by
 * {@code this}.
 */
final class Including {

  private final BrokerEngine engine;
  /** Created at the first {@code @Valid} handler; closed with the engine. Guarded by {@code this}. */
  private BeanValidation validation;
  /** The routers included here, whose attachments to this broker its close releases. Guarded by {@code this}. */
  private final Set<DefaultRouter> routers = Collections.newSetFromMap(new IdentityHashMap<>());

  Including(BrokerEngine engine) {
    this.engine = engine;
  }

  /** Registers every {@code @Subscribe} method of the object, or includes it when it is a router. */
  List<Subscription> include(Object handlers) {
    Objects.requireNonNull(handlers, "handlers");
    if (handlers instanceof Router router) {
      return include(router);
    }
    return includeObject(handlers, "", List.of());
  }

  List<Subscription> include(Router router) {
    Objects.requireNonNull(router, "router");
    engine.ensureOpen("include a router in");
    DefaultRouter r = (DefaultRouter) router;
    synchronized (this) {
      routers.add(r);
    }
    return r.includeInto(engine, "", List.of());
  }

  /** Checks every annotated method first, so a mistake registers none of them. */
  List<Subscription> includeObject(Object handlers, String prefix, List<Middleware> routerMiddlewares) {
    engine.ensureOpen("include handlers in");
    List<SubscriptionSpec> specs = HandlerMethods.specs(engine, handlers, prefix, routerMiddlewares);
    List<Subscription> registered = new ArrayList<>(specs.size());
    for (SubscriptionSpec spec : specs) {
      registered.add(engine.registry().register(spec));
    }
    return registered;
  }

  /** Uses the caller's validator (a {@code jakarta.validation.Validator}) for {@code @Valid}; the caller owns it. */
  synchronized void validator(Object validator) {
    this.validation = BeanValidation.of(validator);
  }

  /** The broker's Bean Validation, created on first use; fails with the fix when no provider is present. */
  synchronized BeanValidation validation(String user) {
    if (validation == null) {
      validation = BeanValidation.create(user);
    }
    return validation;
  }

  /** Detaches the routers included here and closes the validation factory, if one was made; the broker's close, once its subscriptions are closed. */
  void close() {
    BeanValidation v;
    List<DefaultRouter> included;
    synchronized (this) {
      v = validation;
      validation = null;
      included = new ArrayList<>(routers);
      routers.clear();
    }
    for (DefaultRouter r : included) {
      r.detach(engine);
    }
    if (v != null) {
      v.close();
    }
  }
}
