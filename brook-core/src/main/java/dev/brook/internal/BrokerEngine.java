package dev.brook.internal;

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
 * <p>Locking: {@code lock} guards registry changes and broker state transitions. It is never held
 * while a subscription drains (that may take the graceful timeout), so a handler may register or
 * close subscriptions.
 */
public final class BrokerEngine {

  private static final Logger LOG = LoggerFactory.getLogger("dev.brook.Broker");

  private enum State { NEW, RUNNING, STOPPED, CLOSED }

  /** Replaced only by {@link #switchTransport}, while no subscription runs. */
  private volatile Transport transport;
  private final Codec codec;
  private final Duration gracefulTimeout;
  private final DuplicatePolicy duplicatePolicy;
  private final int bufferSize;
  private final Class<?>[] frameworkClasses;

  private final ReentrantLock lock = new ReentrantLock();
  private final ConcurrentHashMap<String, DefaultSubscription> registry = new ConcurrentHashMap<>();
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
    return state == State.CLOSED;
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
    forEachConcurrently(new ArrayList<>(registry.values()), s -> s.stop(deadline, true), deadline);
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
    DefaultSubscription previous;
    lock.lock();
    try {
      ensureOpen("register a subscription on");
      previous = registry.get(id);
      if (previous != null && spec.origin() != null && spec.origin().equals(previous.origin())) {
        return previous; // the same declaration included again: nothing to change
      }
      if (previous != null && duplicatePolicy == DuplicatePolicy.REJECT) {
        throw new DuplicateSubscriptionException(id, previous.registeredAt());
      }
      registry.put(id, created);
    } finally {
      lock.unlock();
    }
    if (previous != null) {
      LOG.warn("Subscription '{}' registered again at {}: the one registered at {} is stopped and replaced.",
          id, registeredAt, previous.registeredAt());
      previous.close(deadline());
    }
    if (state == State.RUNNING && created.state() == Subscription.State.REGISTERED) {
      created.startInternal();
    }
    return created;
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
    lock.lock();
    try {
      ensureOpen("start");
      transport.connect();
      state = State.RUNNING;
      pinnedFront = front;
    } finally {
      lock.unlock();
    }
    List<DefaultSubscription> toStart = new ArrayList<>();
    for (DefaultSubscription s : registry.values()) {
      if (s.startsWithBroker()) {
        toStart.add(s);
      }
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
  private static void startConcurrently(List<DefaultSubscription> subs) {
    if (subs.size() <= 1) {
      subs.forEach(BrokerEngine::startOne);
      return;
    }
    java.util.concurrent.atomic.AtomicInteger next = new java.util.concurrent.atomic.AtomicInteger();
    java.util.concurrent.atomic.AtomicReference<RuntimeException> failure = new java.util.concurrent.atomic.AtomicReference<>();
    Runnable worker = () -> {
      for (int i; (i = next.getAndIncrement()) < subs.size(); ) {
        try {
          startOne(subs.get(i));
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
    boolean interrupted = false;
    for (Thread t : threads) {
      while (true) {
        try {
          t.join();
          break;
        } catch (InterruptedException e) {
          interrupted = true; // each start is bounded by the command timeout; finish waiting
        }
      }
    }
    if (interrupted) {
      Thread.currentThread().interrupt();
    }
    if (failure.get() != null) {
      throw failure.get();
    }
  }

  private static void startOne(DefaultSubscription s) {
    try {
      s.startInternal();
    } catch (IllegalStateException closedMeanwhile) {
      // Closed by another thread between the check and the start: nothing to start.
    }
  }

  /** Connects for a subscription started by hand, before or without {@link #start()}. */
  void connectForSubscription() {
    ensureOpen("start a subscription on");
    transport.connect();
  }

  public void stop() {
    lock.lock();
    try {
      if (state != State.RUNNING) {
        return;
      }
      state = State.STOPPED;
      pinnedFront = null;
    } finally {
      lock.unlock();
    }
    long deadline = deadline();
    forEachConcurrently(new ArrayList<>(registry.values()), s -> s.stop(deadline, true), deadline);
  }

  /**
   * Closes every subscription concurrently under one deadline, then the transport. Every caller
   * returns once the first close has finished.
   */
  public void close() {
    lock.lock();
    boolean first;
    try {
      first = state != State.CLOSED;
      state = State.CLOSED;
      pinnedFront = null;
    } finally {
      lock.unlock();
    }
    if (!first) {
      closed.join();
      return;
    }
    try {
      long deadline = deadline();
      forEachConcurrently(new ArrayList<>(registry.values()), s -> s.close(deadline), deadline);
      registry.clear();
      requests.close(deadline);
    } finally {
      try {
        BeanValidation v;
        lock.lock();
        try {
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
    // Drains end by the deadline (workers are interrupted then); the margin covers the release.
    long until = deadlineNanos + TimeUnit.SECONDS.toNanos(5);
    for (Thread t : threads) {
      try {
        long left = until - System.nanoTime();
        if (left <= 0 || !t.join(Duration.ofNanos(left))) {
          LOG.warn("Stopping subscriptions took longer than the graceful timeout; going on with the close.");
          return;
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      }
    }
  }

  private void ensureOpen(String action) {
    if (state == State.CLOSED) {
      throw new IllegalStateException("Cannot " + action + " broker " + transport.describe()
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
    ensureOpen("publish with");
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

  public CompletableFuture<Void> publishAsync(Object payload, Destination destination, Map<String, String> headers) {
    return dispatch(payload, destination, headers, middlewares);
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
    ensureOpen("publish with");
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
