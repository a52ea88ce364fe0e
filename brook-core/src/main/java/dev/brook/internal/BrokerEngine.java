package dev.brook.internal;

import dev.brook.spi.Transport;
import dev.brook.spi.Frame;
import dev.brook.BrookException;
import dev.brook.Destination;
import dev.brook.DuplicatePolicy;
import dev.brook.DuplicateSubscriptionException;
import dev.brook.Middleware;
import dev.brook.PublishCommand;
import dev.brook.Publisher;
import dev.brook.RequestMetrics;
import dev.brook.RequestTimeoutException;
import dev.brook.Router;
import dev.brook.SubscriberBuilder;
import dev.brook.Subscription;
import java.lang.reflect.Type;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReentrantLock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The transport-independent half of a broker: the subscription registry (one live subscription
 * per id), the broker lifecycle, the broker's middlewares, publishing through the publish scope
 * and the codec, request/reply ({@link Requests}) and including routers and annotated objects. A
 * public broker class such as {@code RedisBroker} is a thin front over one engine and one {@link
 * Transport}.
 *
 * <p>One id, one live consumer: every change to the subscriptions of one id — register (and the
 * close of the one it replaces), start, stop, close — runs under that id's lifecycle lock ({@link
 * Slot}), so they happen one after the other: a replacement starts only once the subscription it
 * replaces has stopped and given back what it held, and racing registrations of one id end with
 * exactly one running consumer and never two at once. The lifecycle lock may be held across a drain
 * (up to the graceful timeout); it is per id, and no message processing takes it.
 *
 * <p>{@code lock} guards registry changes and broker state transitions; it is held only briefly and
 * never across I/O. Lock order: an id's lifecycle lock, then {@code lock}.
 */
public final class BrokerEngine {

  private static final Logger LOG = LoggerFactory.getLogger("dev.brook.Broker");

  /** CLOSING: close has begun; nothing new registers, but handlers still finishing may publish. */
  private enum State { NEW, RUNNING, STOPPED, CLOSING, CLOSED }

  /** Replaced only by {@link #switchTransport}, while no subscription runs. */
  private volatile Transport transport;
  private final Codec codec;
  private final Duration gracefulTimeout;
  private final DuplicatePolicy duplicatePolicy;
  private final int bufferSize;
  private final Class<?>[] frameworkClasses;

  private final ReentrantLock lock = new ReentrantLock();
  private final ConcurrentHashMap<String, DefaultSubscription> registry = new ConcurrentHashMap<>();
  /** The lifecycle lock of each id some thread is changing now; an entry lives while it is in use. */
  private final ConcurrentHashMap<String, Slot> slots = new ConcurrentHashMap<>();
  private final Collection<Subscription> view = Collections.unmodifiableCollection(registry.values());
  private volatile State state = State.NEW;
  /**
   * The public broker object while started: a running broker must stay reachable (and so never be
   * closed as a leak) even when its creator holds no reference, as a running server does.
   */
  private volatile Object pinnedFront;
  private final CompletableFuture<Void> closed = new CompletableFuture<>();
  /** The broker's middlewares; replaced (copy on write) under {@code lock}, read per message. */
  private volatile Middleware[] middlewares = MiddlewareStack.NONE;
  private volatile boolean accessLog = true;
  private final Requests requests = new Requests(this);
  /** Bean Validation, created at the first {@code @Valid} handler; closed with the engine. */
  private BeanValidation validation;

  /**
   * @param frameworkClasses classes of the front (e.g. RedisBroker) whose frames are skipped when
   *     recording where a subscription was registered
   */
  public BrokerEngine(Transport transport, Codec codec, Duration gracefulTimeout, DuplicatePolicy duplicatePolicy,
      int bufferSize, Class<?>... frameworkClasses) {
    this.transport = Objects.requireNonNull(transport, "transport");
    this.codec = Objects.requireNonNull(codec, "codec");
    this.gracefulTimeout = Objects.requireNonNull(gracefulTimeout, "gracefulTimeout");
    this.duplicatePolicy = Objects.requireNonNull(duplicatePolicy, "duplicatePolicy");
    this.bufferSize = bufferSize;
    this.frameworkClasses = frameworkClasses.clone();
  }

  public Transport transport() {
    return transport;
  }

  public Codec codec() {
    return codec;
  }

  public Duration gracefulTimeout() {
    return gracefulTimeout;
  }

  public DuplicatePolicy duplicatePolicy() {
    return duplicatePolicy;
  }

  int bufferSize() {
    return bufferSize;
  }

  long deadline() {
    return System.nanoTime() + gracefulTimeout.toNanos();
  }

  public boolean isClosed() {
    State s = state;
    return s == State.CLOSED || s == State.CLOSING;
  }

  /** Whether subscriptions registered from now on get the access-log link; the front sets it once, before any. */
  public void accessLog(boolean enabled) {
    this.accessLog = enabled;
  }

  boolean accessLog() {
    return accessLog;
  }

  /** Adds a broker middleware after the others; running subscriptions take it from their next message. */
  public void middleware(Middleware middleware) {
    Objects.requireNonNull(middleware, "middleware");
    lock.lock();
    try {
      Middleware[] now = middlewares;
      Middleware[] next = java.util.Arrays.copyOf(now, now.length + 1);
      next[now.length] = middleware;
      middlewares = next;
    } finally {
      lock.unlock();
    }
  }

  /** Removes a broker middleware (the first one equal to it); running subscriptions drop it from their next message. */
  public void removeMiddleware(Middleware middleware) {
    lock.lock();
    try {
      List<Middleware> now = new ArrayList<>(List.of(middlewares));
      if (now.remove(middleware)) {
        middlewares = now.toArray(Middleware[]::new);
      }
    } finally {
      lock.unlock();
    }
  }

  /**
   * Runs this broker on another transport until the returned handle is closed: how the in-memory
   * test broker takes over a real broker. Running subscriptions stop, the transport is replaced, and
   * the broker starts on it (subscriptions the user stopped stay stopped). Closing the handle stops
   * everything again, puts the original transport back, and leaves the broker as it was: started
   * again on the original transport if it was running, else not started (subscriptions that were
   * waiting for {@code start()} still start with it). The replacement is not closed here.
   */
  public AutoCloseable switchTransport(Transport replacement) {
    Objects.requireNonNull(replacement, "replacement");
    State before;
    Transport original;
    lock.lock();
    try {
      ensureOpen("switch the transport of");
      before = state;
      original = transport;
    } finally {
      lock.unlock();
    }
    pause();
    transport = replacement;
    start(pinnedFront);
    return () -> {
      pause();
      transport = original;
      lock.lock();
      try {
        if (state != State.CLOSED) {
          state = before == State.RUNNING ? State.STOPPED : before;
        }
      } finally {
        lock.unlock();
      }
      if (before == State.RUNNING) {
        start(pinnedFront);
      }
    };
  }

  /** Stops every running subscription as the broker's stop does, and the reply channel. */
  private void pause() {
    long deadline = deadline();
    forEachConcurrently(new ArrayList<>(registry.values()), s -> lifecycle(s.id(), () -> s.stop(deadline, true)), deadline);
    requests.reset(deadline);
  }

  /** The broker's middlewares now; the array is never modified (a change replaces it). */
  Middleware[] middlewares() {
    return middlewares;
  }

  /** The engine's Bean Validation, created on first use; fails with the fix when no provider is present. */
  BeanValidation validation(String user) {
    lock.lock();
    try {
      if (validation == null) {
        validation = BeanValidation.create(user);
      }
      return validation;
    } finally {
      lock.unlock();
    }
  }

  // ---- registration -------------------------------------------------------------------------

  public SubscriberBuilder subscriber(Destination destination) {
    Objects.requireNonNull(destination, "destination");
    return new DefaultSubscriberBuilder(this::register, destination);
  }

  /** Registers every {@code @Subscribe} method of the object, or includes it when it is a router. */
  public List<Subscription> include(Object handlers) {
    Objects.requireNonNull(handlers, "handlers");
    if (handlers instanceof Router router) {
      return include(router);
    }
    return includeObject(handlers, "", List.of());
  }

  public List<Subscription> include(Router router) {
    Objects.requireNonNull(router, "router");
    ensureOpen("include a router in");
    return ((DefaultRouter) router).includeInto(this, "", List.of());
  }

  /** Checks every annotated method first, so a mistake registers none of them. */
  List<Subscription> includeObject(Object handlers, String prefix, List<Middleware> routerMiddlewares) {
    ensureOpen("include handlers in");
    List<SubscriptionSpec> specs = HandlerMethods.specs(this, handlers, prefix, routerMiddlewares);
    List<Subscription> registered = new ArrayList<>(specs.size());
    for (SubscriptionSpec spec : specs) {
      registered.add(register(spec));
    }
    return registered;
  }

  Subscription register(SubscriptionSpec spec) {
    ensureOpen("register a subscription on");
    String id = spec.effectiveId();
    String registeredAt = CallSite.find(frameworkClasses);
    Codec.Decoder decoder = codec.decoderFor(spec.payloadType());
    if (spec.ackPolicy() != null && !spec.destination().atLeastOnce()) {
      LOG.warn("Subscription '{}' sets ackPolicy {}, but {} is at-most-once: there is nothing to acknowledge, "
          + "so the policy has no effect.", id, spec.ackPolicy(), spec.destination().key());
    }
    DefaultSubscription created = new DefaultSubscription(this, spec, registeredAt, decoder);
    return lifecycle(id, () -> replace(created));
  }

  /**
   * Puts {@code created} in the registry in place of the live subscription of its id, closes that
   * one (its handlers finish or are given back) and only then starts {@code created} when the broker
   * runs. Runs under the id's lifecycle lock.
   */
  private DefaultSubscription replace(DefaultSubscription created) {
    String id = created.id();
    DefaultSubscription previous;
    boolean start;
    lock.lock();
    try {
      ensureOpen("register a subscription on");
      previous = registry.get(id);
      if (previous != null && created.origin() != null && created.origin().equals(previous.origin())) {
        return previous; // the same declaration included again: nothing to change
      }
      if (previous != null && duplicatePolicy == DuplicatePolicy.REJECT) {
        throw new DuplicateSubscriptionException(id, previous.registeredAt());
      }
      registry.put(id, created);
      start = state == State.RUNNING;
    } finally {
      lock.unlock();
    }
    if (previous != null) {
      logReplaced(id, created.registeredAt(), previous.registeredAt());
      previous.close(deadline());
    }
    if (start && state == State.RUNNING) {
      try {
        created.startInternal();
      } catch (RuntimeException e) {
        // The caller gets no subscription to retry with: leave nothing of it behind.
        created.close(deadline());
        throw e;
      }
    }
    return created;
  }

  /**
   * A re-run of the same code (a notebook cell, a reload) replaces from the same call site: expected.
   * Another call site usually means two handlers meant for one channel; they need their own ids.
   */
  private static void logReplaced(String id, String now, String before) {
    if (sameCallSite(now, before)) {
      LOG.info("Subscription '{}' registered again at {}: the previous one is stopped and replaced.", id, now);
    } else {
      LOG.warn("Subscription '{}' registered at {} replaces the one registered at {}: one id has one live "
          + "subscription. If both handlers should run, give them their own ids with .id(\"...\").", id, now, before);
    }
  }

  /** Same class, method and line; a re-run in JShell gets a new snippet class name, so only the line counts there. */
  static boolean sameCallSite(String a, String b) {
    if (a == null || b == null) {
      return false;
    }
    return a.equals(b) || CallSite.withoutSnippet(a).equals(CallSite.withoutSnippet(b));
  }

  /**
   * One id's lifecycle lock. Entries are reference-counted in {@code slots} (under the map's bin
   * lock), so the map holds only ids being changed right now and nothing survives close.
   */
  private static final class Slot {
    final ReentrantLock lock = new ReentrantLock();
    int users;
  }

  /**
   * Runs a lifecycle change of the subscriptions of {@code id} after every change of that id that
   * began before it, and returns its result.
   *
   * <p>A handler that stops or closes its own subscription while another change of its id waits for
   * that very handler to finish (a broker stop draining it) must not wait for the lock: the change
   * then runs on its own thread once the lock is free, and this returns at once.
   */
  <T> T lifecycle(String id, java.util.function.Supplier<T> change) {
    Slot slot = slots.compute(id, (k, s) -> {
      Slot held = s != null ? s : new Slot();
      held.users++;
      return held;
    });
    try {
      try {
        slot.lock.lockInterruptibly();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new BrookException("Interrupted while waiting to change subscription '" + id + "'.", e);
      }
      try {
        return change.get();
      } finally {
        slot.lock.unlock();
      }
    } finally {
      slots.computeIfPresent(id, (k, s) -> --s.users == 0 ? null : s);
    }
  }

  void lifecycle(String id, Runnable change) {
    lifecycle(id, () -> {
      change.run();
      return null;
    });
  }

  /**
   * Stops or closes a subscription for its own handler without waiting behind a change that waits
   * for that handler: see {@link #lifecycle(String, java.util.function.Supplier)}.
   */
  void lifecycleFromHandler(DefaultSubscription subscription, Runnable change) {
    if (Mailbox.currentOwner() == subscription) {
      Slot slot = slots.compute(subscription.id(), (k, s) -> {
        Slot held = s != null ? s : new Slot();
        held.users++;
        return held;
      });
      boolean locked = slot.lock.tryLock();
      try {
        if (locked) {
          change.run();
          return;
        }
      } finally {
        if (locked) {
          slot.lock.unlock();
        }
        slots.computeIfPresent(subscription.id(), (k, s) -> --s.users == 0 ? null : s);
      }
      Thread.ofVirtual().name("brook-stop:" + subscription.id()).start(() -> {
        try {
          lifecycle(subscription.id(), change);
        } catch (RuntimeException e) {
          LOG.error("Stopping subscription '{}' for its handler failed.", subscription.id(), e);
        }
      });
      return;
    }
    lifecycle(subscription.id(), change);
  }

  /** Removes a closed subscription, unless another has taken its id already. */
  void unregister(DefaultSubscription subscription) {
    registry.remove(subscription.id(), subscription);
  }

  public Collection<Subscription> subscriptions() {
    return view;
  }

  public Subscription subscription(String id) {
    return registry.get(id);
  }

  // ---- lifecycle ----------------------------------------------------------------------------

  public void start(Object front) {
    ensureOpen("start");
    transport.connect(); // outside the lock: it may take the connect timeout
    List<DefaultSubscription> toStart = new ArrayList<>();
    lock.lock();
    try {
      ensureOpen("start");
      state = State.RUNNING;
      pinnedFront = front;
      for (DefaultSubscription s : registry.values()) {
        if (s.startsWithBroker()) {
          toStart.add(s);
        }
      }
    } finally {
      lock.unlock();
    }
    startConcurrently(toStart);
  }

  /** How many virtual threads the broker starts its subscriptions on, so their round trips overlap. */
  private static final int START_CONCURRENCY = 64;

  /**
   * Starts the subscriptions on up to {@link #START_CONCURRENCY} virtual threads, so a transport can
   * pipeline what they send (10,000 Pub/Sub channels subscribe in a few round trips, not 10,000).
   * Returns when every start has finished; the first failure is then thrown (the others started).
   */
  private void startConcurrently(List<DefaultSubscription> subs) {
    if (subs.size() <= 1) {
      subs.forEach(this::startWithBroker);
      return;
    }
    java.util.concurrent.atomic.AtomicInteger next = new java.util.concurrent.atomic.AtomicInteger();
    java.util.concurrent.atomic.AtomicReference<RuntimeException> failure = new java.util.concurrent.atomic.AtomicReference<>();
    Runnable worker = () -> {
      for (int i; (i = next.getAndIncrement()) < subs.size(); ) {
        try {
          startWithBroker(subs.get(i));
        } catch (RuntimeException e) {
          if (!failure.compareAndSet(null, e)) {
            failure.get().addSuppressed(e);
          }
        }
      }
    };
    List<Thread> threads = new ArrayList<>();
    for (int t = 0; t < Math.min(START_CONCURRENCY, subs.size()); t++) {
      threads.add(Thread.ofVirtual().name("brook-start").start(worker));
    }
    joinAll(threads);
    if (failure.get() != null) {
      throw failure.get();
    }
  }

  /**
   * Starts one subscription for the broker, under its id's lifecycle lock, unless the broker was
   * stopped or closed meanwhile (a racing {@code stop()} wins) or the subscription no longer starts
   * with the broker (closed or replaced meanwhile, or stopped by hand).
   */
  private void startWithBroker(DefaultSubscription s) {
    lifecycle(s.id(), () -> {
      if (state == State.RUNNING && s.startsWithBroker()) {
        s.startInternal();
      }
    });
  }

  private static void joinAll(List<Thread> threads) {
    boolean interrupted = false;
    for (Thread t : threads) {
      while (true) {
        try {
          t.join();
          break;
        } catch (InterruptedException e) {
          interrupted = true; // each start or stop is bounded; finish waiting
        }
      }
    }
    if (interrupted) {
      Thread.currentThread().interrupt();
    }
  }

  /** Connects for a subscription started by hand, before or without {@link #start()}. */
  void connectForSubscription() {
    ensureOpen("start a subscription on");
    transport.connect();
  }

  /** Whether the broker runs now (its subscriptions start with it). */
  boolean running() {
    return state == State.RUNNING;
  }

  public void stop() {
    List<DefaultSubscription> running;
    lock.lock();
    try {
      if (state != State.RUNNING) {
        return;
      }
      state = State.STOPPED;
      pinnedFront = null;
      running = new ArrayList<>(registry.values());
    } finally {
      lock.unlock();
    }
    long deadline = deadline();
    forEachConcurrently(running, s -> lifecycle(s.id(), () -> s.stop(deadline, true)), deadline);
  }

  /**
   * Closes every subscription concurrently under one deadline, then the reply channel, then the
   * transport. Until the subscriptions are closed the broker can still publish, so a handler that
   * finishes during the close still sends its result and settles its message. Every caller returns
   * once the first close has finished.
   */
  public void close() {
    List<DefaultSubscription> open;
    lock.lock();
    boolean first;
    try {
      first = state != State.CLOSED && state != State.CLOSING;
      if (first) {
        state = State.CLOSING;
      }
      pinnedFront = null;
      open = new ArrayList<>(registry.values());
    } finally {
      lock.unlock();
    }
    if (!first) {
      closed.join();
      return;
    }
    try {
      long deadline = deadline();
      forEachConcurrently(open, s -> lifecycle(s.id(), () -> s.close(deadline)), deadline);
      registry.clear();
      requests.close(deadline);
    } finally {
      try {
        BeanValidation v;
        lock.lock();
        try {
          state = State.CLOSED;
          v = validation;
          validation = null;
        } finally {
          lock.unlock();
        }
        if (v != null) {
          v.close();
        }
        transport.close();
      } finally {
        closed.complete(null);
      }
    }
  }

  /**
   * Runs the action (a stop or close) for every subscription at once and returns when all have
   * finished: each is bounded by the deadline (handlers still running then are interrupted and given
   * a short grace), so going on earlier would close connections under stops still giving messages
   * back. One WARN when they run long, naming those still running.
   */
  private static void forEachConcurrently(List<DefaultSubscription> subs,
      java.util.function.Consumer<DefaultSubscription> action, long deadlineNanos) {
    if (subs.isEmpty()) {
      return;
    }
    if (subs.size() == 1) {
      action.accept(subs.get(0));
      return;
    }
    List<Thread> threads = new ArrayList<>(subs.size());
    for (DefaultSubscription s : subs) {
      threads.add(Thread.ofVirtual().name("brook-close:" + s.id()).start(() -> {
        try {
          action.accept(s);
        } catch (RuntimeException e) {
          LOG.error("Stopping subscription '{}' failed.", s.id(), e);
        }
      }));
    }
    long warnAt = deadlineNanos + TimeUnit.SECONDS.toNanos(5);
    boolean warned = false;
    boolean interrupted = false;
    for (int i = 0; i < threads.size(); i++) {
      Thread t = threads.get(i);
      try {
        long left = warnAt - System.nanoTime();
        if (warned || left <= 0) {
          if (!warned) {
            warned = true;
            LOG.warn("Stopping subscription '{}' takes longer than the graceful timeout; waiting for it to give its "
                + "messages back before going on.", subs.get(i).id());
          }
          t.join();
        } else if (!t.join(Duration.ofNanos(left))) {
          i--; // wait again, past the warning
        }
      } catch (InterruptedException e) {
        interrupted = true;
        i--;
      }
    }
    if (interrupted) {
      Thread.currentThread().interrupt();
    }
  }

  private void ensureOpen(String action) {
    State s = state;
    if (s == State.CLOSED || s == State.CLOSING) {
      throw new IllegalStateException("Cannot " + action + " broker " + transport.describe()
          + ": it is closed. A closed broker cannot be reused; create a new one.");
    }
  }

  /** Publishing stays open while the broker closes, until its handlers have finished. */
  private void ensurePublishing() {
    if (state == State.CLOSED) {
      throw new IllegalStateException("Cannot publish with broker " + transport.describe()
          + ": it is closed. A closed broker cannot be reused; create a new one.");
    }
  }

  // ---- publishing ---------------------------------------------------------------------------

  public Publisher publisher(Destination destination) {
    Objects.requireNonNull(destination, "destination");
    return new DefaultPublisher(PublisherTarget.of(this, destination), Map.of());
  }

  /**
   * Sends one message through the publish scope ({@code middlewares}, then encode and send). With
   * no middleware no command object is made. Exceptions of encoding or of the transport's checks
   * are thrown here; the future completes when the server has taken the message.
   */
  CompletableFuture<Void> dispatch(Object payload, Destination destination, Map<String, String> headers,
      Middleware[] middlewares) {
    Objects.requireNonNull(destination, "destination");
    Objects.requireNonNull(headers, "headers");
    ensurePublishing();
    transport.connect();
    if (middlewares.length == 0) {
      return send(payload, destination, headers);
    }
    PublishCommand command = new PublishCommand(payload, destination, headers);
    return new PublishStep(middlewares, 0, command, this::send).proceed(command);
  }

  private CompletableFuture<Void> send(PublishCommand command) {
    return send(command.payload(), command.destination(), command.headers());
  }

  private CompletableFuture<Void> send(Object payload, Destination destination, Map<String, String> headers) {
    Frame frame = codec.encode(payload, headers);
    return transport.send(destination, frame);
  }

  /** Dependent stages of the returned future never run on the transport's I/O thread ({@link UserFuture}). */
  public CompletableFuture<Void> publishAsync(Object payload, Destination destination, Map<String, String> headers) {
    return UserFuture.of(dispatch(payload, destination, headers, middlewares));
  }

  public void publish(Object payload, Destination destination, Map<String, String> headers) {
    await(publishAsync(payload, destination, headers), destination);
  }

  /** Publishes through the given middlewares (a subscription's or a router publisher's) and waits. */
  void publish(Object payload, Destination destination, Map<String, String> headers, Middleware[] middlewares) {
    await(dispatch(payload, destination, headers, middlewares), destination);
  }

  public void publishBatch(java.util.Collection<?> payloads, Destination destination) {
    publishBatch(payloads, destination, Map.of(), middlewares);
  }

  /**
   * Every item passes the publish scope on its own; the terminal only encodes it into the batch,
   * which is sent in one go once all items passed.
   */
  void publishBatch(java.util.Collection<?> payloads, Destination destination, Map<String, String> headers,
      Middleware[] middlewares) {
    Objects.requireNonNull(payloads, "payloads");
    Objects.requireNonNull(destination, "destination");
    ensurePublishing();
    transport.connect();
    List<Frame> frames = new ArrayList<>(payloads.size());
    for (Object p : payloads) {
      if (middlewares.length == 0) {
        frames.add(codec.encode(p, headers));
      } else {
        PublishCommand command = new PublishCommand(p, destination, headers);
        await(new PublishStep(middlewares, 0, command, c -> {
          frames.add(codec.encode(c.payload(), c.headers()));
          return CompletableFuture.completedFuture(null);
        }).proceed(command), destination);
      }
    }
    await(transport.sendBatch(destination, frames), destination);
  }

  // ---- request/reply ------------------------------------------------------------------------

  public <R> CompletableFuture<R> requestAsync(Object payload, Destination destination, Type replyType, Duration timeout) {
    return requestAsync(payload, destination, replyType, timeout, Map.of(), middlewares);
  }

  <R> CompletableFuture<R> requestAsync(Object payload, Destination destination, Type replyType, Duration timeout,
      Map<String, String> headers, Middleware[] middlewares) {
    prepareRequest(destination, replyType, timeout);
    return requests.send(payload, destination, replyType, timeout, headers, middlewares);
  }

  public <R> R request(Object payload, Destination destination, Type replyType, Duration timeout) {
    return request(payload, destination, replyType, timeout, Map.of(), middlewares);
  }

  <R> R request(Object payload, Destination destination, Type replyType, Duration timeout, Map<String, String> headers,
      Middleware[] middlewares) {
    prepareRequest(destination, replyType, timeout);
    try {
      @SuppressWarnings("unchecked")
      R reply = (R) requests.call(payload, destination, replyType, timeout, headers, middlewares);
      return reply;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new BrookException("Interrupted while waiting for the reply from " + destination.key() + ".", e);
    } catch (ExecutionException e) {
      Throwable cause = e.getCause() != null ? e.getCause() : e;
      if (cause instanceof RequestTimeoutException t) {
        // A new exception, so its stack trace shows the caller rather than the timer.
        throw new RequestTimeoutException(t.destination(), t.timeout(), t.correlationId());
      }
      if (cause instanceof BrookException b) {
        throw b;
      }
      throw new BrookException("The request to " + destination.key() + " failed: " + cause.getMessage(), cause);
    }
  }

  private void prepareRequest(Destination destination, Type replyType, Duration timeout) {
    Objects.requireNonNull(destination, "destination");
    Objects.requireNonNull(replyType, "replyType");
    Objects.requireNonNull(timeout, "timeout");
    ensureOpen("send a request with");
    transport.connect();
  }

  public RequestMetrics requestMetrics() {
    return requests.metrics();
  }

  /** The reply channel's name, or null before the first request. */
  String replyChannel() {
    return requests.replyChannel();
  }

  private void await(CompletableFuture<Void> f, Destination destination) {
    try {
      f.get();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new BrookException("Interrupted while publishing to " + destination.key() + ".", e);
    } catch (ExecutionException | CompletionException e) {
      Throwable cause = e.getCause() != null ? e.getCause() : e;
      if (cause instanceof BrookException b) {
        throw b;
      }
      throw new BrookException("Publishing to " + destination.key() + " on " + transport.describe() + " failed: "
          + cause.getMessage(), cause);
    }
  }
}
