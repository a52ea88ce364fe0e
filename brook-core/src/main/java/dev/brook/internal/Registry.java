package dev.brook.internal;

import dev.brook.BrookException;
import dev.brook.DuplicatePolicy;
import dev.brook.DuplicateSubscriptionException;
import dev.brook.Subscription;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The subscriptions of one broker by id, and the lifecycle lock of each id, which keeps one live
 * subscription per id.
 *
 * <p>One id, one live consumer: every change to the subscriptions of one id — register (and the
 * close of the one it replaces), start, stop, close — runs under that id's lifecycle lock ({@link
 * Slot}, through {@link #lifecycle}), so they happen one after the other: a replacement starts only
 * once the subscription it replaces has stopped and given back what it held, and racing
 * registrations of one id end with exactly one running consumer and never two at once. The
 * lifecycle lock may be held across a drain (up to the graceful timeout); it is per id, and no
 * message processing takes it.
 *
 * <p>{@code lock} is the engine's lock, shared: registry changes and the broker's state transitions
 * happen under it, so a registration and the broker's start, stop and close see the registry and
 * the broker's state as one. It is held only briefly and never across I/O. Lock order: an id's
 * lifecycle lock, then {@code lock}.
 */
final class Registry {

  private static final Logger LOG = LoggerFactory.getLogger("dev.brook.Broker");

  private final BrokerEngine engine;
  private final ReentrantLock lock;
  private final Class<?>[] frameworkClasses;
  private final ConcurrentHashMap<String, DefaultSubscription> registry = new ConcurrentHashMap<>();
  /** The lifecycle lock of each id some thread is changing now; an entry lives while it is in use. */
  private final ConcurrentHashMap<String, Slot> slots = new ConcurrentHashMap<>();
  private final Collection<Subscription> view = Collections.unmodifiableCollection(registry.values());
  /**
   * Per id, the mailbox of the last stop whose drain left a handler running (it ignored the
   * interrupt): the id's next start waits for it (see {@code Mailbox.predecessor}). Taken by that
   * start; cleared with the registry.
   */
  private final ConcurrentHashMap<String, Mailbox> leftRunning = new ConcurrentHashMap<>();

  /**
   * @param lock the engine's lock (see the class comment)
   * @param frameworkClasses classes of the front (e.g. RedisBroker) whose frames are skipped when
   *     recording where a subscription was registered
   */
  Registry(BrokerEngine engine, ReentrantLock lock, Class<?>[] frameworkClasses) {
    this.engine = engine;
    this.lock = lock;
    this.frameworkClasses = frameworkClasses.clone();
  }

  Subscription register(SubscriptionSpec spec) {
    engine.ensureOpen("register a subscription on");
    String id = spec.effectiveId();
    String registeredAt = CallSite.find(frameworkClasses);
    Codec.Decoder decoder = engine.codec().decoderFor(spec.payloadType());
    if (spec.ackPolicy() != null && !spec.destination().atLeastOnce()) {
      LOG.warn("Subscription '{}' sets ackPolicy {}, but {} is at-most-once: there is nothing to acknowledge, "
          + "so the policy has no effect.", id, spec.ackPolicy(), spec.destination().key());
    }
    DefaultSubscription created = spec.handler() instanceof PullHandoff pull
        ? new DefaultPullSubscription<>(engine, spec, registeredAt, decoder, pull)
        : new DefaultSubscription(engine, spec, registeredAt, decoder);
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
      engine.ensureOpen("register a subscription on");
      previous = registry.get(id);
      if (previous != null && created.origin() != null && created.origin().equals(previous.origin())) {
        return previous; // the same declaration included again: nothing to change
      }
      if (previous != null && engine.duplicatePolicy() == DuplicatePolicy.REJECT) {
        throw new DuplicateSubscriptionException(id, previous.registeredAt());
      }
      registry.put(id, created);
      start = engine.running();
    } finally {
      lock.unlock();
    }
    if (previous != null) {
      logReplaced(id, created.registeredAt(), previous.registeredAt());
      previous.close(engine.deadline());
    }
    if (start && engine.running()) {
      try {
        created.startInternal();
      } catch (RuntimeException e) {
        // The caller gets no subscription to retry with: leave nothing of it behind.
        created.close(engine.deadline());
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

  private Slot acquireSlot(String id) {
    return slots.compute(id, (k, s) -> {
      Slot held = s != null ? s : new Slot();
      held.users++;
      return held;
    });
  }

  private void releaseSlot(String id) {
    slots.computeIfPresent(id, (k, s) -> --s.users == 0 ? null : s);
  }

  /**
   * Runs a lifecycle change of the subscriptions of {@code id} after every change of that id that
   * began before it, and returns its result.
   *
   * <p>A handler that stops or closes its own subscription while another change of its id waits for
   * that very handler to finish (a broker stop draining it) must not wait for the lock: see {@link
   * #lifecycleFromHandler}.
   */
  <T> T lifecycle(String id, Supplier<T> change) {
    Slot slot = acquireSlot(id);
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
      releaseSlot(id);
    }
  }

  void lifecycle(String id, Runnable change) {
    lifecycle(id, () -> {
      change.run();
      return null;
    });
  }

  /**
   * Stops or closes a subscription, from any thread. On one of the subscription's own handler
   * threads, when another change of its id holds the lock (it may be waiting for this very handler
   * to finish), the change runs on its own thread ({@code brook-stop:<id>}) once the lock is free,
   * and this returns at once.
   */
  void lifecycleFromHandler(DefaultSubscription subscription, Runnable change) {
    if (Mailbox.currentOwner() == subscription) {
      Slot slot = acquireSlot(subscription.id());
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
        releaseSlot(subscription.id());
      }
      // The change runs later: meanwhile this subscription's workers must not handle what it
      // buffered (a StopConsume would otherwise let the next messages run before the stop).
      Mailbox.pauseCurrent();
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

  /** A live, unmodifiable view of the registered subscriptions. */
  Collection<Subscription> view() {
    return view;
  }

  Subscription get(String id) {
    return registry.get(id);
  }

  /** A copy of the registered subscriptions now. */
  List<DefaultSubscription> snapshot() {
    return new ArrayList<>(registry.values());
  }

  /** Called under the id's lifecycle lock by a stop whose drain left {@code box}'s handlers running. */
  void leftRunning(String id, Mailbox box) {
    Mailbox m = box.leftRunning();
    if (m != null) {
      leftRunning.put(id, m);
    }
  }

  /** Called under the id's lifecycle lock by a start: the mailbox whose handlers it must wait for, or null. */
  Mailbox takeLeftRunning(String id) {
    return leftRunning.remove(id);
  }

  /** Forgets every subscription; the broker's close, after closing them. */
  void clear() {
    leftRunning.clear();
    registry.clear();
  }
}
