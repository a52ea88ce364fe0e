package dev.brook.internal;

import dev.brook.HandlerTimeoutException;
import dev.brook.Middleware;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;

/**
 * {@code timeout(d)}: the innermost link of a subscription's chain, around the handler. A virtual
 * thread {@code brook-timeout:<id>} per message sleeps for the timeout and then interrupts the
 * worker, unless the handler returned first; the message then fails with {@link
 * HandlerTimeoutException} (whatever the handler returned or threw after the interrupt).
 *
 * <p>The worker never keeps the interrupt: one state decides between "the handler returned" and
 * "the watchdog interrupts"; when the watchdog won, the worker waits for it to end before clearing
 * its interrupt flag, so no interrupt reaches the next message. The watchdog of a handler that
 * returned in time is woken (unparked) and ends at once: nothing outlives the message.
 */
final class HandlerTimeout implements Middleware {

  private static final int RUNNING = 0;
  private static final int DONE = 1;
  private static final int TIMED_OUT = 2;

  private final String subscriptionId;
  private final Duration timeout;

  HandlerTimeout(String subscriptionId, Duration timeout) {
    this.subscriptionId = subscriptionId;
    this.timeout = timeout;
  }

  @Override
  public Object consume(ConsumeChain chain) throws Exception {
    Thread worker = Thread.currentThread();
    AtomicInteger state = new AtomicInteger(RUNNING);
    long nanos = timeout.toNanos();
    Thread watchdog = Thread.ofVirtual().name("brook-timeout:" + subscriptionId).start(() -> {
      long deadline = System.nanoTime() + nanos;
      long left;
      while (state.get() == RUNNING && (left = deadline - System.nanoTime()) > 0) {
        LockSupport.parkNanos(left);
      }
      if (state.compareAndSet(RUNNING, TIMED_OUT)) {
        worker.interrupt();
      }
    });
    Object result;
    Throwable failure = null;
    try {
      result = chain.proceed();
    } catch (Throwable t) {
      result = null;
      failure = t;
    }
    if (state.compareAndSet(RUNNING, DONE)) {
      LockSupport.unpark(watchdog);
      if (failure != null) {
        throw rethrow(failure);
      }
      return result;
    }
    // Timed out: the watchdog interrupts (or did); wait for it, then clear the flag for the next message.
    boolean joined = false;
    while (!joined) {
      try {
        watchdog.join();
        joined = true;
      } catch (InterruptedException e) {
        // the watchdog's own interrupt: go on waiting
      }
    }
    Thread.interrupted();
    HandlerTimeoutException e = new HandlerTimeoutException(subscriptionId, timeout);
    if (failure != null && !(failure instanceof InterruptedException)) {
      e.addSuppressed(failure);
    }
    throw e;
  }

  private static Exception rethrow(Throwable t) {
    if (t instanceof Exception e) {
      return e;
    }
    throw (Error) t;
  }
}
