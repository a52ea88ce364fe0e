package dev.brook.internal;

import com.fasterxml.jackson.core.JsonProcessingException;
import dev.brook.AckMessage;
import dev.brook.AckPolicy;
import dev.brook.BrookException;
import dev.brook.Destination;
import dev.brook.NackMessage;
import dev.brook.RejectMessage;
import dev.brook.Handler;
import dev.brook.MessageContext;
import dev.brook.Subscription;
import dev.brook.SubscriptionMetrics;
import java.lang.reflect.Type;
import java.util.ArrayList;
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
  private final Type payloadType;
  private final Codec.Decoder decoder;
  private final List<Destination> publishTo;
  private final int concurrency;
  private final AckPolicy ackPolicy;
  /** 0 for single payloads, else the maximum batch. */
  private final int batchSize;

  private final ReentrantLock lock = new ReentrantLock();
  private volatile State state = State.REGISTERED;
  private boolean stoppedByBroker;
  private Transport.Consumer consumer;
  private Mailbox mailbox;

  private final LongAdder received = new LongAdder();
  private final LongAdder handled = new LongAdder();
  private final LongAdder failed = new LongAdder();
  private final LongAdder decodeErrors = new LongAdder();
  private final LongAdder dropped = new LongAdder();
  private volatile boolean droppingLogged;
  /** True while a stop drains; an interrupt then comes from the graceful deadline, not from a bug. */
  private volatile boolean stopping;

  DefaultSubscription(BrokerEngine engine, SubscriptionSpec spec, String registeredAt, Codec.Decoder decoder) {
    this.engine = engine;
    this.id = spec.id();
    this.destination = spec.destination();
    this.registeredAt = registeredAt;
    this.handler = spec.handler();
    this.payloadType = spec.payloadType();
    this.decoder = decoder;
    this.publishTo = spec.publishTo();
    this.concurrency = spec.concurrency();
    this.ackPolicy = spec.ackPolicy() != null ? spec.ackPolicy() : AckPolicy.REJECT_ON_ERROR;
    this.batchSize = spec.batchSize();
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
  public Type payloadType() {
    return payloadType;
  }

  @Override
  public List<Destination> publishTo() {
    return publishTo;
  }

  @Override
  public AckPolicy ackPolicy() {
    return ackPolicy;
  }

  @Override
  public int batchSize() {
    return Math.max(1, batchSize);
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
      Mailbox box = new Mailbox("brook-sub:" + id, concurrency, engine.bufferSize(), Math.max(1, batchSize),
          this::process, this::discard);
      Transport.Consumer c = engine.transport().consumer(destination, new Transport.Sink() {
        @Override
        public void accept(Inbound message) {
          box.offer(message);
        }

        @Override
        public boolean awaitCapacity(int n) throws InterruptedException {
          return box.awaitCapacity(n);
        }

        @Override
        public int room() {
          return box.room();
        }
      });
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
    Mailbox box = mailbox;
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

  /**
   * The path of messages: receive → decode → handler → publish the result → settle. Runs on a
   * worker thread; never throws.
   */
  private void process(List<Inbound> messages) {
    if (batchSize == 0) {
      for (Inbound in : messages) {
        processOne(in);
      }
    } else {
      processBatch(messages);
    }
  }

  private void processOne(Inbound in) {
    received.increment();
    Frame frame = in.frame();
    DefaultMessageContext ctx = new DefaultMessageContext(destination, in, frame, List.of(in));
    if (ackPolicy == AckPolicy.ACK_FIRST) {
      ctx.ack();
    }
    Object payload;
    try {
      payload = decoder.decode(frame);
    } catch (Exception e) {
      decodeFailed(ctx, in, e);
      return;
    }
    invoke(ctx, payload);
  }

  private void processBatch(List<Inbound> messages) {
    received.add(messages.size());
    List<Object> payloads = new ArrayList<>(messages.size());
    List<Inbound> decoded = new ArrayList<>(messages.size());
    Frame firstFrame = null;
    Inbound first = null;
    for (Inbound in : messages) {
      Frame frame = in.frame();
      try {
        payloads.add(decoder.decode(frame));
        decoded.add(in);
        if (first == null) {
          first = in;
          firstFrame = frame;
        }
      } catch (Exception e) {
        DefaultMessageContext single = new DefaultMessageContext(destination, in, frame, List.of(in));
        if (ackPolicy == AckPolicy.ACK_FIRST) {
          single.ack();
        }
        decodeFailed(single, in, e);
      }
    }
    if (decoded.isEmpty()) {
      return;
    }
    DefaultMessageContext ctx = new DefaultMessageContext(destination, first, firstFrame, decoded);
    if (ackPolicy == AckPolicy.ACK_FIRST) {
      ctx.ack();
    }
    invoke(ctx, payloads);
  }

  private void decodeFailed(DefaultMessageContext ctx, Inbound in, Exception e) {
    decodeErrors.increment();
    String why = reason(e);
    LOG.warn("Cannot decode message {} from {} (subscription '{}') into {}: {}. {}",
        ctx.messageId(), in.channel(), id, payloadType.getTypeName(), why,
        in.atLeastOnce() ? "Rejected; the subscription goes on." : "Skipped; the subscription goes on.");
    ctx.reject("cannot decode into " + payloadType.getTypeName() + ": " + why, e);
  }

  private void invoke(DefaultMessageContext ctx, Object payload) {
    Object result;
    try {
      result = handler.handle(payload, ctx);
      if (result != null && !publishTo.isEmpty()) {
        publishResult(result, ctx);
      }
    } catch (AckMessage signal) {
      handled.increment();
      ctx.ack();
      return;
    } catch (NackMessage signal) {
      ctx.nack();
      return;
    } catch (RejectMessage signal) {
      ctx.reject(signal.reason(), null);
      return;
    } catch (Throwable t) {
      if (t instanceof InterruptedException && stopping) {
        Thread.currentThread().interrupt();
        LOG.warn("Handler of subscription '{}' was interrupted on message {} from {}: the graceful timeout of {} ran out "
            + "while stopping.{}", id, ctx.messageId(), ctx.channel(), engine.gracefulTimeout(),
            destination.atLeastOnce() ? " It goes back to Redis." : "");
        ctx.release();
        return;
      }
      failed.increment();
      if (t instanceof InterruptedException) {
        Thread.currentThread().interrupt();
      }
      LOG.error("Handler of subscription '{}' failed on message {} from {}.", id, ctx.messageId(), ctx.channel(), t);
      switch (ackPolicy) {
        case ACK -> ctx.ack();
        case REJECT_ON_ERROR -> ctx.reject(t.getClass().getName() + ": " + t.getMessage(), t);
        case NACK_ON_ERROR -> ctx.nack();
        case ACK_FIRST, MANUAL -> {}
      }
      return;
    }
    handled.increment();
    if (ackPolicy != AckPolicy.MANUAL) {
      ctx.ack();
    }
  }

  /** Publishes the handler's result; a failure is thrown so the message is settled as a failure. */
  private void publishResult(Object result, MessageContext ctx) {
    Map<String, String> headers = Map.of(Codec.CORRELATION_ID, ctx.correlationId());
    for (Destination target : publishTo) {
      try {
        engine.publish(result, target, headers);
      } catch (RuntimeException e) {
        throw new BrookException("Subscription '" + id + "' could not publish the result of message "
            + ctx.messageId() + " to " + target.key() + ": " + e.getMessage(), e);
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
