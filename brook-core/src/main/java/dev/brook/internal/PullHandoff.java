package dev.brook.internal;

import dev.brook.AckPolicy;
import dev.brook.Handler;
import dev.brook.Message;
import dev.brook.MessageContext;
import dev.brook.SkipMessage;
import dev.brook.Subscription;
import java.time.Duration;
import java.util.Iterator;
import java.util.NoSuchElementException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The handler of a pull subscription: it hands each decoded message to a caller of {@code get}
 * and, for at-least-once destinations, waits until the caller is done with it, so the subscription
 * (concurrency 1, a mailbox of one) fetches the next one from Redis only then.
 *
 * <p>A message nobody took when the subscription stops is released (given back untouched) and the
 * chain told to skip it; a taken one whose caller has not finished is acknowledged by the ack
 * policy as a handler's return (left unsettled under {@code MANUAL}). Settlement after the stop is
 * a no-op: the message comes back from Redis.
 *
 * <p>Threads: {@link #handle} runs on the subscription's worker; {@link #get} on callers' threads;
 * {@link #stopping()} and {@link #starting()} on the thread changing the subscription's state. One
 * lock guards the hand-off.
 */
final class PullHandoff implements Handler<Object> {

  private final ReentrantLock lock = new ReentrantLock();
  private final Condition changed = lock.newCondition();
  private Subscription subscription;
  /** Waiting for a caller, oldest first: one at most for at-least-once destinations (the handler waits). */
  private final java.util.ArrayDeque<Pulled<Object>> offered = new java.util.ArrayDeque<>();
  /** How many at-most-once messages wait here at most (the broker's buffer size). */
  private int limit;
  /** Taken by a caller, its handler still waiting for it to be done; null when none. */
  private Pulled<?> out;
  /** From a stop's drain until the next start. */
  private boolean stopping;
  /** Counts stops: a message of an earlier run can no longer be settled. */
  private int run;

  /** Once, by the subscription being constructed, before any message. */
  void bind(Subscription subscription, int limit) {
    this.subscription = subscription;
    this.limit = limit;
  }

  @Override
  public Object handle(Object payload, MessageContext context) throws Exception {
    DefaultMessageContext ctx = (DefaultMessageContext) context;
    // The handler's part is done: the message now waits for a caller. The test broker's synchronous
    // publish waits for processed messages only, and must not wait for a caller that has not pulled.
    ctx.inbound().processed(null);
    boolean waitsForCaller = ctx.destination().atLeastOnce() && subscription.ackPolicy() != AckPolicy.ACK_FIRST;
    lock.lock();
    try {
      return handOver(payload, ctx, waitsForCaller);
    } finally {
      lock.unlock();
      // Done with it (taken and finished, queued, or given back): the consumer may fetch the next one
      // while the settlement is under way.
      Mailbox.freeHeldRoom();
    }
  }

  /** Under the lock. */
  private Object handOver(Object payload, DefaultMessageContext ctx, boolean waitsForCaller) throws InterruptedException {
    {
      Pulled<Object> m = new Pulled<>(payload, ctx, this, run);
      if (!waitsForCaller) {
        // Nothing to settle later: queue it for the callers (a full queue holds the mailbox back,
        // which then drops at-most-once messages as any full subscription does).
        while (offered.size() >= limit && !stopping) {
          changed.await();
        }
        if (stopping) {
          giveBack(ctx);
        }
        offered.add(m);
        changed.signalAll();
        return null;
      }
      if (!stopping) {
        offered.add(m);
        changed.signalAll();
        while (!m.taken && !stopping) {
          changed.await();
        }
      }
      if (!m.taken) {
        offered.remove(m);
        giveBack(ctx);
      }
      while (!m.done && !stopping) {
        changed.await();
      }
      if (out == m) {
        out = null;
      }
      return null; // settle acknowledges by the policy, unless the caller settled it
    }
  }

  /** Nobody took it: back to Redis untouched, and the rest of the chain is skipped. */
  private static void giveBack(DefaultMessageContext ctx) {
    ctx.release();
    throw new SkipMessage();
  }

  /** The next message, or null (timeout, stopped, closed, interrupted). */
  <T> Message<T> get(Duration timeout) {
    return take(timeout, false);
  }

  /**
   * The next message for {@link #get} ({@code peek} false) or for an iterator's {@code hasNext}
   * ({@code peek} true: the iterator holds it until its {@code next()}). A {@code get} finding the
   * previous message still held by an iterator that never handed it out (the caller left the
   * iterator after {@code hasNext}) takes that one over instead of finishing it, so it is not
   * acknowledged for nobody.
   */
  @SuppressWarnings("unchecked")
  private <T> Message<T> take(Duration timeout, boolean peek) {
    long deadline = System.nanoTime() + timeout.toNanos();
    lock.lock();
    try {
      if (out != null && out.peeked && !peek) {
        out.peeked = false;
        return (Message<T>) out;
      }
      if (out != null) {
        // Pulling the next one finishes the previous one (acknowledged by the policy unless settled).
        out.done = true;
        out = null;
        changed.signalAll();
      }
      while (offered.isEmpty()) {
        Subscription.State state = subscription.state();
        if (stopping || state == Subscription.State.STOPPED || state == Subscription.State.CLOSED) {
          return null;
        }
        long left = deadline - System.nanoTime();
        if (left <= 0) {
          return null;
        }
        changed.await(left, TimeUnit.NANOSECONDS);
      }
      Pulled<Object> m = offered.poll();
      m.taken = true;
      m.peeked = peek;
      if (m.ctx.destination().atLeastOnce() && subscription.ackPolicy() != AckPolicy.ACK_FIRST) {
        out = m;
      }
      changed.signalAll();
      return (Message<T>) m;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return null;
    } finally {
      lock.unlock();
    }
  }

  /** Wakes the handler and the callers: a stop drains the subscription now. */
  void stopping() {
    lock.lock();
    try {
      stopping = true;
      run++;
      out = null; // its handler returns now; the next run starts with nothing out
      // At-most-once messages nobody took are gone with the stop, as a stopped channel's are; an
      // at-least-once one goes back when its handler wakes up.
      offered.removeIf(m -> !m.ctx.destination().atLeastOnce() || subscription.ackPolicy() == AckPolicy.ACK_FIRST);
      changed.signalAll();
    } finally {
      lock.unlock();
    }
  }

  /** Before a start delivers anything. */
  void starting() {
    lock.lock();
    try {
      stopping = false;
      changed.signalAll();
    } finally {
      lock.unlock();
    }
  }

  /** Wakes waiting callers (the subscription closed). */
  void wake() {
    lock.lock();
    try {
      changed.signalAll();
    } finally {
      lock.unlock();
    }
  }

  <T> Iterable<Message<T>> messages(Duration idleTimeout) {
    java.util.Objects.requireNonNull(idleTimeout, "idleTimeout");
    return () -> new Iterator<>() {
      private Message<T> next;
      private boolean ended;

      @Override
      public boolean hasNext() {
        if (next == null && !ended) {
          next = take(idleTimeout, true);
          ended = next == null;
        }
        return next != null;
      }

      @Override
      public Message<T> next() {
        while (hasNext()) {
          Message<T> m = next;
          next = null;
          if (handOut(m)) {
            return m;
          }
          // A get on another thread took it over since hasNext: look for the next one.
        }
        throw new NoSuchElementException("No message came within " + idleTimeout + ", or the subscription stopped.");
      }
    };
  }

  /** An iterator hands out what its hasNext took: false when a get took it over meanwhile. */
  private boolean handOut(Message<?> m) {
    lock.lock();
    try {
      Pulled<?> p = (Pulled<?>) m;
      if (!p.peeked) {
        return false;
      }
      p.peeked = false;
      return true;
    } finally {
      lock.unlock();
    }
  }

  /** The caller settled {@code m}: its handler may return (the settlement already happened). */
  private void settled(Pulled<?> m) {
    lock.lock();
    try {
      m.done = true;
      changed.signalAll();
    } finally {
      lock.unlock();
    }
  }

  /** Whether {@code m} may still be settled: its subscription has not stopped since it was received. */
  private boolean live(Pulled<?> m) {
    lock.lock();
    try {
      return m.run == run;
    } finally {
      lock.unlock();
    }
  }

  /** A pulled message: the payload and the context, which a caller may keep and read from any thread. */
  private static final class Pulled<T> implements Message<T> {
    private final T payload;
    private final DefaultMessageContext ctx;
    private final PullHandoff owner;
    private final int run;
    private final String messageId;
    /** Guarded by the owner's lock. */
    private boolean taken;
    /** Guarded by the owner's lock: settled by the caller, or finished by the next pull. */
    private boolean done;
    /** Guarded by the owner's lock: taken by an iterator's hasNext, not yet handed out by its next. */
    private boolean peeked;

    Pulled(T payload, DefaultMessageContext ctx, PullHandoff owner, int run) {
      this.payload = payload;
      this.ctx = ctx;
      this.owner = owner;
      this.run = run;
      this.messageId = ctx.messageId(); // on the worker: a generated id is made once
    }

    @Override
    public T payload() {
      return payload;
    }

    @Override
    public java.util.Map<String, String> headers() {
      return ctx.headers();
    }

    @Override
    public String header(String name) {
      return ctx.header(name);
    }

    @Override
    public String correlationId() {
      String id = ctx.header(Codec.CORRELATION_ID);
      return id != null ? id : messageId;
    }

    @Override
    public String messageId() {
      return messageId;
    }

    @Override
    public dev.brook.Destination destination() {
      return ctx.destination();
    }

    @Override
    public String channel() {
      return ctx.channel();
    }

    @Override
    public byte[] body() {
      return ctx.body();
    }

    @Override
    public String path(String name) {
      return ctx.path(name);
    }

    @Override
    public java.util.Map<String, String> pathParams() {
      return ctx.pathParams();
    }

    @Override
    public long deliveryCount() {
      return ctx.deliveryCount();
    }

    @Override
    public void ack() {
      if (owner.live(this)) {
        ctx.ack();
        owner.settled(this);
      }
    }

    @Override
    public void nack() {
      if (owner.live(this)) {
        ctx.nack();
        owner.settled(this);
      }
    }

    @Override
    public void reject() {
      if (owner.live(this)) {
        ctx.reject();
        owner.settled(this);
      }
    }

    @Override
    public String toString() {
      return "Message[" + ctx.destination().key() + " id=" + messageId + ": " + payload + "]";
    }
  }
}
