package dev.brook.internal;

import com.fasterxml.jackson.core.JsonProcessingException;
import dev.brook.Destination;
import dev.brook.Handler;
import dev.brook.MessageContext;
import dev.brook.Subscription;
import dev.brook.SubscriptionMetrics;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.ReentrantLock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A subscription and the path of each of its messages: receive → decode → handler → publish the
 * result.
 *
 * <p>Locking: {@code lock} guards the state transitions (start, stop, close) and the consumer and
 * mailbox fields; message processing never takes it. {@code state} is volatile so reads need no lock.
 */
final class DefaultSubscription implements Subscription {

  private static final Logger LOG = LoggerFactory.getLogger("dev.brook.Subscription");

  private final BrokerEngine engine;
  private final String id;
  private final Destination destination;
  private final String registeredAt;
  private final Handler<Object> handler;
  private final Codec.Decoder decoder;
  private final String payloadTypeName;
  private final List<Destination> publishTo;
  private final int concurrency;

  private final ReentrantLock lock = new ReentrantLock();
  private volatile State state = State.REGISTERED;
  private boolean stoppedByBroker;
  private Transport.Consumer consumer;
  private Mailbox<Inbound> mailbox;

  private final LongAdder received = new LongAdder();
  private final LongAdder handled = new LongAdder();
  private final LongAdder failed = new LongAdder();
  private final LongAdder decodeErrors = new LongAdder();
  private final LongAdder dropped = new LongAdder();
  private volatile boolean droppingLogged;
  /** True while a stop drains; an interrupt then comes from the graceful deadline, not from a bug. */
  private volatile boolean stopping;

  DefaultSubscription(BrokerEngine engine, String id, Destination destination, String registeredAt,
      Handler<Object> handler, Codec.Decoder decoder, String payloadTypeName, List<Destination> publishTo,
      int concurrency) {
    this.engine = engine;
    this.id = id;
    this.destination = destination;
    this.registeredAt = registeredAt;
    this.handler = handler;
    this.decoder = decoder;
    this.payloadTypeName = payloadTypeName;
    this.publishTo = List.copyOf(publishTo);
    this.concurrency = concurrency;
  }

  @Override
  public String id() {
    return id;
  }

  @Override
  public Destination destination() {
    return destination;
  }

  @Override
  public State state() {
    return state;
  }

  String registeredAt() {
    return registeredAt;
  }

  @Override
  public void start() {
    engine.connectForSubscription();
    startInternal();
  }

  /** Starts unless closed; used by the broker, which connected already. */
  void startInternal() {
    lock.lock();
    try {
      if (state == State.CLOSED) {
        throw new IllegalStateException("Subscription '" + id + "' is closed and cannot be started again. "
            + "Register a new one with broker.subscriber(...).");
      }
      if (state == State.RUNNING) {
        return;
      }
      Mailbox<Inbound> box = new Mailbox<>("brook-sub:" + id, concurrency, engine.bufferSize(), this::process, this::discard);
      Transport.Consumer c = engine.transport().consumer(destination, box::offer);
      c.start();
      mailbox = box;
      consumer = c;
      stoppedByBroker = false;
      state = State.RUNNING;
    } finally {
      lock.unlock();
    }
  }

  /** Whether {@link BrokerEngine#start()} should start this one. */
  boolean startsWithBroker() {
    State s = state;
    return s == State.REGISTERED || (s == State.STOPPED && stoppedByBroker);
  }

  @Override
  public void stop() {
    stop(engine.deadline(), false);
  }

  void stop(long deadlineNanos, boolean byBroker) {
    lock.lock();
    try {
      if (state != State.RUNNING) {
        return;
      }
      stopping = true;
      try {
        consumer.stop();
      } finally {
        if (!mailbox.drain(deadlineNanos)) {
          LOG.warn("Subscription '{}' did not finish its handlers within the graceful timeout of {}; "
              + "they were interrupted and {} message(s) were dropped.", id, engine.gracefulTimeout(), dropped.sum());
        }
        consumer = null;
        mailbox = null;
        stoppedByBroker = byBroker;
        stopping = false;
        state = State.STOPPED;
      }
    } finally {
      lock.unlock();
    }
  }

  @Override
  public void close() {
    close(engine.deadline());
  }

  void close(long deadlineNanos) {
    lock.lock();
    try {
      if (state == State.CLOSED) {
        return;
      }
      try {
        stop(deadlineNanos, false);
      } finally {
        state = State.CLOSED;
        engine.unregister(this);
      }
    } finally {
      lock.unlock();
    }
  }

  @Override
  public SubscriptionMetrics metrics() {
    return new SubscriptionMetrics(received.sum(), handled.sum(), failed.sum(), decodeErrors.sum(), dropped.sum());
  }

  /** Worker threads alive now; 0 when stopped. For leak tests. */
  int liveWorkers() {
    Mailbox<Inbound> box = mailbox;
    return box == null ? 0 : box.liveWorkers();
  }

  private void discard(Inbound message) {
    dropped.increment();
    if (!droppingLogged && state == State.RUNNING) {
      droppingLogged = true;
      LOG.warn("Subscription '{}' dropped a message from {}: its buffer of {} messages is full. "
          + "Raise concurrency or the buffer size; further drops are counted in metrics().dropped() without a log line.",
          id, message.channel(), engine.bufferSize());
    }
  }

  /** The path of one message. Runs on a worker thread; never throws. */
  private void process(Inbound in) {
    received.increment();
    Frame frame = in.frame();
    DefaultMessageContext ctx = new DefaultMessageContext(destination, in, frame);
    Object payload;
    try {
      payload = decoder.decode(frame);
    } catch (Exception e) {
      decodeErrors.increment();
      LOG.warn("Cannot decode message {} from {} (subscription '{}') into {}: {}. Skipped; the subscription goes on.",
          ctx.messageId(), in.channel(), id, payloadTypeName, reason(e));
      return;
    }
    Object result;
    try {
      result = handler.handle(payload, ctx);
    } catch (Throwable t) {
      failed.increment();
      if (t instanceof InterruptedException && stopping) {
        Thread.currentThread().interrupt();
        LOG.warn("Handler of subscription '{}' was interrupted on message {} from {}: the graceful timeout of {} ran out while stopping.",
            id, ctx.messageId(), in.channel(), engine.gracefulTimeout());
        return;
      }
      LOG.error("Handler of subscription '{}' failed on message {} from {}.", id, ctx.messageId(), in.channel(), t);
      return;
    }
    handled.increment();
    if (result != null && !publishTo.isEmpty()) {
      publishResult(result, ctx);
    }
  }

  private void publishResult(Object result, MessageContext ctx) {
    Map<String, String> headers = Map.of(Codec.CORRELATION_ID, ctx.correlationId());
    for (Destination target : publishTo) {
      try {
        engine.publish(result, target, headers);
      } catch (RuntimeException e) {
        LOG.error("Subscription '{}' could not publish the result of message {} to {}.", id, ctx.messageId(), target.key(), e);
      }
    }
  }

  private static String reason(Exception e) {
    if (e instanceof JsonProcessingException j) {
      return j.getOriginalMessage();
    }
    return e.getMessage() != null ? e.getMessage() : e.toString();
  }

  @Override
  public String toString() {
    return "Subscription[" + id + " on " + destination.key() + ", " + state + "]";
  }
}
