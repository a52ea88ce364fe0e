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
 * routers, publishers) and middlewares, and the places it is registered at ({@link Attachment}: a
 * broker's engine with the prefix and middlewares in front of this router). {@link #includeInto}
 * walks the list with the full prefix and middleware list of each position and records the
 * attachments; a declaration added afterwards is registered at every attachment at once (a dynamic
 * router, as in FastStream), so it goes live like one made on the broker.
 *
 * <p>Thread-safe: the declarations and attachments of every router are guarded by one lock ({@link
 * #LOCK}; routers are declared rarely, so one lock costs nothing and keeps a tree's changes atomic).
 * Registration itself runs outside it, through the engine's {@link Registry}, which orders it with
 * the broker's start, stop and close.
 */
public final class DefaultRouter implements Router {

  /** Guards {@code entries}, {@code middlewares} and {@code attachments} of every router. */
  private static final Object LOCK = new Object();

  private sealed interface Entry permits Declared, Handlers, Child, Pub {}

  /** A subscription declared with {@link #subscriber}: its spec and the view handed to the user. */
  private record Declared(SubscriptionSpec spec, RouterSubscription view) implements Entry {
    /** The id before any prefix: equal ids here are equal ids at every position. */
    String rawId() {
      return spec.id() != null ? spec.id() : spec.destination().key();
    }
  }

  private record Handlers(Object target) implements Entry {}

  private record Child(DefaultRouter router) implements Entry {}

  private record Pub(PublisherTarget target) implements Entry {}

  /** One place this router is registered at: a broker, and the prefix and middlewares of the routers around it. */
  private record Attachment(BrokerEngine engine, String outerPrefix, List<Middleware> outerMiddlewares,
      SubscriptionHooks outerHooks) {
    @Override
    public boolean equals(Object o) {
      return o instanceof Attachment other && other.engine == engine && other.outerPrefix.equals(outerPrefix)
          && Origin.sameItems(other.outerMiddlewares, outerMiddlewares);
    }

    @Override
    public int hashCode() {
      return System.identityHashCode(engine) * 31 + outerPrefix.hashCode();
    }
  }

  /** An attachment to record on one router of a tree being included. */
  private record Placed(DefaultRouter router, Attachment attachment) {}

  /** A spec to register at one engine, and the view to bind to what it becomes (or null). */
  private record Work(BrokerEngine engine, SubscriptionSpec spec, RouterSubscription view) {}

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

    static boolean sameItems(List<Middleware> a, List<Middleware> b) {
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
  /** Where this router is registered now, latest last; closed brokers are dropped at their close. */
  private final List<Attachment> attachments = new ArrayList<>();
  /** This router's defaults for its subscriptions (and nested routers'); apply to what is included or declared after them. Under {@link #LOCK}. */
  private SubscriptionHooks hooks = SubscriptionHooks.NONE;

  public DefaultRouter(String prefix) {
    this.prefix = Objects.requireNonNull(prefix, "prefix");
  }

  /** See {@link dev.brook.spi.Brokers#live}. */
  public static Subscription live(Subscription handle) {
    return RouterSubscription.resolve(Objects.requireNonNull(handle, "subscription"));
  }

  @Override
  public String prefix() {
    return prefix;
  }

  @Override
  public SubscriberBuilder subscriber(Destination destination) {
    Objects.requireNonNull(destination, "destination");
    return new DefaultSubscriberBuilder(this::declare, destination);
  }

  /** Adds a subscription and, when this router is included somewhere, registers it there at once. */
  private Subscription declare(SubscriptionSpec spec) {
    RouterSubscription view = new RouterSubscription(spec, prefix);
    Declared d = new Declared(spec, view);
    List<Work> work = new ArrayList<>();
    synchronized (LOCK) {
      entries.add(d);
      for (Attachment a : liveAttachments()) {
        String full = a.outerPrefix + prefix;
        List<Middleware> chain = chain(a.outerMiddlewares);
        work.add(new Work(a.engine, spec.underRouter(full, chain, new Origin(d, full, chain), hooks.orElse(a.outerHooks)), view));
      }
    }
    registerOrUndo(work, d, () -> {});
    if (!work.isEmpty()) {
      // The new declaration replaced the live subscription of its id wherever this router is
      // registered; an older declaration of that id here would only replace it back at the next include.
      synchronized (LOCK) {
        entries.removeIf(e -> e != d && e instanceof Declared old && old.rawId().equals(d.rawId()));
      }
    }
    return view;
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
    Handlers h = new Handlers(handlers);
    List<Work> work = new ArrayList<>();
    synchronized (LOCK) {
      // Checked at every attachment before anything changes: a broken method adds nothing.
      for (Attachment a : liveAttachments()) {
        for (SubscriptionSpec spec : HandlerMethods.specs(a.engine, handlers, a.outerPrefix + prefix, chain(a.outerMiddlewares))) {
          work.add(new Work(a.engine, spec.withRouterHooks(hooks.orElse(a.outerHooks)), null));
        }
      }
      entries.add(h);
    }
    registerOrUndo(work, h, () -> {});
    return this;
  }

  @Override
  public Router include(Router router) {
    Objects.requireNonNull(router, "router");
    DefaultRouter child = (DefaultRouter) router;
    List<Work> work = new ArrayList<>();
    List<Runnable> binds = new ArrayList<>();
    Child entry = new Child(child);
    List<Placed> added;
    synchronized (LOCK) {
      if (child == this || child.contains(this, java.util.Collections.newSetFromMap(new IdentityHashMap<>()))) {
        throw new IllegalArgumentException("Router '" + child.prefix + "' contains router '" + prefix
            + "' already, so including it here would make a cycle. Routers nest as a tree.");
      }
      List<Placed> places = new ArrayList<>();
      for (Attachment a : liveAttachments()) {
        child.collect(a.engine, a.outerPrefix + prefix, chain(a.outerMiddlewares), hooks.orElse(a.outerHooks), work, binds, places);
      }
      added = attach(places);
      entries.add(entry);
    }
    binds.forEach(Runnable::run);
    registerOrUndo(work, entry, () -> unattach(added));
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
    synchronized (LOCK) {
      entries.add(new Pub(target));
      for (Attachment a : liveAttachments()) {
        target.bind(a.engine, destination.withPrefix(a.outerPrefix + prefix), chain(a.outerMiddlewares));
      }
    }
    return new DefaultPublisher(target, Map.of());
  }

  @Override
  public Router middleware(Middleware... added) {
    synchronized (LOCK) {
      for (Middleware m : added) {
        middlewares.add(Objects.requireNonNull(m, "middleware"));
      }
    }
    return this;
  }

  /** The outer middlewares, then this router's. */
  private List<Middleware> chain(List<Middleware> outer) {
    List<Middleware> mws = new ArrayList<>(outer);
    mws.addAll(middlewares);
    return List.copyOf(mws);
  }

  /** The attachments to brokers still open, dropping those of brokers that close. Under {@link #LOCK}. */
  private List<Attachment> liveAttachments() {
    attachments.removeIf(a -> a.engine.closing());
    return List.copyOf(attachments);
  }

  @Override
  public Router ackPolicy(AckPolicy policy) {
    Objects.requireNonNull(policy, "ackPolicy");
    synchronized (LOCK) { // read under the lock by includes and later declarations
      hooks = SubscriptionHooks.of(policy, hooks.parser(), hooks.decoder());
    }
    return this;
  }

  @Override
  public Router parser(MessageParser parser) {
    Objects.requireNonNull(parser, "parser");
    synchronized (LOCK) { // read under the lock by includes and later declarations
      hooks = SubscriptionHooks.of(hooks.ackPolicy(), parser, hooks.decoder());
    }
    return this;
  }

  @Override
  public Router decoder(MessageDecoder decoder) {
    Objects.requireNonNull(decoder, "decoder");
    synchronized (LOCK) { // read under the lock by includes and later declarations
      hooks = SubscriptionHooks.of(hooks.ackPolicy(), hooks.parser(), decoder);
    }
    return this;
  }

  /**
   * Registers a declaration added after the router was included. When a broker refuses it (a
   * duplicate under {@code DuplicatePolicy.REJECT}, say), the declaration is taken off the router and
   * what this call registered elsewhere is closed again, so it is all or nothing; a broker closing
   * meanwhile is skipped.
   */
  private void registerOrUndo(List<Work> work, Entry entry, Runnable undo) {
    List<Subscription> done = new ArrayList<>(work.size());
    for (Work w : work) {
      try {
        Subscription s = w.engine.registry().register(w.spec);
        if (w.view != null) {
          w.view.bind(s);
        }
        done.add(s);
      } catch (RuntimeException e) {
        if (w.engine.closing()) {
          continue; // that broker is going away and releases the router at its close
        }
        synchronized (LOCK) {
          entries.remove(entry);
        }
        undo.run();
        for (Subscription s : done) {
          try {
            s.close();
          } catch (RuntimeException suppressed) {
            e.addSuppressed(suppressed);
          }
        }
        throw e;
      }
    }
  }

  /**
   * Registers everything declared here under {@code outerPrefix} and after {@code outerMiddlewares},
   * and records the attachment, so what is declared later goes live too. Handler objects are checked
   * before anything is registered, so a broken method in a nested object registers nothing; a
   * registration that fails leaves the router detached from this broker.
   */
  List<Subscription> includeInto(BrokerEngine engine, String outerPrefix, List<Middleware> outerMiddlewares) {
    List<Runnable> binds = new ArrayList<>();
    List<Work> work = new ArrayList<>();
    List<Placed> added;
    synchronized (LOCK) {
      List<Placed> places = new ArrayList<>();
      collect(engine, outerPrefix, outerMiddlewares, SubscriptionHooks.NONE, work, binds, places);
      added = attach(places);
    }
    List<Subscription> registered = new ArrayList<>(work.size());
    try {
      for (Work w : work) {
        Subscription s = engine.registry().register(w.spec);
        if (w.view != null) {
          w.view.bind(s);
        }
        registered.add(s);
      }
    } catch (RuntimeException e) {
      unattach(added);
      throw e;
    }
    binds.forEach(Runnable::run);
    return registered;
  }

  /** Collects the work of this subtree at one position; the attachments are recorded by running {@code attaches}. */
  private void collect(BrokerEngine engine, String outerPrefix, List<Middleware> outerMiddlewares,
      SubscriptionHooks outerHooks, List<Work> work, List<Runnable> binds, List<Placed> places) {
    SubscriptionHooks routerHooks = hooks.orElse(outerHooks);
    String full = outerPrefix + prefix;
    List<Middleware> chain = chain(outerMiddlewares);
    places.add(new Placed(this, new Attachment(engine, outerPrefix, List.copyOf(outerMiddlewares), outerHooks)));
    for (Entry e : entries) {
      switch (e) {
        case Declared d -> work.add(new Work(engine,
            d.spec.underRouter(full, chain, new Origin(d, full, chain), routerHooks), d.view));
        case Handlers h -> {
          for (SubscriptionSpec spec : HandlerMethods.specs(engine, h.target, full, chain)) {
            work.add(new Work(engine, spec.withRouterHooks(routerHooks), null));
          }
        }
        case Child c -> c.router.collect(engine, full, chain, routerHooks, work, binds, places);
        case Pub p -> binds.add(() -> p.target.bind(engine, p.target.declared().withPrefix(full), chain));
      }
    }
  }

  /**
   * Records the attachments (re-including moves one last: publishers follow the latest include) and
   * returns those that are new. Under {@link #LOCK}.
   */
  private static List<Placed> attach(List<Placed> places) {
    List<Placed> added = new ArrayList<>();
    for (Placed p : places) {
      if (!p.router.attachments.remove(p.attachment)) {
        added.add(p);
      }
      p.router.attachments.add(p.attachment);
    }
    return added;
  }

  private static void unattach(List<Placed> added) {
    synchronized (LOCK) {
      for (Placed p : added) {
        p.router.attachments.remove(p.attachment);
      }
    }
  }

  /** Forgets every attachment of this subtree to {@code engine}: the broker closes (or an include of it failed). */
  void detach(BrokerEngine engine) {
    synchronized (LOCK) {
      detachLocked(engine, java.util.Collections.newSetFromMap(new IdentityHashMap<>()));
    }
  }

  private void detachLocked(BrokerEngine engine, Set<DefaultRouter> seen) {
    if (!seen.add(this)) {
      return;
    }
    attachments.removeIf(a -> a.engine == engine);
    for (Entry e : entries) {
      if (e instanceof Child c) {
        c.router.detachLocked(engine, seen);
      }
    }
  }

  @Override
  public String toString() {
    synchronized (LOCK) {
      return "Router['" + prefix + "', " + entries.size() + " declarations]";
    }
  }
}
