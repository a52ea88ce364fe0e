package dev.brook.redis.internal;

import dev.brook.spi.Transport;
import io.lettuce.core.resource.Delay;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.BooleanSupplier;
import org.slf4j.Logger;

/**
 * The skeleton of a consumer that reads with blocking commands on one virtual thread of its own
 * (Lists and Streams): while running, wait for room, look again after a lost reply when asked
 * ({@link #rescan}), read one round; a failed round is logged once at WARN (then at DEBUG until a
 * round works again, which is logged at INFO) and followed by a back-off ({@link Backoffs#RETRY},
 * on the transport's {@link Timing}) that a stop ends at once. A loop never ends on an error, only on
 * a stop.
 *
 * <p>Subclasses implement the reads ({@link #round}) and the waits for room ({@link #awaitRoom}),
 * and may repair a failure instead of backing off ({@link #onFailure}). They start the
 * thread with {@link #startLoop}, end it with {@link #stopLoop} and {@link #joinLoop}, and wake a
 * {@link #waitWhile} when what it waits for changed ({@link #wake}).
 *
 * <p>Threads: {@code running} and {@code rescan} may be written by any thread (a stop, Lettuce's I/O
 * thread after a reconnect); everything else runs on the loop's thread.
 */
public abstract class ConsumeLoop implements Transport.Consumer {

  protected final Logger log;
  protected final Timing timing;
  private final Delay backoff;
  /** What the loop reads, in log lines ({@code list:jobs}). */
  private final String what;

  protected volatile boolean running;
  /** What Redis holds for this consumer may include messages it never received: look before the next read. */
  protected volatile boolean rescan;

  private final ReentrantLock lock = new ReentrantLock();
  /** Signalled by a stop and by {@link #wake}: ends a back-off or a {@link #waitWhile}. */
  private final Condition woken = lock.newCondition();
  private volatile boolean waiting;
  private Thread thread;
  private boolean failureLogged;
  /** For health: when the last round ended (epoch ms), and whether one is reading now. Written once per round. */
  private volatile long lastPoll;
  private volatile boolean polling;

  protected ConsumeLoop(Logger log, Timing timing, Delay backoff, String what) {
    this.log = log;
    this.timing = timing;
    this.backoff = backoff;
    this.what = what;
  }

  /** Runs the loop on a new virtual thread of this name; {@code running} must be set. */
  protected final void startLoop(String threadName) {
    thread = Thread.ofVirtual().name(threadName).start(this::run);
  }

  /** The loop's thread, null before {@link #startLoop} and after {@link #joinLoop}. */
  protected final Thread loopThread() {
    return thread;
  }

  /** Tells the loop to end: it leaves a back-off or a {@link #waitWhile} at once. */
  protected final void stopLoop() {
    running = false;
    lock.lock();
    try {
      woken.signalAll();
    } finally {
      lock.unlock();
    }
  }

  /** Waits (at most {@code max}) for the loop's thread to end, unless called on it. */
  protected final void joinLoop(Duration max) {
    Thread t = thread;
    if (t != null && t != Thread.currentThread()) {
      try {
        t.join(max);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
    thread = null;
  }

  /** The current time while a round reads, else when the last one ended; 0 before the first (see {@link Transport.Consumer#lastPoll}). */
  @Override
  public long lastPoll() {
    return polling ? System.currentTimeMillis() : lastPoll;
  }

  /** Runs once on the loop's thread before the first round. */
  protected void beforeRounds() {}

  /** Waits until a read fits; false when the consumer stops meanwhile. */
  protected abstract boolean awaitRoom() throws InterruptedException;

  /** Runs when {@link #rescan} was set, before the next round. */
  protected void rescanned() {}

  /** One read and its delivery. */
  protected abstract void round() throws InterruptedException;

  /**
   * A round failed (the error translated by {@link RedisErrors}): logs it and returns false to back
   * off, or repairs the cause and returns true to go on at once.
   */
  protected boolean onFailure(RuntimeException e) {
    failed("Reading " + what + " failed", e);
    return false;
  }

  /**
   * A read answered that the loop's connection is on a replica ({@link RedisErrors.ReadOnly}): the
   * subclass sends its connection to the primary again ({@code RedisConnections.reroute}); the
   * round is then retried after the back-off.
   */
  protected void reachedReplica() {}

  /** One WARN per episode of failures, the rest at DEBUG. */
  protected final void failed(String description, RuntimeException e) {
    if (!failureLogged) {
      failureLogged = true;
      log.warn("{}: {}. Retrying with back-off; the subscription keeps running.", description,
          e.getMessage() != null ? e.getMessage() : e.toString());
    } else {
      log.debug("{} again", description, e);
    }
  }

  private void run() {
    lastPoll = System.currentTimeMillis();
    beforeRounds();
    long attempt = 0;
    while (running) {
      try {
        if (!awaitRoom()) {
          break;
        }
        if (rescan) {
          rescan = false;
          rescanned();
        }
        polling = true;
        try {
          round();
        } finally {
          polling = false;
          lastPoll = System.currentTimeMillis();
        }
        if (failureLogged) {
          failureLogged = false;
          log.info("Reading {} works again.", what);
        }
        attempt = 0;
      } catch (InterruptedException e) {
        break;
      } catch (RuntimeException e) {
        if (!running) {
          break;
        }
        rescan = true; // the read may have run in Redis without its reply reaching us
        Throwable t = RedisErrors.translate(e);
        if (t instanceof RedisErrors.ReadOnly) {
          reachedReplica();
        }
        if (onFailure(t instanceof RuntimeException r ? r : e)) {
          continue;
        }
        if (!pause(backoff.createDelay(++attempt))) {
          break;
        }
      }
    }
  }

  /** Sleeps {@code millis} on the transport's clock (a rate limit's wait for its next token); false when the consumer stops meanwhile. */
  protected final boolean sleepWhileRunning(long millis) {
    return pause(Duration.ofMillis(millis));
  }

  /** The back-off after a failed round, on the transport's clock; false when the consumer stops meanwhile. */
  private boolean pause(Duration delay) {
    lock.lock();
    try {
      long left = delay.toNanos();
      while (running && left > 0) {
        left = timing.awaitNanos(woken, left);
      }
      return running;
    } catch (InterruptedException e) {
      return false;
    } finally {
      lock.unlock();
    }
  }

  /**
   * Waits while {@code busy} holds — woken by {@link #wake}, and every {@code pollMillis} in case a
   * wake-up came between a check and the wait — or until the consumer stops; returns {@code
   * running}. What it waits for is Redis (settlements to be confirmed), so it waits in real time.
   */
  protected final boolean waitWhile(BooleanSupplier busy, long pollMillis) throws InterruptedException {
    if (!busy.getAsBoolean()) {
      return running;
    }
    lock.lock();
    try {
      waiting = true;
      while (running && busy.getAsBoolean()) {
        woken.await(pollMillis, TimeUnit.MILLISECONDS);
      }
      return running;
    } finally {
      waiting = false;
      lock.unlock();
    }
  }

  /** What a {@link #waitWhile} waits for may have changed; cheap when nothing waits (any thread). */
  protected final void wake() {
    if (waiting) {
      lock.lock();
      try {
        woken.signalAll();
      } finally {
        lock.unlock();
      }
    }
  }
}
