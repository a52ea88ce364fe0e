package dev.brook.internal;

import dev.brook.spi.Transport;
import dev.brook.spi.Inbound;
import dev.brook.spi.Frame;
import com.fasterxml.jackson.core.JsonProcessingException;
import dev.brook.BrookException;
import dev.brook.Destination;
import dev.brook.Middleware;
import dev.brook.RemoteHandlerException;
import dev.brook.RequestMetrics;
import dev.brook.RequestTimeoutException;
import java.lang.reflect.Type;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Request/reply for one broker: one reply channel ({@code brook.reply.<uuid>}) subscribed at the
 * first request, a map of pending requests by correlation id, and one timer thread.
 *
 * <p>Every request puts its entry in {@code pending} before publishing and removes it exactly once:
 * the reply, the timeout, a publishing failure, cancellation or close take it out with {@code
 * remove}, and only the one that removed it completes the future. So the map holds only requests
 * still waiting, a late reply finds nothing (it is counted and dropped) and can never complete
 * another caller's future; an answered request leaves the timer's queue at once.
 *
 * <p>Threads: a reply is matched on the transport's I/O thread, where it arrives: unwrapping the
 * envelope and one map lookup, no decoding and no user code. A blocking {@code request} decodes the
 * reply on the caller's own thread, which was waiting anyway; {@code requestAsync} decodes and
 * completes on a short-lived virtual thread {@code brook-reply}, so dependent stages never run on
 * the I/O thread. Handing each reply to a worker thread first cost two thread wake-ups per round
 * trip (docs/benchmarks.md, request-reply). Timeouts fire on the virtual thread {@code
 * brook-request-timer}, which exists from the first request until close. {@code lock} guards
 * starting and closing.
 *
 * <p>A caller's own {@code correlation_id} header is kept and keys the request; a second request
 * with an id that is still waiting fails at once. The middlewares the request was published through
 * (the broker's; for a router's publisher the router's too) run their consume scope on the reply,
 * as FastStream's do, where it is decoded, after the decoding: they see
 * the reply's context and payload and may change the payload; with none, no object is made for it.
 */
final class Requests {

  private static final Logger LOG = LoggerFactory.getLogger("dev.brook.Request");

  /**
   * One request waiting for its reply. {@code reply} completes with the reply's frame (on the I/O
   * thread), or exceptionally with the timeout, a publishing failure or the close.
   */
  private record Pending(String correlationId, Destination destination, Duration timeout, Codec.Decoder decoder,
      Type type, CompletableFuture<Frame> reply, long deadline, long sequence, boolean whole, Destination replyChannel,
      Middleware[] middlewares) {}

  private final BrokerEngine engine;
  private final ConcurrentHashMap<String, Pending> pending = new ConcurrentHashMap<>();
  private final ConcurrentHashMap<Type, Codec.Decoder> decoders = new ConcurrentHashMap<>();
  private final LongAdder replied = new LongAdder();
  private final LongAdder timedOut = new LongAdder();
  private final LongAdder late = new LongAdder();
  private final AtomicLong sequence = new AtomicLong();
  private final ReentrantLock lock = new ReentrantLock();
  private volatile String replyName;
  /** The reply channel as a destination (for a whole reply's context); set with {@code replyName}. */
  private volatile Destination replyDestination;
  private Transport.Consumer consumer;
  /** requestAsync's decoding threads still running; close waits for them. */
  private final java.util.Set<Thread> completing = ConcurrentHashMap.newKeySet();
  /** Set under {@code lock}, read without it by requests and their completions. */
  private volatile Timer timer;
  private boolean closed;

  Requests(BrokerEngine engine) {
    this.engine = engine;
  }

  RequestMetrics metrics() {
    return new RequestSnapshot(pending.size(), replied.sum(), timedOut.sum(), late.sum());
  }

  /** The reply channel's name, or null before the first request. */
  String replyChannel() {
    return replyName;
  }

  private String ensureStarted() {
    String name = replyName;
    if (name != null) {
      return name;
    }
    lock.lock();
    try {
      if (closed) {
        throw new IllegalStateException("Cannot send a request with broker " + engine.transport().describe()
            + ": it is closed. A closed broker cannot be reused; create a new one.");
      }
      if (replyName != null) {
        return replyName;
      }
      name = "brook.reply." + UUID.randomUUID();
      Destination channel = engine.transport().replyChannel(name);
      Transport.Consumer c = engine.transport().consumer(channel, name, new ReplySink());
      c.start();
      timer = new Timer();
      consumer = c;
      replyDestination = channel;
      replyName = name;
      LOG.debug("Replies to requests of {} come back on channel {}.", engine.transport().describe(), name);
      return name;
    } finally {
      lock.unlock();
    }
  }

  /**
   * Publishes a request and returns the future of its decoded reply, completed on a virtual
   * thread (never on the I/O thread). The headers are the caller's plus {@code correlation_id},
   * {@code reply_to} and {@link Codec#ERROR_REPLY} (which replace the caller's of those names).
   * Cancelling the future forgets the request.
   */
  @SuppressWarnings("unchecked")
  <R> CompletableFuture<R> send(Object payload, Destination destination, Type replyType, Duration timeout,
      Map<String, String> headers, Middleware[] middlewares, boolean whole) {
    Pending p = start(payload, destination, replyType, timeout, headers, middlewares, whole);
    CompletableFuture<Object> result = new CompletableFuture<>();
    p.reply.whenComplete((frame, error) -> {
      if (error != null) {
        result.completeExceptionally(error);
        return;
      }
      Thread t = Thread.ofVirtual().name("brook-reply").unstarted(() -> {
        try {
          result.complete(finish(p, frame));
        } catch (RuntimeException e) {
          result.completeExceptionally(e);
        } finally {
          completing.remove(Thread.currentThread());
        }
      });
      completing.add(t);
      t.start();
    });
    result.whenComplete((r, e) -> {
      if (result.isCancelled()) {
        p.reply.cancel(false);
      }
    });
    return (CompletableFuture<R>) result;
  }

  /**
   * Publishes a request and waits for its reply, which this thread decodes: the blocking form
   * needs no thread besides the caller's.
   *
   * @throws ExecutionException with the timeout, the publishing failure or the close as its cause
   * @throws BrookException when the reply cannot be decoded into {@code replyType}
   */
  Object call(Object payload, Destination destination, Type replyType, Duration timeout, Map<String, String> headers,
      Middleware[] middlewares, boolean whole) throws InterruptedException, ExecutionException {
    Pending p = start(payload, destination, replyType, timeout, headers, middlewares, whole);
    Frame frame;
    try {
      frame = p.reply.get();
    } catch (InterruptedException e) {
      p.reply.cancel(false);
      throw e;
    }
    return finish(p, frame);
  }

  /** Registers the request, arms its timeout and publishes it. */
  private Pending start(Object payload, Destination destination, Type replyType, Duration timeout,
      Map<String, String> headers, Middleware[] middlewares, boolean whole) {
    if (timeout.isNegative() || timeout.isZero()) {
      throw new IllegalArgumentException("A request timeout must be positive, was " + timeout + ".");
    }
    String reply = ensureStarted();
    String explicit = headers.get(Codec.CORRELATION_ID);
    String correlationId = explicit != null && !explicit.isEmpty() ? explicit : Ids.uuid();
    Map<String, String> all = new LinkedHashMap<>(headers.size() + 3);
    all.putAll(headers);
    all.put(Codec.CORRELATION_ID, correlationId);
    all.put(Codec.REPLY_TO, reply);
    all.put(Codec.ERROR_REPLY, "1");
    CompletableFuture<Frame> future = new CompletableFuture<>();
    Timer t = timer;
    Pending p = new Pending(correlationId, destination, timeout, decoder(replyType), replyType, future,
        System.nanoTime() + timeout.toNanos(), sequence.incrementAndGet(), whole, replyDestination, middlewares);
    if (pending.putIfAbsent(correlationId, p) != null) {
      throw new BrookException("Cannot send the request to " + destination.key() + ": a request with correlation_id '"
          + LogText.escape(correlationId) + "' is still waiting for its reply, and replies are matched by that id. Give "
          + "each request in flight its own correlation_id, or leave the header out and Brook makes a new one.");
    }
    if (t == null || !t.add(p)) {
      // The timer was shut down by a concurrent close.
      pending.remove(correlationId, p);
      throw new IllegalStateException("Cannot send a request with broker " + engine.transport().describe()
          + ": it is closed. A closed broker cannot be reused; create a new one.");
    }
    // Whoever completes the future (reply, timeout, failure, the caller's cancel) forgets the request.
    future.whenComplete((r, e) -> forget(p));
    CompletableFuture<Void> sent;
    try {
      sent = engine.publishing().dispatch(payload, destination, all, middlewares);
    } catch (RuntimeException e) {
      future.cancel(false);
      throw e;
    }
    sent.whenComplete((ok, error) -> {
      if (error != null && pending.remove(correlationId, p)) {
        Throwable cause = error instanceof java.util.concurrent.CompletionException && error.getCause() != null ? error.getCause() : error;
        future.completeExceptionally(cause instanceof BrookException ? cause : new BrookException("Sending the request to "
            + destination.key() + " on " + engine.transport().describe() + " failed: " + cause.getMessage(), cause));
      }
    });
    return p;
  }

  private void forget(Pending p) {
    pending.remove(p.correlationId, p);
    Timer t = timer;
    if (t != null) {
      t.remove(p);
    }
  }

  private void timeout(Pending p) {
    if (pending.remove(p.correlationId, p)) {
      timedOut.increment();
      p.reply.completeExceptionally(new RequestTimeoutException(p.destination.key(), p.timeout, p.correlationId));
    }
  }

  private Codec.Decoder decoder(Type type) {
    if (type == Void.class || type == void.class) {
      return frame -> null;
    }
    return decoders.computeIfAbsent(type, t -> engine.codec().decoderFor(t));
  }

  /** Orders pending requests by deadline; the sequence keeps two with the same deadline apart. */
  private static final Comparator<Pending> BY_DEADLINE =
      Comparator.comparingLong(Pending::deadline).thenComparingLong(Pending::sequence);

  /**
   * The timeouts of pending requests, on one virtual thread {@code brook-request-timer}.
   *
   * <p>The thread sleeps until {@code wakeAt}, the earliest deadline it knew of when it last
   * looked. A request whose deadline is later than that does not wake it, and an answered request
   * only leaves the set: so a steady flow of requests with one timeout wakes the thread about once
   * per timeout, not once per request (a {@code ScheduledThreadPoolExecutor} woke its thread for
   * every request that found its queue empty, which is every request made one at a time). Adding
   * and removing are lock-free and O(log n); the lock only pairs a wake-up with the sleep.
   */
  private final class Timer {
    private final ConcurrentSkipListMap<Pending, Boolean> queue = new ConcurrentSkipListMap<>(BY_DEADLINE);
    private final ReentrantLock sleep = new ReentrantLock();
    private final Condition earlier = sleep.newCondition();
    private volatile long wakeAt = Long.MAX_VALUE;
    private volatile boolean closed;
    final Thread thread = Thread.ofVirtual().name("brook-request-timer").start(this::run);

    /** False when closed. */
    boolean add(Pending p) {
      if (closed) {
        return false;
      }
      queue.put(p, Boolean.TRUE);
      if (closed) {
        // Closed meanwhile: the close may have failed the pending requests before this one was
        // added, so the caller must not count on this timer.
        queue.remove(p);
        return false;
      }
      if (p.deadline - wakeAt < 0) {
        sleep.lock();
        try {
          earlier.signal();
        } finally {
          sleep.unlock();
        }
      }
      return true;
    }

    void remove(Pending p) {
      queue.remove(p);
    }

    private Pending first() {
      var e = queue.firstEntry();
      return e == null ? null : e.getKey();
    }

    private void run() {
      sleep.lock();
      try {
        while (!closed) {
          long now = System.nanoTime();
          Pending first = first();
          if (first != null && first.deadline - now <= 0) {
            queue.remove(first);
            sleep.unlock();
            try {
              timeout(first);
            } catch (RuntimeException e) {
              LOG.warn("A dependent stage of the timed-out request {} on {} failed on the timer thread.",
                  first.correlationId, first.destination.key(), e);
            } finally {
              sleep.lock();
            }
            continue;
          }
          // Publish the wake-up time, then look again: a request added meanwhile either sees the
          // new wakeAt (and signals if it is earlier, once we sleep) or is seen here.
          wakeAt = first == null ? Long.MAX_VALUE : first.deadline;
          if (first() != first) {
            continue;
          }
          if (first == null) {
            earlier.await();
          } else {
            earlier.awaitNanos(first.deadline - now);
          }
        }
      } catch (InterruptedException e) {
        // close()
      } finally {
        sleep.unlock();
      }
    }

    void close() {
      closed = true;
      thread.interrupt();
    }
  }

  /** The reply channel's sink: every reply is matched where it arrives (see the class comment). */
  private final class ReplySink implements Transport.Sink {
    @Override
    public void accept(Inbound in) {
      try {
        reply(in);
      } catch (RuntimeException e) {
        LOG.warn("Dropped a reply on {}: it could not be matched to a request.", in.channel(), e);
      } finally {
        in.processed(null);
      }
    }

    @Override
    public boolean awaitCapacity(int n) {
      return true;
    }

    @Override
    public int room() {
      return Integer.MAX_VALUE;
    }
  }

  /** Matches one reply to its request and completes the request's reply future with the frame. */
  private void reply(Inbound in) {
    Frame frame = in.frame();
    String correlationId = frame.header(Codec.CORRELATION_ID);
    Pending p = correlationId == null ? null : pending.remove(correlationId);
    if (p == null) {
      late.increment();
      LOG.debug("Dropped a reply with correlation_id {} on {}: no request is waiting for it (it timed out, was "
          + "cancelled or was answered already).", LogText.escape(correlationId), replyName);
      return;
    }
    replied.increment();
    p.reply.complete(frame);
  }

  /**
   * The reply in the requested type; on the thread that hands it to the caller.
   *
   * @throws RemoteHandlerException when the reply says the subscriber's handler failed
   */
  private Object decode(Pending p, Frame frame) {
    throwIfError(p, frame);
    try {
      return frame.payload().length == 0 && frame.header(Codec.CONTENT_TYPE) == null ? null : p.decoder.decode(frame);
    } catch (Exception e) {
      String why = e instanceof JsonProcessingException j ? j.getOriginalMessage() : String.valueOf(e.getMessage());
      throw new BrookException("Cannot decode the reply to request " + p.correlationId + " on "
          + p.destination.key() + " into " + p.type.getTypeName() + ": " + why
          + ". Ask for the type the subscriber returns, or String or byte[] to see the raw reply.", e);
    }
  }

  /** Throws the subscriber's failure an error reply names. */
  private static void throwIfError(Pending p, Frame frame) {
    String errorType = frame.header(Codec.ERROR_TYPE);
    if (errorType != null) {
      String message = frame.header(Codec.ERROR_MESSAGE);
      throw new RemoteHandlerException(p.destination.key(), p.correlationId, errorType, message != null ? message : "");
    }
  }

  /**
   * What the caller gets for a reply: the decoded payload, or the whole reply as a {@link
   * ReplyMessage}. With middlewares (those the request was published through: the broker's, and a
   * router publisher's router's), their consume scope runs first, around a terminal
   * that returns the payload as the last middleware passed it on (an error reply: throws the
   * subscriber's failure); without, nothing is made but the payload (and the whole reply).
   */
  private Object finish(Pending p, Frame frame) {
    Middleware[] middlewares = p.middlewares;
    if (middlewares.length == 0) {
      Object value = decode(p, frame);
      return p.whole ? new ReplyMessage(p.replyChannel, frame, value) : value;
    }
    boolean error = frame.header(Codec.ERROR_TYPE) != null;
    Object decoded = error ? null : decode(p, frame);
    ReplyChain chain = new ReplyChain(p, frame, new ReplyMessage(p.replyChannel, frame, decoded));
    Object value;
    try {
      value = chain.run(middlewares, decoded);
    } catch (RuntimeException e) {
      throw e;
    } catch (Exception e) {
      throw new BrookException("A middleware failed on the reply to request " + p.correlationId + " on "
          + p.destination.key() + ": " + e, e);
    }
    if (value != null && p.type instanceof Class<?> c && !c.isPrimitive() && c != Void.class && !c.isInstance(value)) {
      throw new BrookException("A middleware turned the reply to request " + p.correlationId + " on " + p.destination.key()
          + " into a " + value.getClass().getName() + ", but the caller asked for " + c.getName()
          + ". Pass a value of the asked type to chain.proceed(...), or return chain.proceed() unchanged.");
    }
    return p.whole ? new ReplyMessage(p.replyChannel, frame, value) : value;
  }

  /** The consume scope of the request's middlewares around one reply; made only when there are middlewares. */
  private static final class ReplyChain extends ConsumeCursor {
    private final Pending p;
    private final Frame frame;
    private final ReplyMessage context;

    ReplyChain(Pending p, Frame frame, ReplyMessage context) {
      this.p = p;
      this.frame = frame;
      this.context = context;
    }

    @Override
    Object handle(Object payload) {
      throwIfError(p, frame);
      return payload;
    }

    @Override
    public dev.brook.MessageContext context() {
      return context;
    }

    /** A reply belongs to no subscription. */
    @Override
    public dev.brook.Subscription subscription() {
      return null;
    }
  }

  /**
   * Unsubscribes the reply channel, lets the workers finish and fails every request still waiting.
   * Called once by the engine's close, before the transport is closed.
   */
  void close(long deadlineNanos) {
    release(deadlineNanos, true);
  }

  /**
   * Unsubscribes the reply channel and fails the requests still waiting, but stays usable: the
   * next request subscribes again, on the engine's transport as it is then (the test broker
   * switches transports).
   */
  void reset(long deadlineNanos) {
    release(deadlineNanos, false);
  }

  private void release(long deadlineNanos, boolean permanently) {
    Transport.Consumer c;
    Timer t;
    lock.lock();
    try {
      closed = permanently;
      replyName = null;
      replyDestination = null;
      c = consumer;
      t = timer;
      consumer = null;
      timer = null;
    } finally {
      lock.unlock();
    }
    if (c != null) {
      try {
        c.stop();
      } catch (RuntimeException e) {
        LOG.debug("Stopping the reply channel {} failed", replyName, e);
      }
    }
    if (t != null) {
      t.close();
    }
    List<Pending> left = new ArrayList<>(pending.values());
    for (Pending p : left) {
      if (pending.remove(p.correlationId, p)) {
        p.reply.completeExceptionally(new BrookException("The broker " + engine.transport().describe()
            + (permanently ? " was closed" : " switched transports") + " before the reply to request " + p.correlationId
            + " on " + p.destination.key() + " arrived."));
      }
    }
    try {
      if (t != null) {
        t.thread.join(Duration.ofNanos(Math.max(1, deadlineNanos - System.nanoTime())));
      }
      for (Thread d : List.copyOf(completing)) {
        d.join(Duration.ofNanos(Math.max(1, deadlineNanos - System.nanoTime())));
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
