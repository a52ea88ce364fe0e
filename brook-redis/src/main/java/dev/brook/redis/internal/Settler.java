package dev.brook.redis.internal;

import dev.brook.internal.WarnLimit;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Sends one consumer's settlements (acknowledgements, requeues, dead letters) to Redis by group
 * commit: while one batch is on its way, new settlements queue, and when Redis confirms it,
 * everything queued goes in the next command. A quiet consumer sends each settlement at once; a busy
 * one sends one command per round trip whatever its rate; and one consumer never has more than one
 * command waiting on the shared connection, so its acknowledgements cannot overflow Lettuce's
 * request queue or fail because another subscription is busy.
 *
 * <p>Order: batches go one after the other, each in submission order, so settlements reach Redis in
 * the order they were submitted (a List's give-backs keep the queue's order).
 *
 * <p>Failures: a batch that fails (connection lost, timeout) is sent again after a back-off ({@link
 * Backoffs#RETRY}: 100 ms doubling to 5 s, on the transport's {@link Timing}), until Redis confirms
 * it or the settler is closed; nothing is dropped silently.
 * The consumer learns of each confirmed batch ({@code confirmed}) and of a batch that failed after
 * {@link #close()} ({@code abandoned}; what it settled stays in Redis and is delivered again).
 *
 * <p>Threads: {@link #submit} from any thread; sending continues on Lettuce's I/O thread (it only
 * dispatches the next asynchronous command); retries wait on a virtual thread {@code
 * brook-settle-retry}, which {@link #close()} ends.
 */
public final class Settler<T> {

  private static final Logger LOG = LoggerFactory.getLogger("dev.brook.redis.Settle");

  /** Sends one batch as one command (or a few pipelined ones) and completes when Redis answered. */
  public interface Sender<T> {
    CompletionStage<?> send(List<T> batch);
  }

  private final String what;
  private final int maxBatch;
  private final Sender<T> sender;
  private final Consumer<List<T>> confirmed;
  private final Consumer<List<T>> abandoned;
  private final Timing timing;

  private final ConcurrentLinkedQueue<T> queue = new ConcurrentLinkedQueue<>();
  /** Submitted and not yet confirmed or abandoned: queued plus the batch on its way. */
  private final AtomicInteger outstanding = new AtomicInteger();
  private final AtomicBoolean sending = new AtomicBoolean();
  private final ReentrantLock lock = new ReentrantLock();
  private final Condition idle = lock.newCondition();
  private final WarnLimit failureWarnings = WarnLimit.perMinute(WarnLimit.DECODE_WARNINGS_PER_MINUTE);
  private volatile boolean closed;
  private volatile Thread retrying;
  /** Runs once a batch no longer counts in {@link #outstanding()}; see {@link #afterDone}. */
  private volatile Runnable afterDone = () -> {};

  /**
   * @param what the settlements in words, for log lines ("settlements of list:jobs")
   * @param confirmed called once for every batch Redis confirmed, on the I/O thread; must be quick
   * @param abandoned called for a batch that fails once the settler is closed
   * @param timing the clock of the retries' back-off
   */
  public Settler(String what, int maxBatch, Sender<T> sender, Consumer<List<T>> confirmed, Consumer<List<T>> abandoned,
      Timing timing) {
    this.what = what;
    this.maxBatch = maxBatch;
    this.sender = sender;
    this.confirmed = confirmed;
    this.abandoned = abandoned;
    this.timing = timing;
  }

  /** Queues one settlement; it goes out at once, or with the next batch when one is on its way. */
  public void submit(T settlement) {
    outstanding.incrementAndGet();
    queue.add(settlement);
    sendNext();
  }

  /** Queues several settlements to go out together, in this order. */
  public void submitAll(List<T> settlements) {
    outstanding.addAndGet(settlements.size());
    queue.addAll(settlements);
    sendNext();
  }

  /**
   * Runs {@code listener} (on the I/O thread; must be quick) after each batch is confirmed or
   * abandoned <em>and</em> no longer counted in {@link #outstanding()}. A consumer waiting for
   * {@code outstanding()} to fall wakes here: the {@code confirmed} callback runs before the count
   * falls (so {@link #awaitIdle} returns only after it), and a wake-up there alone would be lost.
   */
  public void afterDone(Runnable listener) {
    this.afterDone = listener;
  }

  /** Settlements submitted and not yet confirmed (or abandoned). */
  public int outstanding() {
    return outstanding.get();
  }

  private void sendNext() {
    // Whoever sets `sending` sends; the one that clears it looks at the queue again, so a settlement
    // queued while a batch was on its way is never left behind.
    while (!queue.isEmpty() && sending.compareAndSet(false, true)) {
      List<T> batch = new ArrayList<>(Math.min(maxBatch, 64));
      T next;
      while (batch.size() < maxBatch && (next = queue.poll()) != null) {
        batch.add(next);
      }
      if (batch.isEmpty()) {
        sending.set(false);
        continue;
      }
      send(batch, 1);
      return;
    }
  }

  /** @param attempt this batch's attempt, from 1: the back-off after a failure grows with it */
  private void send(List<T> batch, long attempt) {
    CompletionStage<?> sent;
    try {
      sent = sender.send(batch);
    } catch (RuntimeException e) {
      sent = CompletableFuture.failedFuture(e);
    }
    sent.whenComplete((ok, error) -> {
      if (error == null) {
        done(batch, true);
      } else if (closed) {
        done(batch, false);
      } else {
        logFailure(error);
        retryLater(batch, attempt);
      }
    });
  }

  private void done(List<T> batch, boolean ok) {
    try {
      (ok ? confirmed : abandoned).accept(batch);
    } catch (RuntimeException e) {
      LOG.error("Bookkeeping after {} failed.", what, e);
    }
    outstanding.addAndGet(-batch.size());
    try {
      afterDone.run();
    } catch (RuntimeException e) {
      LOG.error("Bookkeeping after {} failed.", what, e);
    }
    sending.set(false);
    sendNext();
    if (outstanding.get() == 0) {
      lock.lock();
      try {
        idle.signalAll();
      } finally {
        lock.unlock();
      }
    }
  }

  private void retryLater(List<T> batch, long attempt) {
    retrying = Thread.ofVirtual().name("brook-settle-retry").start(() -> {
      try {
        timing.sleep(Backoffs.RETRY.createDelay(attempt).toNanos());
      } catch (InterruptedException e) {
        // closed: fall through, the closed check abandons the batch
      }
      retrying = null;
      if (closed) {
        done(batch, false);
      } else {
        send(batch, attempt + 1);
      }
    });
  }

  private void logFailure(Throwable error) {
    long suppressed = failureWarnings.acquire();
    if (suppressed > 0) {
      LOG.warn("{} more attempts to send {} failed in the last minute (logged at DEBUG only).", suppressed, what);
    }
    if (suppressed >= 0) {
      LOG.warn("Sending {} to Redis failed ({}); retrying until Redis confirms them.", what, error.toString());
    } else {
      LOG.debug("Sending {} failed again", what, error);
    }
  }

  /**
   * Waits until every settlement submitted so far is confirmed, or the deadline.
   *
   * @return true when none is outstanding
   */
  public boolean awaitIdle(long deadlineNanos) {
    lock.lock();
    try {
      while (outstanding.get() > 0) {
        long left = deadlineNanos - System.nanoTime();
        if (left <= 0) {
          return false;
        }
        idle.await(Math.min(left, TimeUnit.MILLISECONDS.toNanos(50)), TimeUnit.NANOSECONDS);
      }
      return true;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return outstanding.get() == 0;
    } finally {
      lock.unlock();
    }
  }

  /**
   * Stops retrying: a batch that fails from now on, or waits for its retry, is abandoned (what it
   * settled stays in Redis and comes back through recovery). Settlements still queued or submitted
   * later are sent once, so a handler finishing late still settles its message.
   */
  public void close() {
    closed = true;
    Thread r = retrying;
    if (r != null) {
      r.interrupt();
    }
  }
}
