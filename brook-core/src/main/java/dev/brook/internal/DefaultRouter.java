package dev.brook.internal;

import dev.brook.AckPolicy;
import dev.brook.Destination;
import dev.brook.MessageDecoder;
import dev.brook.MessageParser;
import dev.brook.Middleware;
import dev.brook.Publisher;
import dev.brook.Router;
import dev.brook.SubscriberBuilder;
import dev.brook.Subscription;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * A {@link Router}: an ordered list of declarations (subscriptions, handler objects, nested
 * routers, publishers) and middlewares. Nothing is registered until {@link #includeInto}, which
 * walks the list with the full prefix and middleware list of this router's position.
 *
 * <p>Not thread-safe (declarations come from one thread); including reads the lists as they are.
 */
public final class DefaultRouter implements Router {

  private sealed interface Entry permits Declared, Handlers, Child, Pub {}

  /** A subscription declared with {@link #subscriber}: its spec and the view handed to the user. */
  private record Declared(SubscriptionSpec spec, RouterSubscription view) implements Entry {}

  private record Handlers(Object target) implements Entry {}

  private record Child(DefaultRouter router) implements Entry {}

  private record Pub(PublisherTarget target) implements Entry {}

  /**
   * Identifies a declaration at one position (prefix and middlewares): registering a spec with an
   * equal origin over a live subscription that has it changes nothing.
   */
  record Origin(Object declaration, String prefix, List<Middleware> middlewares) {
    @Override
    public boolean equals(Object o) {
      return o instanceof Origin other && other.declaration == declaration && other.prefix.equals(prefix)
          && sameItems(other.middlewares, middlewares);
    }

    @Override
    public int hashCode() {
      return System.identityHashCode(declaration) * 31 + prefix.hashCode();
    }

    private static boolean sameItems(List<Middleware> a, List<Middleware> b) {
      if (a.size() != b.size()) return false;
      for (int i = 0; i < a.size(); i++) {
        if (a.get(i) != b.get(i)) return false;
      }
      return true;
    }
  }

  private final String prefix;
  private final List<Entry> entries = new ArrayList<>();
  private final List<Middleware> middlewares = new ArrayList<>();
  /** This router's defaults for its subscriptions (and nested routers'). */
  private SubscriptionHooks hooks = SubscriptionHooks.NONE;

  public DefaultRouter(String prefix) {
    this.prefix = Objects.requireNonNull(prefix, "prefix");
  }

  @Override
  public String prefix() {
    return prefix;
  }

  @Override
  public SubscriberBuilder subscriber(Destination destination) {
    Objects.requireNonNull(destination, "destination");
    return new DefaultSubscriberBuilder(spec -> {
      RouterSubscription view = new RouterSubscription(spec, prefix);
      entries.add(new Declared(spec, view));
      return view;
    }, destination);
  }

  @Override
  public Router include(Object handlers) {
    Objects.requireNonNull(handlers, "handlers");
    if (handlers instanceof Router r) {
      return include(r);
    }
    if (handlers instanceof Class<?> c) {
      throw new IllegalArgumentException("Router.include needs an object, got the class " + c.getName()
          + ". Pass an instance, e.g. new " + c.getSimpleName() + "().");
    }
    entries.add(new Handlers(handlers));
    return this;
  }

  @Override
  public Router include(Router router) {
    Objects.requireNonNull(router, "router");
    DefaultRouter child = (DefaultRouter) router;
    if (child == this || child.contains(this, java.util.Collections.newSetFromMap(new IdentityHashMap<>()))) {
      throw new IllegalArgumentException("Router '" + child.prefix + "' contains router '" + prefix
          + "' already, so including it here would make a cycle. Routers nest as a tree.");
    }
    entries.add(new Child(child));
    return this;
  }

  private boolean contains(DefaultRouter other, Set<DefaultRouter> seen) {
    if (!seen.add(this)) {
      return false;
    }
    for (Entry e : entries) {
      if (e instanceof Child c && (c.router == other || c.router.contains(other, seen))) {
        return true;
      }
    }
    return false;
  }

  @Override
  public Publisher publisher(Destination destination) {
    Objects.requireNonNull(destination, "destination");
    PublisherTarget target = PublisherTarget.unbound(destination, prefix);
    entries.add(new Pub(target));
    return new DefaultPublisher(target, Map.of());
  }

  @Override
  public Router middleware(Middleware... added) {
    for (Middleware m : added) {
      middlewares.add(Objects.requireNonNull(m, "middleware"));
    }
    return this;
  }

  @Override
  public Router ackPolicy(AckPolicy policy) {
    Objects.requireNonNull(policy, "ackPolicy");
    hooks = SubscriptionHooks.of(policy, hooks.parser(), hooks.decoder());
    return this;
  }

  @Override
  public Router parser(MessageParser parser) {
    Objects.requireNonNull(parser, "parser");
    hooks = SubscriptionHooks.of(hooks.ackPolicy(), parser, hooks.decoder());
    return this;
  }

  @Override
  public Router decoder(MessageDecoder decoder) {
    Objects.requireNonNull(decoder, "decoder");
    hooks = SubscriptionHooks.of(hooks.ackPolicy(), hooks.parser(), decoder);
    return this;
  }

  /**
   * Registers everything declared here under {@code outerPrefix} and after {@code outerMiddlewares}.
   * Handler objects are checked before anything is registered, so a broken method in a nested
   * object registers nothing.
   */
  List<Subscription> includeInto(BrokerEngine engine, String outerPrefix, List<Middleware> outerMiddlewares) {
    List<Runnable> binds = new ArrayList<>();
    List<Object[]> work = new ArrayList<>();
    collect(engine, outerPrefix, outerMiddlewares, SubscriptionHooks.NONE, work, binds);
    List<Subscription> registered = new ArrayList<>(work.size());
    for (Object[] w : work) {
      SubscriptionSpec spec = (SubscriptionSpec) w[0];
      Subscription s = engine.registry().register(spec);
      if (w[1] instanceof RouterSubscription view) {
        view.bind(s);
      }
      registered.add(s);
    }
    binds.forEach(Runnable::run);
    return registered;
  }

  private void collect(BrokerEngine engine, String outerPrefix, List<Middleware> outerMiddlewares,
      SubscriptionHooks outerHooks, List<Object[]> work, List<Runnable> binds) {
    SubscriptionHooks routerHooks = hooks.orElse(outerHooks);
    String full = outerPrefix + prefix;
    List<Middleware> mws = new ArrayList<>(outerMiddlewares);
    mws.addAll(middlewares);
    List<Middleware> chain = List.copyOf(mws);
    for (Entry e : entries) {
      switch (e) {
        case Declared d -> work.add(new Object[] {
            d.spec.underRouter(full, chain, new Origin(d, full, chain), routerHooks), d.view});
        case Handlers h -> {
          for (SubscriptionSpec spec : HandlerMethods.specs(engine, h.target, full, chain)) {
            work.add(new Object[] {spec.withRouterHooks(routerHooks), null});
          }
        }
        case Child c -> c.router.collect(engine, full, chain, routerHooks, work, binds);
        case Pub p -> binds.add(() -> p.target.bind(engine, p.target.declared().withPrefix(full), chain));
      }
    }
  }

  @Override
  public String toString() {
    return "Router['" + prefix + "', " + entries.size() + " declarations]";
  }
}
