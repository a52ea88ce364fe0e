package dev.brook.internal;

import dev.brook.spi.Transport;
import dev.brook.spi.Inbound;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Consumer;

/**
 * Hands received messages from a transport's thread to virtual worker threads, at most {@code
 * concurrency} at a time, through a bounded buffer.
 *
 * <p>No thread waits while the buffer is empty: a worker is started when a message arrives and
 * fewer than {@code concurrency} are running; it drains the buffer and ends. An idle subscription
 * costs no thread, and 10,000 subscriptions cost 10,000 empty queues. With concurrency 1 exactly
 * one worker drains at a time, which keeps the order of messages. With a batch size above 1 a
 * worker takes up to that many messages that are already waiting — it never waits for more.
 *
 * <p>Bounded: at-most-once messages (Pub/Sub) beyond the capacity are discarded and counted; the
 * consumers of at-least-once destinations call {@link #awaitCapacity} before fetching, so Redis
 * keeps what the subscription cannot take yet.
 *
 * <p>Threads: {@link #offer} runs on transport threads and never blocks; workers run {@code
 * process}; {@link #drain} runs on the thread stopping the subscription. A drain (and a {@link
 * #withdraw}) takes the messages that go back out of the buffer in one step for the workers, so a
 * stop never reorders healthy messages: what goes back is what no worker took, and no worker took a
 * message behind one that goes back.
 */
final class Mailbox {

  /** How long a drain waits for handlers it interrupted at the deadline to return. */
  private static final long INTERRUPT_GRACE_NANOS = TimeUnit.MILLISECONDS.toNanos(500);

  private final String threadName;
  private final int concurrency;
  private final int capacity;
  private final int batchSize;
  private final Consumer<List<Inbound>> process;
  private final Consumer<Inbound> discard;

  private final ConcurrentLinkedQueue<Inbound> queue = new ConcurrentLinkedQueue<>();
  private final AtomicInteger size = new AtomicInteger();
  private final AtomicInteger running = new AtomicInteger();
  /** Live workers and since when each is busy with its current messages (for health: a stuck handler). */
  private final ConcurrentHashMap<Thread, Busy> workers = new ConcurrentHashMap<>();
  private final ReentrantLock lock = new ReentrantLock();
  /**
   * Held while a worker takes from the queue and while a stop (or a partition's hand-over) takes
   * buffered messages out to give them back, so the two never interleave. Without it a worker that
   * finished its message during a drain polled the queue's head while the drain was polling it too:
   * it handled whatever message the drain had reached, and the earlier messages of the same key the
   * drain had already taken went back to Redis and were handled after it, by the replacement (the
   * per-key reordering seen across a REPLACE of a partitioned stream). Never held across I/O or a
   * handler; uncontended except at a stop.
   */
  private final ReentrantLock takeLock = new ReentrantLock();
  private final Condition idle = lock.newCondition();
  private final Condition room = lock.newCondition();
  private volatile boolean waitingForRoom;
  /** Whether a message keeps its room until processed, not only until taken (a pull subscription). */
  private boolean holdRoomWhileProcessing;
  /** In that mode: the room the messages being processed hold (concurrency 1: one worker's). */
  private final AtomicInteger held = new AtomicInteger();
  /** Consumers no longer wait for room: the subscription is stopping (see {@link #endRoomWaits}). */
  private volatile boolean roomWaitsEnded;
  private volatile boolean closed;
  /** Set by {@link #pauseCurrent}: workers take nothing more until the drain (which ends this mailbox). */
  private volatile boolean paused;
  /** Workers the drain interrupted at the graceful deadline; their messages go back to Redis. */
  private final Set<Thread> interruptedByStop = ConcurrentHashMap.newKeySet();
  /**
   * The previous mailbox of this id while a handler it left behind still runs (one that ignored the
   * drain's interrupt): this mailbox's workers take nothing until it has ended, so a replacement (or
   * a restart) never runs a handler beside it — two handlers of one id never run at once, even when
   * one ignores interrupts. Messages wait in the buffer meanwhile; a drain gives them back as usual.
   */
  private volatile Mailbox predecessor;
  /** The mailbox whose worker the current thread is, or null: how a handler's thread is recognised. */
  private static final ThreadLocal<Mailbox> CURRENT = new ThreadLocal<>();
  /** Who this mailbox works for (the subscription); compared by identity. */
  private final Object owner;

  /**
   * @param process handles messages (one, or up to {@code batchSize}) on a worker thread; must not throw
   * @param discard called for an at-most-once message that will never be processed (buffer full,
   *     or left when the drain deadline passed)
   */
  Mailbox(Object owner, String threadName, int concurrency, int capacity, int batchSize,
      Consumer<List<Inbound>> process, Consumer<Inbound> discard) {
    this.owner = owner;
    this.threadName = threadName;
    this.concurrency = concurrency;
    this.capacity = capacity;
    this.batchSize = batchSize;
    this.process = process;
    this.discard = discard;
  }

  /**
   * Buffers a message and makes sure a worker will take it. An at-most-once message is discarded
   * when the buffer is full or closed; an at-least-once one is released back to Redis when closed
   * and always accepted otherwise (its consumer waited for room).
   */
  boolean offer(Inbound message) {
    if (closed) {
      giveUp(message);
      return false;
    }
    if (size.incrementAndGet() > capacity && !message.atLeastOnce()) {
      size.decrementAndGet();
      discard.accept(message);
      message.processed(null);
      return false;
    }
    queue.add(message);
    maybeStartWorker();
    return true;
  }

  /**
   * Buffers messages fetched together before any worker looks, so a batch subscription gets them in
   * one batch (a worker started by the first would otherwise take it alone).
   */
  void offerAll(List<? extends Inbound> messages) {
    if (messages.size() == 1) {
      offer(messages.get(0));
      return;
    }
    boolean any = false;
    for (Inbound message : messages) {
      if (closed) {
        giveUp(message);
      } else if (size.incrementAndGet() > capacity && !message.atLeastOnce()) {
        size.decrementAndGet();
        discard.accept(message);
        message.processed(null);
      } else {
        queue.add(message);
        any = true;
      }
    }
    if (any) {
      maybeStartWorker();
      if (concurrency > 1) {
        // Several messages may keep several workers busy.
        for (int i = 1; i < Math.min(concurrency, messages.size()); i++) {
          maybeStartWorker();
        }
      }
    }
  }

  /**
   * Blocks until {@code n} more messages fit, so a consumer fetches no more than the subscription
   * can take; returns false at once when the mailbox is closed.
   */
  boolean awaitCapacity(int n) throws InterruptedException {
    int want = Math.min(n, capacity);
    if (capacity - size.get() >= want) {
      return !closed;
    }
    lock.lock();
    try {
      waitingForRoom = true;
      while (!closed && !roomWaitsEnded && capacity - size.get() < want) {
        room.await(100, TimeUnit.MILLISECONDS);
      }
      return !closed && !roomWaitsEnded;
    } finally {
      waitingForRoom = false;
      lock.unlock();
    }
  }

  /**
   * Makes a message keep its room in the buffer until it is processed, not only until a worker
   * takes it: with a capacity of 1 the consumer fetches the next message only when the last one is
   * done (a pull subscription, whose handler waits for a caller). Call before the first offer.
   */
  void holdRoomWhileProcessing() {
    holdRoomWhileProcessing = true;
  }

  /**
   * Gives back the room the current worker's messages hold, before they are settled: the handler is
   * done with them (a pull subscription's caller is). No-op off a worker or when nothing is held.
   */
  /**
   * The handler on this thread asked its own subscription to stop, and the stop must wait for
   * another change of the id: until that stop drains this mailbox, its workers take no more
   * messages (they stay buffered and go back to Redis in order with the drain), so nothing is
   * handled after the handler asked to stop. Worker thread only; no-op elsewhere.
   */
  static void pauseCurrent() {
    Mailbox box = CURRENT.get();
    if (box != null) {
      box.paused = true;
    }
  }

  static void freeHeldRoom() {
    Mailbox box = CURRENT.get();
    if (box != null && box.holdRoomWhileProcessing) {
      int n = box.held.getAndSet(0);
      if (n > 0) {
        box.freeRoom(n);
      }
    }
  }

  /**
   * From now on {@link #awaitCapacity} returns false rather than wait: the subscription stops, and a
   * consumer waiting for room that a handler holds must end its loop rather than hold up the stop.
   */
  void endRoomWaits() {
    roomWaitsEnded = true;
    signal(room);
  }

  /** This mailbox as the sink a transport's consumer delivers to. */
  Transport.Sink sink() {
    return new Transport.Sink() {
      @Override
      public void accept(Inbound message) {
        offer(message);
      }

      @Override
      public void acceptAll(List<? extends Inbound> messages) {
        offerAll(messages);
      }

      @Override
      public boolean awaitCapacity(int n) throws InterruptedException {
        return Mailbox.this.awaitCapacity(n);
      }

      @Override
      public int room() {
        return Mailbox.this.room();
      }

      @Override
      public int withdraw(java.util.function.Predicate<Inbound> which) {
        return Mailbox.this.withdraw(which);
      }
    };
  }

  /** See {@link Transport.Sink#withdraw}: removes the selected at-least-once messages from the queue and releases them. */
  int withdraw(java.util.function.Predicate<Inbound> which) {
    List<Inbound> out = new ArrayList<>();
    // Atomic for the workers: none takes a later message of the selection while an earlier one is
    // being taken out (see takeLock).
    takeLock.lock();
    try {
      queue.removeIf(m -> {
        if (m.atLeastOnce() && which.test(m)) {
          out.add(m);
          return true;
        }
        return false;
      });
    } finally {
      takeLock.unlock();
    }
    if (!out.isEmpty()) {
      freeRoom(out.size());
      releaseAll(out);
    }
    return out.size();
  }

  /** Room left in the buffer now. */
  int room() {
    return Math.max(0, capacity - size.get());
  }

  private void giveUp(Inbound message) {
    if (message.atLeastOnce()) {
      message.release();
    } else {
      discard.accept(message);
    }
    message.processed(null);
  }

  private void maybeStartWorker() {
    while (!paused) {
      int r = running.get();
      if (r >= concurrency || queue.isEmpty()) return;
      if (running.compareAndSet(r, r + 1)) {
        Thread.ofVirtual().name(threadName).start(this::work);
        return;
      }
    }
  }

  private void work() {
    Thread self = Thread.currentThread();
    Busy busy = new Busy();
    workers.put(self, busy);
    CURRENT.set(this);
    try {
      Mailbox before = predecessor;
      if (before != null) {
        if (!before.awaitNoWorkers()) {
          return; // interrupted by this mailbox's own drain: take nothing, the drain gives it all back
        }
        predecessor = null;
      }
      while (true) {
        List<Inbound> batch = take();
        if (batch.isEmpty()) {
          break;
        }
        // One clock read and one volatile write per batch: what health() needs to see a handler
        // that never returns. Not reset after the batch: the worker takes the next one at once or ends.
        busy.since = System.nanoTime();
        try {
          process.accept(batch);
        } finally {
          if (holdRoomWhileProcessing) {
            int n = held.getAndSet(0);
            if (n > 0) {
              freeRoom(n);
            }
          }
        }
      }
    } finally {
      CURRENT.remove();
      interruptedByStop.remove(self);
      workers.remove(self);
      running.decrementAndGet();
      // A message may have been queued after our last poll but before running dropped.
      if (!queue.isEmpty() && !closed && !paused) {
        maybeStartWorker();
      }
      signal(idle);
    }
  }

  private List<Inbound> take() {
    if (paused) {
      return List.of();
    }
    List<Inbound> batch;
    takeLock.lock();
    try {
      Inbound first = queue.poll();
      if (first == null) {
        return List.of();
      }
      if (batchSize == 1) {
        batch = List.of(first);
      } else {
        batch = new ArrayList<>(Math.min(batchSize, 64));
        batch.add(first);
        Inbound next;
        while (batch.size() < batchSize && (next = queue.poll()) != null) {
          batch.add(next);
        }
      }
    } finally {
      takeLock.unlock();
    }
    if (holdRoomWhileProcessing) {
      held.addAndGet(batch.size());
    } else {
      freeRoom(batch.size());
    }
    return batch;
  }

  private void freeRoom(int n) {
    size.addAndGet(-n);
    if (waitingForRoom) {
      signal(room);
    }
  }

  private void signal(Condition condition) {
    lock.lock();
    try {
      condition.signalAll();
    } finally {
      lock.unlock();
    }
  }

  /**
   * Takes no more messages. Buffered at-least-once messages go back to Redis at once (nothing
   * started them); buffered at-most-once ones are still handled. Then waits until no worker runs or
   * the deadline passes, interrupts workers still running, gives up what is left, and waits up to
   * half a second more for the interrupted workers to return (so they can give their messages back).
   *
   * @return true when everything finished before the deadline
   */
  boolean drain(long deadlineNanos) {
    List<Inbound> release = new ArrayList<>();
    // One step for the workers (see takeLock): a worker either took a message before the drain began
    // (the earliest buffered: it is handled, and the drain waits for it) or takes none of those that
    // go back, so what goes back is always a suffix of what was buffered.
    takeLock.lock();
    try {
      closed = true;
      queue.removeIf(m -> m.atLeastOnce() && release.add(m)); // at-most-once ones stay, in order
      size.addAndGet(-release.size());
    } finally {
      takeLock.unlock();
    }
    signal(room);
    releaseAll(release);
    boolean finished = awaitIdle(deadlineNanos);
    // What is still buffered is given up before the interrupts: an interrupted worker must not take
    // the next buffered message and run its handler after the deadline.
    List<Inbound> left = new ArrayList<>();
    takeLock.lock();
    try {
      Inbound m;
      while ((m = queue.poll()) != null) {
        size.decrementAndGet();
        left.add(m);
      }
    } finally {
      takeLock.unlock();
    }
    left.forEach(this::giveUp);
    if (!finished) {
      for (Thread t : workers.keySet()) {
        if (t != Thread.currentThread()) {
          interruptedByStop.add(t);
          t.interrupt();
        }
      }
    }
    if (!finished) {
      // Give interrupted handlers a moment to unwind, so their messages are given back (released)
      // before the caller releases the connection; a handler that ignores interrupts is left behind.
      awaitWorkers(System.nanoTime() + INTERRUPT_GRACE_NANOS);
    }
    return finished;
  }

  /**
   * Gives buffered at-least-once messages back in one call, in the order they arrived, so the
   * transport can restore their order (a List requeues them at its head) and use one command.
   */
  private static void releaseAll(List<Inbound> messages) {
    if (messages.isEmpty()) {
      return;
    }
    messages.get(0).releaseAll(messages);
    for (Inbound r : messages) {
      r.processed(null);
    }
  }

  /**
   * Whether the current thread is a worker whose handler the drain interrupted at the graceful
   * deadline: its message goes back to Redis whatever the handler then throws.
   */
  static boolean interruptedByStop() {
    Mailbox box = CURRENT.get();
    return box != null && box.interruptedByStop.contains(Thread.currentThread());
  }

  /** The owner of the mailbox the current thread works for, or null when it is no worker. */
  static Object currentOwner() {
    Mailbox box = CURRENT.get();
    return box == null ? null : box.owner;
  }

  private boolean awaitIdle(long deadlineNanos) {
    // A handler that stops its own subscription must not wait for itself.
    int self = workers.containsKey(Thread.currentThread()) ? 1 : 0;
    lock.lock();
    try {
      while (running.get() > self || !queue.isEmpty()) {
        // Closed mailboxes still process what they buffered; make sure someone takes it.
        maybeStartWorker();
        long left = deadlineNanos - System.nanoTime();
        if (left <= 0) return false;
        idle.await(Math.min(left, TimeUnit.MILLISECONDS.toNanos(50)), TimeUnit.NANOSECONDS);
      }
      return true;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return false;
    } finally {
      lock.unlock();
    }
  }

  /**
   * Makes this (new, not yet used) mailbox wait for {@code previous}'s handlers still running, if
   * any; see {@link #predecessor}.
   */
  void follow(Mailbox previous) {
    if (previous != null) {
      predecessor = previous.leftRunning();
    }
  }

  /**
   * This mailbox if a worker still runs (a handler that outlived the drain), else the one it
   * follows if that one's still does, else null: what a later mailbox of the id must wait for.
   */
  Mailbox leftRunning() {
    if (running.get() > 0) {
      return this;
    }
    Mailbox p = predecessor;
    return p == null ? null : p.leftRunning();
  }

  /** Waits, without deadline, until no worker runs; false when the waiting thread is interrupted. */
  private boolean awaitNoWorkers() {
    lock.lock();
    try {
      while (running.get() > 0) {
        idle.await(50, TimeUnit.MILLISECONDS);
      }
      return true;
    } catch (InterruptedException e) {
      return false;
    } finally {
      lock.unlock();
    }
  }

  /** Waits until the running workers have ended (starting none), or the deadline. */
  private void awaitWorkers(long deadlineNanos) {
    int self = workers.containsKey(Thread.currentThread()) ? 1 : 0;
    lock.lock();
    try {
      while (running.get() > self) {
        long left = deadlineNanos - System.nanoTime();
        if (left <= 0) return;
        idle.await(Math.min(left, TimeUnit.MILLISECONDS.toNanos(50)), TimeUnit.NANOSECONDS);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } finally {
      lock.unlock();
    }
  }

  int buffered() {
    return size.get();
  }

  /** Worker threads alive now. */
  int liveWorkers() {
    return workers.size();
  }

  /** Since when a worker is busy with its current messages (System.nanoTime), 0 before its first. */
  private static final class Busy {
    volatile long since;
  }

  /**
   * For health: {@code [workers busy now, nanoseconds the longest-running one has been busy]}. A
   * snapshot, racy by nature: a worker that just finished may still count for a moment.
   */
  long[] busy(long nowNanos) {
    long count = 0;
    long oldest = 0;
    for (Busy b : workers.values()) {
      long since = b.since;
      if (since != 0) {
        count++;
        oldest = Math.max(oldest, nowNanos - since);
      }
    }
    return new long[] {count, oldest};
  }
}
