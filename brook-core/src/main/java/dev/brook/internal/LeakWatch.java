package dev.brook.internal;

import java.lang.ref.PhantomReference;
import java.lang.ref.ReferenceQueue;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Runs an action when its owner becomes unreachable without having run it (a broker dropped
 * unclosed), like {@link java.lang.ref.Cleaner}, but its one thread, {@code brook-cleaner}, lives
 * only while some owner is registered: it starts with the first registration and ends when the last
 * action has run, so once every broker is closed no Brook thread is left. A JDK Cleaner's thread
 * stays until the Cleaner itself is collected.
 *
 * <p>An action must not reference its owner (it would never become unreachable).
 */
public final class LeakWatch {

  private static final ReferenceQueue<Object> QUEUE = new ReferenceQueue<>();
  /** Keeps the references reachable so the GC enqueues them; guarded by LOCK for starting and stopping. */
  private static final Set<Watched> LIVE = ConcurrentHashMap.newKeySet();
  private static final Object LOCK = new Object();
  /** The current cleaner thread, or null when nothing is registered; guarded by LOCK. */
  private static Thread thread;

  private LeakWatch() {}

  /** Watches {@code owner}; {@code action} runs once, at {@link Watched#run()} or after the owner is collected. */
  public static Watched register(Object owner, Runnable action) {
    Watched watched = new Watched(owner, action);
    synchronized (LOCK) {
      LIVE.add(watched);
      if (thread == null) {
        thread = Thread.ofPlatform().name("brook-cleaner").daemon().start(LeakWatch::poll);
      }
    }
    return watched;
  }

  private static void poll() {
    while (true) {
      synchronized (LOCK) {
        if (thread != Thread.currentThread()) {
          return; // stopped (nothing left to watch), or replaced by a newer thread
        }
      }
      try {
        ((Watched) QUEUE.remove()).run();
      } catch (InterruptedException wakeUp) {
        // told to look whether it is still needed
      } catch (RuntimeException e) {
        org.slf4j.LoggerFactory.getLogger(LeakWatch.class).error("A leak action failed", e);
      }
    }
  }

  /** One watched owner. */
  public static final class Watched extends PhantomReference<Object> {
    private final Runnable action;
    private final AtomicBoolean ran = new AtomicBoolean();

    private Watched(Object owner, Runnable action) {
      super(owner, QUEUE);
      this.action = action;
    }

    /**
     * Runs the action unless it ran already, then stops watching; the last one stops the cleaner
     * thread and waits for it to end.
     */
    public void run() {
      if (!ran.compareAndSet(false, true)) {
        return;
      }
      try {
        action.run();
      } finally {
        clear(); // never enqueued now
        Thread stopped = null;
        synchronized (LOCK) {
          LIVE.remove(this);
          if (LIVE.isEmpty() && thread != null) {
            stopped = thread;
            thread = null;
          }
        }
        if (stopped != null && stopped != Thread.currentThread()) {
          stopped.interrupt();
          joinUninterruptibly(stopped);
        }
      }
    }
  }

  private static void joinUninterruptibly(Thread t) {
    boolean interrupted = false;
    try {
      while (true) {
        try {
          t.join(Duration.ofSeconds(5)); // it only waits in QUEUE.remove(): ends at once
          return;
        } catch (InterruptedException e) {
          interrupted = true;
        }
      }
    } finally {
      if (interrupted) {
        Thread.currentThread().interrupt();
      }
    }
  }
}
