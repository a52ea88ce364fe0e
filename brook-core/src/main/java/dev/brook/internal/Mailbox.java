package dev.brook.internal;

import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Consumer;

/**
 * Hands received messages from a transport's I/O thread to virtual worker threads, at most
 * {@code concurrency} at a time, through a bounded buffer.
 *
 * <p>No thread waits while the buffer is empty: a worker is started when a message arrives and no
 * more than {@code concurrency} are running, drains the buffer, and ends. So an idle subscription
 * costs no thread at all, and 10,000 subscriptions cost 10,000 empty queues. With concurrency 1
 * exactly one worker drains at a time, which keeps the order of messages.
 *
 * <p>Threads: {@link #offer} runs on I/O threads and never blocks; workers run {@code process};
 * {@link #drain} runs on the thread stopping the subscription.
 */
final class Mailbox<M> {

  private final String threadName;
  private final int concurrency;
  private final int capacity;
  private final Consumer<M> process;
  private final Consumer<M> discard;

  private final ConcurrentLinkedQueue<M> queue = new ConcurrentLinkedQueue<>();
  private final AtomicInteger size = new AtomicInteger();
  private final AtomicInteger running = new AtomicInteger();
  private final Set<Thread> workers = ConcurrentHashMap.newKeySet();
  private final ReentrantLock lock = new ReentrantLock();
  private final Condition idle = lock.newCondition();
  private volatile boolean closed;

  /**
   * @param process handles one message on a worker thread; must not throw
   * @param discard called for a message that will never be processed (buffer full, or left when
   *     the drain deadline passed)
   */
  Mailbox(String threadName, int concurrency, int capacity, Consumer<M> process, Consumer<M> discard) {
    this.threadName = threadName;
    this.concurrency = concurrency;
    this.capacity = capacity;
    this.process = process;
    this.discard = discard;
  }

  /** Buffers a message and makes sure a worker will take it; returns false (and discards) when full or closed. */
  boolean offer(M message) {
    if (closed) {
      discard.accept(message);
      return false;
    }
    if (size.incrementAndGet() > capacity) {
      size.decrementAndGet();
      discard.accept(message);
      return false;
    }
    queue.add(message);
    maybeStartWorker();
    return true;
  }

  private void maybeStartWorker() {
    while (true) {
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
    workers.add(self);
    try {
      M m;
      while ((m = queue.poll()) != null) {
        size.decrementAndGet();
        process.accept(m);
      }
    } finally {
      workers.remove(self);
      running.decrementAndGet();
      // A message may have been queued after our last poll but before running dropped.
      if (!queue.isEmpty()) {
        maybeStartWorker();
      }
      if (running.get() <= 1) {
        signalIdle();
      }
    }
  }

  private void signalIdle() {
    lock.lock();
    try {
      idle.signalAll();
    } finally {
      lock.unlock();
    }
  }

  /**
   * Takes no more messages, waits until the buffer is processed and no worker runs, or the
   * deadline passes; then interrupts workers still running and discards what is left.
   *
   * @return true when everything finished before the deadline
   */
  boolean drain(long deadlineNanos) {
    closed = true;
    boolean finished = awaitIdle(deadlineNanos);
    if (!finished) {
      for (Thread t : workers) {
        t.interrupt();
      }
    }
    M m;
    while ((m = queue.poll()) != null) {
      size.decrementAndGet();
      discard.accept(m);
    }
    return finished;
  }

  private boolean awaitIdle(long deadlineNanos) {
    // A handler that stops its own subscription must not wait for itself.
    int self = workers.contains(Thread.currentThread()) ? 1 : 0;
    lock.lock();
    try {
      while (running.get() > self || !queue.isEmpty()) {
        // Safety net for a message queued as the last worker ended: make sure someone takes it.
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

  int buffered() {
    return size.get();
  }

  /** Worker threads alive now. */
  int liveWorkers() {
    return workers.size();
  }
}
