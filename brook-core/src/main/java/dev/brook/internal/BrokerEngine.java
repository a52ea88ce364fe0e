package dev.brook.internal;

import dev.brook.AckPolicy;
import dev.brook.Destination;
import dev.brook.MessageDecoder;
import dev.brook.MessageParser;
import dev.brook.DuplicatePolicy;
import dev.brook.Middleware;
import dev.brook.Publisher;
import dev.brook.RequestMetrics;
import dev.brook.Router;
import dev.brook.SubscriberBuilder;
import dev.brook.Subscription;
import dev.brook.spi.Transport;
import java.lang.reflect.Type;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The transport-independent half of a broker. It wires the parts — the subscription {@link
 * Registry} (one live subscription per id, the per-id lifecycle locks), {@link Publishing}
 * (publishing and the request entry points), {@link Requests} (the reply side), {@link Including}
 * (routers, annotated objects, Bean Validation) — and owns the broker's state machine (NEW →
 * RUNNING ⇄ STOPPED → CLOSING → CLOSED: start, stop, close), its middlewares and its transport. A
 * public broker such as {@code RedisBroker} is a thin front over one engine ({@code BrokerBase}).
 *
 * <p>Locking: every change to the subscriptions of one id runs under that id's lifecycle lock in the
 * registry ({@link Registry#lifecycle}); the broker's start, stop and close take each
 * subscription's lock in turn. {@code lock} guards the broker's state transitions and, shared with
 * the registry, registry changes; it is held only briefly and never across I/O. Lock order: an id's
 * lifecycle lock, then {@code lock}.
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

  private final ReentrantLock lock = new ReentrantLock();
  private volatile State state = State.NEW;
  /**
   * The public broker object while started: a running broker must stay reachable (and so never be
   * closed as a leak) even when its creator holds no reference, as a running server does.
   */
  private volatile Object pinnedFront;
  private final CompletableFuture<Void> closed = new CompletableFuture<>();
  /** The broker's middlewares; replaced (copy on write) under {@code lock}, read per message. */
  private volatile Middleware[] middlewares = MiddlewareStack.NONE;
  /** Links around Brook's own consume links (tracing); replaced (copy on write) under {@code lock}, read per message. */
  private volatile Middleware[] instrumentation = MiddlewareStack.NONE;
  private volatile boolean accessLog = true;

  private final Registry registry;
  private final Requests requests = new Requests(this);
  private final Publishing publishing = new Publishing(this, requests);
  private final Including including = new Including(this);

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
    this.registry = new Registry(this, lock, frameworkClasses);
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

  Registry registry() {
    return registry;
  }

  Publishing publishing() {
    return publishing;
  }

  /** The caller's {@code jakarta.validation.Validator} for {@code @Valid} payloads; see {@code BrokerBase.Builder.validator}. */
  public void validator(Object validator) {
    including.validator(validator);
  }

  Including including() {
    return including;
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

  /** The broker's defaults for subscriptions: ack policy, parser, decoder; the front sets them once, before any. */
  private volatile SubscriptionHooks defaults = SubscriptionHooks.NONE;

  public void defaults(AckPolicy ackPolicy, MessageParser parser, MessageDecoder decoder) {
    this.defaults = SubscriptionHooks.of(ackPolicy, parser, decoder);
  }

  SubscriptionHooks defaults() {
    return defaults;
  }

  /** Adds a broker middleware after the others; running subscriptions take it from their next message. */
  public void middleware(Middleware middleware) {
    Objects.requireNonNull(middleware, "middleware");
    lock.lock();
    try {
      Middleware[] now = middlewares;
      Middleware[] next = Arrays.copyOf(now, now.length + 1);
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

  /** The broker's middlewares now; the array is never modified (a change replaces it). */
  Middleware[] middlewares() {
    return middlewares;
  }

  /**
   * Adds an instrumentation link: its consume scope runs outside Brook's own links (access log,
   * settlement, result publishing, decoding), first of all, for every subscription's messages from
   * their next one; its publish scope is not used. Tracing puts a span around a message's whole
   * processing this way (see {@code dev.brook.spi.Brokers#instrument}).
   */
  public void instrument(Middleware link) {
    Objects.requireNonNull(link, "link");
    lock.lock();
    try {
      Middleware[] now = instrumentation;
      Middleware[] next = Arrays.copyOf(now, now.length + 1);
      next[now.length] = link;
      instrumentation = next;
    } finally {
      lock.unlock();
    }
  }

  /** Removes an instrumentation link (the first one equal to it). */
  public void removeInstrumentation(Middleware link) {
    lock.lock();
    try {
      List<Middleware> now = new ArrayList<>(List.of(instrumentation));
      if (now.remove(link)) {
        instrumentation = now.toArray(Middleware[]::new);
      }
    } finally {
      lock.unlock();
    }
  }

  /** The instrumentation links now (usually none); the array is never modified (a change replaces it). */
  Middleware[] instrumentation() {
    return instrumentation;
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
    forEachConcurrently(registry.snapshot(), s -> registry.lifecycle(s.id(), () -> s.stop(deadline, true)), deadline);
    requests.reset(deadline);
  }

  // ---- the broker API, served by the parts ---------------------------------------------------

  public SubscriberBuilder subscriber(Destination destination) {
    Objects.requireNonNull(destination, "destination");
    return new DefaultSubscriberBuilder(registry::register, destination, true);
  }

  public List<Subscription> include(Object handlers) {
    return including.include(handlers);
  }

  public List<Subscription> include(Router router) {
    return including.include(router);
  }

  public Collection<Subscription> subscriptions() {
    return registry.view();
  }

  public Subscription subscription(String id) {
    return registry.get(id);
  }

  public Publisher publisher(Destination destination) {
    return publishing.publisher(destination);
  }

  /** Dependent stages of the returned future never run on the transport's I/O thread ({@link UserFuture}). */
  public CompletableFuture<Void> publishAsync(Object payload, Destination destination, Map<String, String> headers) {
    return publishing.publishAsync(payload, destination, headers, middlewares);
  }

  public void publish(Object payload, Destination destination, Map<String, String> headers) {
    publishing.await(publishAsync(payload, destination, headers), destination);
  }

  public dev.brook.PublishResult publish(Object payload, Destination destination, Map<String, String> headers,
      dev.brook.PublishOptions options) {
    return publishing.publish(payload, destination, headers, options, middlewares);
  }

  public CompletableFuture<dev.brook.PublishResult> publishAsync(Object payload, Destination destination,
      Map<String, String> headers, dev.brook.PublishOptions options) {
    return publishing.publishAsync(payload, destination, headers, options, middlewares);
  }

  public void pipeline(java.util.function.Consumer<dev.brook.Pipeline> commands) {
    publishing.pipeline(commands, middlewares);
  }

  public CompletableFuture<Void> pipelineAsync(java.util.function.Consumer<dev.brook.Pipeline> commands) {
    return publishing.pipelineAsync(commands, middlewares);
  }

  public void publishBatch(Collection<?> payloads, Destination destination) {
    publishing.publishBatch(payloads, destination, Map.of(), middlewares);
  }

  public <R> CompletableFuture<R> requestAsync(Object payload, Destination destination, Type replyType, Duration timeout) {
    return publishing.requestAsync(payload, destination, replyType, timeout, Map.of(), middlewares);
  }

  public <R> R request(Object payload, Destination destination, Type replyType, Duration timeout) {
    return publishing.request(payload, destination, replyType, timeout, Map.of(), middlewares);
  }

  /** A request with headers; {@code whole}: the result is the whole reply, a {@code Message}. */
  public <T> T request(Object payload, Destination destination, Map<String, String> headers, Type replyType,
      Duration timeout, boolean whole) {
    return publishing.request(payload, destination, replyType, timeout, headers, middlewares, whole);
  }

  /** A request with headers without waiting; {@code whole}: the result is the whole reply, a {@code Message}. */
  public <T> CompletableFuture<T> requestAsync(Object payload, Destination destination, Map<String, String> headers,
      Type replyType, Duration timeout, boolean whole) {
    return publishing.requestAsync(payload, destination, replyType, timeout, headers, middlewares, whole);
  }

  /** The reply channel's name, or null before the first request. */
  String replyChannel() {
    return requests.replyChannel();
  }

  public RequestMetrics requestMetrics() {
    return requests.metrics();
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
      for (DefaultSubscription s : registry.snapshot()) {
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
    AtomicInteger next = new AtomicInteger();
    AtomicReference<RuntimeException> failure = new AtomicReference<>();
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
    registry.lifecycle(s.id(), () -> {
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

  /** Connects for a subscription started by hand, before or without {@link #start}. */
  void connectForSubscription() {
    ensureOpen("start a subscription on");
    transport.connect();
  }

  /** Whether the broker is closing or closed: a router attached to it no longer registers here. */
  boolean closing() {
    State s = state;
    return s == State.CLOSING || s == State.CLOSED;
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
      running = registry.snapshot();
    } finally {
      lock.unlock();
    }
    long deadline = deadline();
    forEachConcurrently(running, s -> registry.lifecycle(s.id(), () -> s.stop(deadline, true)), deadline);
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
      open = registry.snapshot();
    } finally {
      lock.unlock();
    }
    if (!first) {
      closed.join();
      return;
    }
    try {
      long deadline = deadline();
      forEachConcurrently(open, s -> registry.lifecycle(s.id(), () -> s.close(deadline)), deadline);
      registry.clear();
      requests.close(deadline);
    } finally {
      try {
        lock.lock();
        try {
          state = State.CLOSED;
        } finally {
          lock.unlock();
        }
        including.close();
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
  private static void forEachConcurrently(List<DefaultSubscription> subs, Consumer<DefaultSubscription> action,
      long deadlineNanos) {
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

  /** See {@code Broker.health}: the transport's server check, then each subscription's. Never throws. */
  public dev.brook.Health health(dev.brook.Health.Options options) {
    Objects.requireNonNull(options, "options");
    java.time.Instant checkedAt = java.time.Instant.now();
    Transport t = transport;
    if (isClosed()) {
      return new dev.brook.Health(dev.brook.Health.Status.DOWN, checkedAt,
          new dev.brook.Health.Server(t.describe(), false, null, false), List.of(),
          List.of("the broker is closed"));
    }
    dev.brook.Health.Server server;
    try {
      server = t.health(options.timeout());
    } catch (RuntimeException e) {
      LOG.debug("Health check of {} failed", t.describe(), e);
      server = new dev.brook.Health.Server(t.describe(), false, null, false);
    }
    List<dev.brook.Health.SubscriptionHealth> subs = new ArrayList<>();
    List<String> problems = new ArrayList<>();
    dev.brook.Health.Status status = dev.brook.Health.Status.UP;
    if (!server.reachable()) {
      status = dev.brook.Health.Status.DOWN;
      problems.add(server.name() + " did not answer a PING within " + options.timeout().toMillis() + " ms"
          + (server.reconnecting() ? " (reconnecting)" : ""));
    } else if (server.reconnecting()) {
      status = dev.brook.Health.Status.DEGRADED;
      problems.add("a connection to " + server.name() + " is lost and being reconnected");
    }
    long nowNanos = System.nanoTime();
    long nowMillis = System.currentTimeMillis();
    List<Subscription> all = new ArrayList<>(subscriptions());
    all.sort(java.util.Comparator.comparing(Subscription::id));
    for (Subscription s : all) {
      if (s instanceof DefaultSubscription d) {
        dev.brook.Health.SubscriptionHealth h = d.health(nowNanos, nowMillis, options, server.reachable());
        subs.add(h);
        if (h.problem() != null) {
          problems.add(h.problem());
          status = status.and(h.status());
        }
      }
    }
    if (isClosed()) {
      status = dev.brook.Health.Status.DOWN;
      problems.add(0, "the broker is closed");
    }
    return new dev.brook.Health(status, checkedAt, server, subs, problems);
  }

  /** Asks the transport in use for a PING; see {@code Broker.ping}. */
  public boolean ping(Duration timeout) {
    Objects.requireNonNull(timeout, "timeout");
    if (timeout.isNegative() || timeout.isZero()) {
      throw new IllegalArgumentException("ping needs a positive timeout, was " + timeout + ".");
    }
    ensureOpen("ping");
    return transport.ping(timeout);
  }

  void ensureOpen(String action) {
    State s = state;
    if (s == State.CLOSED || s == State.CLOSING) {
      throw new IllegalStateException("Cannot " + action + " broker " + transport.describe()
          + ": it is closed. A closed broker cannot be reused; create a new one.");
    }
  }

  /** Publishing stays open while the broker closes, until its handlers have finished. */
  void ensurePublishing() {
    if (state == State.CLOSED) {
      throw new IllegalStateException("Cannot publish with broker " + transport.describe()
          + ": it is closed. A closed broker cannot be reused; create a new one.");
    }
  }
}
