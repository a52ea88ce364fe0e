package dev.brook.internal;

import dev.brook.spi.Inbound;
import dev.brook.spi.Frame;
import dev.brook.Destination;
import dev.brook.MessageContext;
import dev.brook.Middleware;
import dev.brook.Subscription;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * The context of one message, or of one batch (then its headers and ids are the first message's
 * and settlement covers every message of the batch), and its way through the consume chain.
 *
 * <p>One object per message does both jobs so the chain costs no allocation of its own: {@link
 * #proceed()} moves a cursor over the subscription's links (Brook's own, then the broker's, the
 * router's and the subscription's middlewares) and, past the last, calls the handler. The cursor
 * is restored when a link returns, so a link may proceed twice (a retry).
 *
 * <p>Threads: built and run on the subscription's worker; settlement may come from the handler's
 * other threads, hence the atomic flag. Settled at most once.
 */
final class DefaultMessageContext implements MessageContext, Middleware.ConsumeChain {

  private final ConsumePipeline pipeline;
  private final Inbound inbound;
  private final Frame frame;
  /** The messages settled together: null for a single message (then just {@link #inbound}). */
  private final List<Inbound> batch;
  private final AtomicBoolean settled = new AtomicBoolean();
  private String messageId;

  // The chain: set by the subscription before the first proceed, used by the worker thread only.
  private Middleware[] links;
  private int index;
  private Object payload;
  private boolean decoded;
  /** What happened, for the access log: set by the settlement link. */
  private String outcome;
  /** The handler's (or decoding's) exception, for transports that report it (the test broker). */
  private Throwable failure;

  DefaultMessageContext(ConsumePipeline pipeline, Inbound inbound, Frame frame, List<Inbound> batch) {
    this.pipeline = pipeline;
    this.inbound = inbound;
    this.frame = frame;
    this.batch = batch;
  }

  // ---- the consume chain ---------------------------------------------------------------------

  /** Runs the whole chain; the settlement link catches everything, so this returns normally. */
  void run(Middleware[] chain) throws Exception {
    links = chain;
    index = 0;
    proceed();
  }

  @Override
  public Object proceed() throws Exception {
    int i = index;
    Middleware[] chain = links;
    if (i >= chain.length) {
      return pipeline.handler.handle(payload, this);
    }
    index = i + 1;
    try {
      return chain[i].consume(this);
    } finally {
      index = i;
    }
  }

  @Override
  public Object proceed(Object replacement) throws Exception {
    Object previous = payload;
    payload = replacement;
    try {
      return proceed();
    } finally {
      payload = previous;
    }
  }

  @Override
  public Object payload() {
    return payload;
  }

  /** Sets the payload decoded by the decode link (or by the batch path before the chain). */
  void decoded(Object value) {
    payload = value;
    decoded = true;
  }

  boolean isDecoded() {
    return decoded;
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
    return settled.get();
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
    if (settled.compareAndSet(false, true)) {
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

  void nack(String reason) {
    if (settled.compareAndSet(false, true)) {
      if (batch == null) {
        inbound.nack(reason);
      } else {
        for (Inbound m : batch) {
          m.nack(reason);
        }
      }
    }
  }

  @Override
  public void reject() {
    reject("rejected by the handler", null);
  }

  void reject(String reason, Throwable error) {
    if (settled.compareAndSet(false, true)) {
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
    if (settled.compareAndSet(false, true)) {
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
