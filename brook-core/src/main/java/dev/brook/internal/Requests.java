package dev.brook.internal;

import com.fasterxml.jackson.core.JsonProcessingException;
import dev.brook.BrookException;
import dev.brook.Destination;
import dev.brook.Middleware;
import dev.brook.RequestMetrics;
import dev.brook.RequestTimeoutException;
import java.lang.reflect.Type;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.ReentrantLock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Request/reply for one broker: one reply channel ({@code brook.reply.<uuid>}) subscribed at the
 * first request, a map of pending requests by correlation id, and one timer.
 *
 * <p>Every request puts its entry in {@code pending} before publishing and removes it exactly once:
 * the reply, the timeout, a publishing failure, cancellation or close take it out with {@code
 * remove}, and only the one that removed it completes the future. So the map holds only requests
 * still waiting, a late reply finds nothing (it is counted and dropped) and can never complete
 * another caller's future; the timer's cancelled tasks are purged at once.
 *
 * <p>Threads: replies arrive on the transport's I/O thread and go through a {@link Mailbox} to
 * virtual workers {@code brook-reply}, which unwrap, match, decode and complete; timeouts fire on
 * the virtual thread {@code brook-request-timer}. Both exist from the first request until close.
 * {@code lock} guards starting and closing.
 */
final class Requests {

  private static final Logger LOG = LoggerFactory.getLogger("dev.brook.Request");
  private static final int REPLY_WORKERS = 4;

  private record Pending(String correlationId, Destination destination, Duration timeout, Codec.Decoder decoder,
      Type type, CompletableFuture<Object> future, ScheduledFuture<?>[] timer) {}

  private final BrokerEngine engine;
  private final ConcurrentHashMap<String, Pending> pending = new ConcurrentHashMap<>();
  private final ConcurrentHashMap<Type, Codec.Decoder> decoders = new ConcurrentHashMap<>();
  private final LongAdder replied = new LongAdder();
  private final LongAdder timedOut = new LongAdder();
  private final LongAdder late = new LongAdder();
  private final ReentrantLock lock = new ReentrantLock();
  private volatile String replyName;
  private Transport.Consumer consumer;
  private Mailbox mailbox;
  private ScheduledThreadPoolExecutor timer;
  private boolean closed;

  Requests(BrokerEngine engine) {
    this.engine = engine;
  }

  RequestMetrics metrics() {
    return new RequestMetrics(pending.size(), replied.sum(), timedOut.sum(), late.sum());
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
      Mailbox box = new Mailbox("brook-reply", REPLY_WORKERS, engine.bufferSize(), 1, this::replies, this::overflow);
      Transport.Consumer c = engine.transport().consumer(channel, box.sink());
      c.start();
      ScheduledThreadPoolExecutor t = new ScheduledThreadPoolExecutor(1, Thread.ofVirtual().name("brook-request-timer").factory());
      t.setRemoveOnCancelPolicy(true);
      timer = t;
      mailbox = box;
      consumer = c;
      replyName = name;
      LOG.debug("Replies to requests of {} come back on channel {}.", engine.transport().describe(), name);
      return name;
    } finally {
      lock.unlock();
    }
  }

  /**
   * Publishes a request and returns the future of its decoded reply. The headers are the caller's
   * plus {@code correlation_id} and {@code reply_to} (which replace the caller's of those names).
   */
  @SuppressWarnings("unchecked")
  <R> CompletableFuture<R> send(Object payload, Destination destination, Type replyType, Duration timeout,
      Map<String, String> headers, Middleware[] middlewares) {
    if (timeout.isNegative() || timeout.isZero()) {
      throw new IllegalArgumentException("A request timeout must be positive, was " + timeout + ".");
    }
    String reply = ensureStarted();
    String correlationId = Ids.uuid();
    Map<String, String> all = new LinkedHashMap<>(headers.size() + 2);
    all.putAll(headers);
    all.put(Codec.CORRELATION_ID, correlationId);
    all.put(Codec.REPLY_TO, reply);
    CompletableFuture<Object> future = new CompletableFuture<>();
    Pending p = new Pending(correlationId, destination, timeout, decoder(replyType), replyType, future, new ScheduledFuture<?>[1]);
    pending.put(correlationId, p);
    try {
      p.timer[0] = timer.schedule(() -> timeout(p), timeout.toNanos(), TimeUnit.NANOSECONDS);
    } catch (RuntimeException rejected) {
      // The timer was shut down by a concurrent close.
      pending.remove(correlationId, p);
      throw new IllegalStateException("Cannot send a request with broker " + engine.transport().describe()
          + ": it is closed. A closed broker cannot be reused; create a new one.", rejected);
    }
    // Whoever completes the future (reply, timeout, failure, the caller's cancel) forgets the request.
    future.whenComplete((r, e) -> forget(p));
    CompletableFuture<Void> sent;
    try {
      sent = engine.dispatch(payload, destination, all, middlewares);
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
    return (CompletableFuture<R>) future;
  }

  private void forget(Pending p) {
    pending.remove(p.correlationId, p);
    ScheduledFuture<?> t = p.timer[0];
    if (t != null) {
      t.cancel(false);
    }
  }

  private void timeout(Pending p) {
    if (pending.remove(p.correlationId, p)) {
      timedOut.increment();
      p.future.completeExceptionally(new RequestTimeoutException(p.destination.key(), p.timeout, p.correlationId));
    }
  }

  private Codec.Decoder decoder(Type type) {
    if (type == Void.class || type == void.class) {
      return frame -> null;
    }
    return decoders.computeIfAbsent(type, t -> engine.codec().decoderFor(t));
  }

  /** On a reply worker: match each reply to its request and complete it. */
  private void replies(List<Inbound> batch) {
    for (Inbound in : batch) {
      try {
        reply(in);
      } finally {
        in.processed(null);
      }
    }
  }

  /** Matches one reply to its request and completes the request's future. */
  private void reply(Inbound in) {
    Frame frame = in.frame();
    String correlationId = frame.header(Codec.CORRELATION_ID);
    Pending p = correlationId == null ? null : pending.remove(correlationId);
    if (p == null) {
      late.increment();
      LOG.debug("Dropped a reply with correlation_id {} on {}: no request is waiting for it (it timed out, was "
          + "cancelled or was answered already).", correlationId, replyName);
      return;
    }
    Object value;
    try {
      value = frame.payload().length == 0 && frame.header(Codec.CONTENT_TYPE) == null ? null : p.decoder.decode(frame);
    } catch (Exception e) {
      String why = e instanceof JsonProcessingException j ? j.getOriginalMessage() : String.valueOf(e.getMessage());
      p.future.completeExceptionally(new BrookException("Cannot decode the reply to request " + correlationId + " on "
          + p.destination.key() + " into " + p.type.getTypeName() + ": " + why
          + ". Ask for the type the subscriber returns, or String or byte[] to see the raw reply.", e));
      return;
    }
    replied.increment();
    try {
      p.future.complete(value);
    } catch (RuntimeException e) {
      LOG.warn("A dependent stage of the request {} on {} failed on the reply thread.", correlationId, p.destination.key(), e);
    }
  }

  private void overflow(Inbound message) {
    late.increment();
    LOG.warn("Dropped a reply on {}: {} replies are waiting to be matched. Fewer requests at once, or quicker "
        + "dependent stages of requestAsync, let them through.", message.channel(), engine.bufferSize());
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
    Mailbox box;
    ScheduledThreadPoolExecutor t;
    lock.lock();
    try {
      closed = permanently;
      replyName = null;
      c = consumer;
      box = mailbox;
      t = timer;
      consumer = null;
      mailbox = null;
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
    if (box != null) {
      box.drain(deadlineNanos);
    }
    if (t != null) {
      t.shutdownNow();
    }
    List<Pending> left = new ArrayList<>(pending.values());
    for (Pending p : left) {
      if (pending.remove(p.correlationId, p)) {
        p.future.completeExceptionally(new BrookException("The broker " + engine.transport().describe()
            + (permanently ? " was closed" : " switched transports") + " before the reply to request " + p.correlationId
            + " on " + p.destination.key() + " arrived."));
      }
    }
    if (t != null) {
      try {
        t.awaitTermination(Math.max(0, deadlineNanos - System.nanoTime()), TimeUnit.NANOSECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }
}
