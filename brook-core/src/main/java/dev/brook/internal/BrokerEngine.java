package dev.brook.internal;

import dev.brook.BrookException;
import dev.brook.Destination;
import dev.brook.DuplicatePolicy;
import dev.brook.DuplicateSubscriptionException;
import dev.brook.SubscriberBuilder;
import dev.brook.Subscription;
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
 * per id), the broker lifecycle, and publishing through the codec. A public broker class such as
 * {@code RedisBroker} is a thin front over one engine and one {@link Transport}.
 *
 * <p>Locking: {@code lock} guards registry changes and broker state transitions. It is never held
 * while a subscription drains (that may take the graceful timeout), so a handler may register or
 * close subscriptions.
 */
public final class BrokerEngine {

  private static final Logger LOG = LoggerFactory.getLogger("dev.brook.Broker");

  private enum State { NEW, RUNNING, STOPPED, CLOSED }

  private final Transport transport;
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

  // ---- registration -------------------------------------------------------------------------

  public SubscriberBuilder subscriber(Destination destination) {
    Objects.requireNonNull(destination, "destination");
    return new DefaultSubscriberBuilder(this, destination);
  }

  Subscription register(SubscriptionSpec spec) {
    ensureOpen("register a subscription on");
    String id = spec.id();
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
    for (DefaultSubscription s : registry.values()) {
      if (s.startsWithBroker()) {
        try {
          s.startInternal();
        } catch (IllegalStateException closedMeanwhile) {
          // Closed by another thread between the check and the start: nothing to start.
        }
      }
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
    } finally {
      try {
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

  public CompletableFuture<Void> publishAsync(Object payload, Destination destination, Map<String, String> headers) {
    Objects.requireNonNull(destination, "destination");
    Objects.requireNonNull(headers, "headers");
    ensureOpen("publish with");
    transport.connect();
    Frame frame = codec.encode(payload, headers);
    return transport.send(destination, frame);
  }

  public void publish(Object payload, Destination destination, Map<String, String> headers) {
    await(publishAsync(payload, destination, headers), destination);
  }

  public void publishBatch(java.util.Collection<?> payloads, Destination destination) {
    Objects.requireNonNull(destination, "destination");
    ensureOpen("publish with");
    transport.connect();
    List<Frame> frames = new ArrayList<>(payloads.size());
    for (Object p : payloads) {
      frames.add(codec.encode(p, Map.of()));
    }
    await(transport.sendBatch(destination, frames), destination);
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
