package dev.brook.internal;

import dev.brook.spi.Inbound;
import dev.brook.spi.Frame;
import dev.brook.Destination;
import dev.brook.MessageContext;
import dev.brook.Subscription;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The context of one message, or of one batch (then its headers and ids are the first message's
 * and settlement covers every message of the batch): what the handler gets as its {@link
 * MessageContext}, and what Brook's links read and settle. It is also the message's {@link
 * ConsumeCursor} through the consume chain, so the chain costs no object of its own.
 *
 * <p>Threads: built and run on the subscription's worker; settlement may come from the handler's
 * other threads, hence the atomic flag. Settled at most once.
 */
final class DefaultMessageContext extends ConsumeCursor implements MessageContext {

  private final ConsumePipeline pipeline;
  private final Inbound inbound;
  private final Frame frame;
  /** The messages settled together: null for a single message (then just {@link #inbound}). */
  private final List<Inbound> batch;
  /** How the message was settled: 0 not yet, else one of the SETTLED_ codes; set once. */
  private final AtomicInteger settled = new AtomicInteger();
  private String messageId;
  /** What happened, for the access log: set by the settlement link. Worker thread only. */
  private String outcome;
  /** The handler's (or decoding's) exception, for transports that report it (the test broker). */
  private Throwable failure;
  /** The handler threw StopConsume: the subscription stops once this message is done. Worker thread only. */
  private boolean stopAfter;

  DefaultMessageContext(ConsumePipeline pipeline, Inbound inbound, Frame frame, List<Inbound> batch) {
    this.pipeline = pipeline;
    this.inbound = inbound;
    this.frame = frame;
    this.batch = batch;
  }

  /** Why the message cannot reach the handler (unparsable, undecodable), or null. Worker thread only. */
  private BadInput pendingFailure;

  /** The chain's terminal: the subscription's handler, or the failure that keeps the message from it. */
  @Override
  Object handle(Object payload) throws Exception {
    if (pendingFailure != null) {
      throw pendingFailure;
    }
    return pipeline.handler.handle(payload, this);
  }

  BadInput pendingFailure() {
    return pendingFailure;
  }

  void pendingFailure(BadInput failure) {
    this.pendingFailure = failure;
  }

  @Override
  public MessageContext context() {
    return this;
  }

  @Override
  public Subscription subscription() {
    return pipeline.subscription;
  }

  String outcome() {
    return outcome;
  }

  void outcome(String outcome) {
    this.outcome = outcome;
  }

  /** The subscription's pipeline (for the filters' handler: its codec, counters and id). */
  ConsumePipeline pipeline() {
    return pipeline;
  }

  void stopAfter() {
    stopAfter = true;
  }

  boolean stopRequested() {
    return stopAfter;
  }

  Inbound inbound() {
    return inbound;
  }

  Throwable failure() {
    return failure;
  }

  void failure(Throwable failure) {
    this.failure = failure;
  }

  /** Tells each message's transport the subscription is done with it. */
  void processed() {
    if (batch == null) {
      inbound.processed(failure);
    } else {
      for (Inbound m : batch) {
        m.processed(failure);
      }
    }
  }

  Frame frame() {
    return frame;
  }

  boolean isBatch() {
    return batch != null;
  }

  boolean isSettled() {
    return settled.get() != 0;
  }

  static final int SETTLED_ACK = 1;
  static final int SETTLED_NACK = 2;
  static final int SETTLED_REJECT = 3;
  static final int SETTLED_RELEASE = 4;

  /** How the message was settled: "ack", "nack", "reject", "release", or null while it is not. */
  String settlement() {
    return switch (settled.get()) {
      case SETTLED_ACK -> "ack";
      case SETTLED_NACK -> "nack";
      case SETTLED_REJECT -> "reject";
      case SETTLED_RELEASE -> "release";
      default -> null;
    };
  }

  // ---- MessageContext -------------------------------------------------------------------------

  @Override
  public Map<String, String> headers() {
    return frame.headers();
  }

  @Override
  public String header(String name) {
    return frame.header(name);
  }

  @Override
  public List<Map<String, String>> batchHeaders() {
    if (batch == null) {
      return List.of(frame.headers());
    }
    // Only when a handler asks: each message's frame (cached by most inbounds) in the batch's order.
    List<Map<String, String>> all = new java.util.ArrayList<>(batch.size());
    for (Inbound m : batch) {
      all.add(m == inbound ? frame.headers() : m.frame().headers());
    }
    return java.util.Collections.unmodifiableList(all);
  }

  @Override
  public String correlationId() {
    String id = frame.header(Codec.CORRELATION_ID);
    return id != null ? id : messageId();
  }

  @Override
  public String messageId() {
    if (messageId == null) {
      String id = inbound.serverId();
      if (id == null) id = frame.header(Codec.MESSAGE_ID);
      if (id == null) id = frame.header(Codec.CORRELATION_ID);
      if (id == null) id = Ids.uuid();
      messageId = id;
    }
    return messageId;
  }

  @Override
  public Destination destination() {
    return pipeline.destination;
  }

  @Override
  public String channel() {
    return inbound.channel();
  }

  @Override
  public byte[] body() {
    return frame.payload();
  }

  @Override
  public String path(String name) {
    return inbound.pathParams().get(name);
  }

  @Override
  public Map<String, String> pathParams() {
    return inbound.pathParams();
  }

  @Override
  public long deliveryCount() {
    return inbound.deliveryCount();
  }

  @Override
  public void ack() {
    if (settled.compareAndSet(0, SETTLED_ACK)) {
      if (batch == null) {
        inbound.ack();
      } else if (!batch.isEmpty()) {
        batch.get(0).ackAll(batch);
      }
    }
  }

  @Override
  public void nack() {
    nack(null);
  }

  @Override
  public void delete() {
    if (batch == null) {
      inbound.delete();
    } else {
      for (Inbound m : batch) {
        m.delete();
      }
    }
  }

  void nack(String reason) {
    if (settled.compareAndSet(0, SETTLED_NACK)) {
      countExhausted();
      if (batch == null) {
        inbound.nack(reason);
      } else {
        for (Inbound m : batch) {
          m.nack(reason);
        }
      }
    }
  }

  /**
   * A failure under {@code retry(backoff)}: a nack with the back-off of each message's attempt
   * ({@link dev.brook.spi.Inbound#nack(String, java.time.Duration)}), unless a stop interrupted the
   * handler (then the message is given back, as without retry).
   */
  void retry(Throwable t, dev.brook.Backoff backoff) {
    if (pipeline.interruptedByStop(t) || settled.get() != 0) {
      return;
    }
    String why = t.getClass().getName() + ": " + t.getMessage();
    if (settled.compareAndSet(0, SETTLED_NACK)) {
      countExhausted();
      if (batch == null) {
        inbound.nack(why, backoff.delay(inbound.deliveryCount()));
      } else {
        for (dev.brook.spi.Inbound m : batch) {
          m.nack(why, backoff.delay(m.deliveryCount()));
        }
      }
    }
  }

  /** A nack of a message's last allowed delivery dead-letters it: counted with the rejected ones. */
  private void countExhausted() {
    int max = destination().maxDeliveries();
    if (max <= 0) {
      return;
    }
    if (batch == null) {
      if (inbound.deliveryCount() >= max) {
        pipeline.counters.rejected.increment();
      }
    } else {
      for (Inbound m : batch) {
        if (m.deliveryCount() >= max) {
          pipeline.counters.rejected.increment();
        }
      }
    }
  }

  @Override
  public void reject() {
    reject("rejected by the handler", null);
  }

  void reject(String reason, Throwable error) {
    if (settled.compareAndSet(0, SETTLED_REJECT)) {
      pipeline.counters.rejected.add(batch == null ? 1 : batch.size());
      if (batch == null) {
        inbound.reject(reason, error);
      } else {
        for (Inbound m : batch) {
          m.reject(reason, error);
        }
      }
    }
  }

  /** Hands the messages back untouched (interrupted by a stop). */
  void release() {
    if (settled.compareAndSet(0, SETTLED_RELEASE)) {
      if (batch == null) {
        inbound.release();
      } else {
        for (Inbound m : batch) {
          m.release();
        }
      }
    }
  }

  @Override
  public String toString() {
    return "MessageContext[" + destination().key() + " id=" + messageId() + "]";
  }
}
