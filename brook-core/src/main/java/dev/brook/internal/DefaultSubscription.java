package dev.brook.internal;

import dev.brook.spi.Transport;
import dev.brook.spi.Inbound;
import dev.brook.spi.Frame;
import com.fasterxml.jackson.core.JsonProcessingException;
import dev.brook.AckMessage;
import dev.brook.AckPolicy;
import dev.brook.BrookException;
import dev.brook.Destination;
import dev.brook.NackMessage;
import dev.brook.RejectMessage;
import dev.brook.Handler;
import dev.brook.Middleware;
import dev.brook.Subscription;
import dev.brook.SubscriptionMetrics;
import java.lang.reflect.Type;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A subscription and the path of each of its messages: one consume chain of Brook's own links
 * (access log, settle, publish the result, decode, validate) and the user's middlewares, ending in
 * the handler.
 *
 * <p>Locking: start, stop and close run under the lifecycle lock of the subscription's id in the
 * engine ({@link BrokerEngine#lifecycle}), which orders them with registrations of the same id, so
 * a subscription that replaces this one starts only after this one has stopped. Message processing
 * never takes it. {@code state}, {@code consumer} and {@code mailbox} change only under it and are
 * volatile, so reads need no lock.
 */
final class DefaultSubscription implements Subscription {

  private static final Logger LOG = LoggerFactory.getLogger("dev.brook.Subscription");
  /** The access log: one DEBUG line per message; its own name so it can be routed or silenced alone. */
  private static final Logger ACCESS = LoggerFactory.getLogger("dev.brook.access");

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
  private final PayloadCheck check;
  private final Object origin;
  /** Brook's links, the broker's middlewares, then the router's and the subscription's. */
  private final MiddlewareStack consumeStack;
  /** For publishing results: the broker's middlewares, then the router's and the subscription's. */
  private final MiddlewareStack publishStack;

  private volatile State state = State.REGISTERED;
  private volatile boolean stoppedByBroker;
  private volatile Transport.Consumer consumer;
  private volatile Mailbox mailbox;

  private final SubscriptionCounters counters = new SubscriptionCounters();
  private volatile boolean droppingLogged;
  /** At most a few WARN lines a minute for messages that cannot be read; the rest are summarized. */
  private final WarnLimit decodeWarnings = WarnLimit.perMinute(WarnLimit.DECODE_WARNINGS_PER_MINUTE);
  /**
   * At most a few ERROR lines (with stack trace) a minute for handler failures: a message that always
   * fails and comes back must not fill the disk; the rest go to DEBUG and one summary.
   */
  private final WarnLimit failureErrors = WarnLimit.perMinute(WarnLimit.DECODE_WARNINGS_PER_MINUTE);
  /** True while a stop drains; an interrupt then comes from the graceful deadline, not from a bug. */
  private volatile boolean stopping;

  DefaultSubscription(BrokerEngine engine, SubscriptionSpec spec, String registeredAt, Codec.Decoder decoder) {
    this.engine = engine;
    this.id = spec.effectiveId();
    this.destination = spec.destination();
    this.registeredAt = registeredAt;
    this.handler = spec.handler();
    this.payloadType = spec.payloadType();
    this.decoder = decoder;
    this.publishTo = spec.publishTo();
    this.concurrency = spec.concurrency();
    this.ackPolicy = spec.ackPolicy() != null ? spec.ackPolicy() : AckPolicy.REJECT_ON_ERROR;
    this.batchSize = spec.batchSize();
    this.check = spec.check();
    this.origin = spec.origin();
    this.consumeStack = new MiddlewareStack(builtins(engine), spec.middlewares());
    this.publishStack = new MiddlewareStack(MiddlewareStack.NONE, spec.middlewares());
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
    engine.registry().lifecycle(id, this::startInternal);
  }

  /**
   * Starts unless closed; the caller holds this id's lifecycle lock (and connected). A start that
   * fails leaves the subscription as it was, holding nothing.
   */
  void startInternal() {
    if (state == State.CLOSED) {
      throw new IllegalStateException("Subscription '" + id + "' is closed and cannot be started again. "
          + "Register a new one with broker.subscriber(...).");
    }
    if (state == State.RUNNING) {
      return;
    }
    Mailbox box = new Mailbox(this, "brook-sub:" + id, concurrency, engine.bufferSize(), Math.max(1, batchSize),
        this::process, this::discard);
    Transport.Consumer c = engine.transport().consumer(destination, id, box.sink());
    stopping = false;
    c.start();
    mailbox = box;
    consumer = c;
    stoppedByBroker = false;
    state = State.RUNNING;
  }

  /** Whether {@link BrokerEngine#start()} should start this one. */
  boolean startsWithBroker() {
    State s = state;
    return s == State.REGISTERED || (s == State.STOPPED && stoppedByBroker);
  }

  @Override
  public void stop() {
    long deadline = engine.deadline();
    engine.registry().lifecycleFromHandler(this, () -> stop(deadline, false));
  }

  /** The caller holds this id's lifecycle lock. */
  void stop(long deadlineNanos, boolean byBroker) {
    if (state != State.RUNNING) {
      return;
    }
    stopping = true;
    Transport.Consumer c = consumer;
    Mailbox box = mailbox;
    try {
      c.stop();
    } finally {
      boolean drained = box.drain(deadlineNanos);
      try {
        c.afterDrain();
      } finally {
        if (!drained) {
          LOG.warn("Subscription '{}' did not finish its handlers within the graceful timeout of {}; "
              + "they were interrupted and their messages given back{}.", id, engine.gracefulTimeout(),
              destination.atLeastOnce() ? "" : " (at-most-once: " + counters.dropped.sum() + " message(s) dropped so far)");
        }
        consumer = null;
        mailbox = null;
        stoppedByBroker = byBroker;
        // stopping stays true until the next start: a handler interrupted at the deadline may reach
        // its catch only after the drain returned, and its message must still go back to Redis.
        state = State.STOPPED;
      }
    }
  }

  @Override
  public void close() {
    long deadline = engine.deadline();
    engine.registry().lifecycleFromHandler(this, () -> close(deadline));
  }

  /** The caller holds this id's lifecycle lock. */
  void close(long deadlineNanos) {
    if (state == State.CLOSED) {
      return;
    }
    try {
      stop(deadlineNanos, false);
    } finally {
      state = State.CLOSED;
      engine.registry().unregister(this);
    }
  }

  @Override
  public SubscriptionMetrics metrics() {
    return counters.snapshot();
  }

  /** Worker threads alive now; 0 when stopped. For leak tests. */
  int liveWorkers() {
    Mailbox box = mailbox;
    return box == null ? 0 : box.liveWorkers();
  }

  private void discard(Inbound message) {
    counters.dropped.increment();
    if (!droppingLogged && state == State.RUNNING) {
      droppingLogged = true;
      LOG.warn("Subscription '{}' dropped a message from {}: its buffer of {} messages is full. "
          + "Raise concurrency or the buffer size; further drops are counted in metrics().dropped() without a log line.",
          id, LogText.escape(message.channel()), engine.bufferSize());
    }
  }

  // ---- the message path ----------------------------------------------------------------------
  //
  // Every message runs one chain (see DefaultMessageContext): Brook's own links, then the broker's,
  // the router's and the subscription's middlewares, then the handler:
  //
  //   access log → settle → publish result → decode → validate → user middlewares → handler
  //
  // Settle is the only link that catches: it turns the outcome into ack/nack/reject by the ack
  // policy, counts it and logs failures, so nothing escapes to the worker. Decode and validate throw
  // BadInput, which settle logs once and rejects. Publishing the result sits outside the user's
  // middlewares so a value they return (a short-circuit, ExceptionMiddleware's reply) is published
  // as a handler's is, and inside settle so a failed publish fails the message.

  /** Handler of the spec; the terminal of the chain. */
  Handler<Object> handler() {
    return handler;
  }

  /** Who declared this subscription (router entry, annotated method), or null. */
  Object origin() {
    return origin;
  }

  /** Runs on a worker thread; never throws. */
  private void process(List<Inbound> messages) {
    if (batchSize == 0) {
      for (Inbound in : messages) {
        counters.received.increment();
        DefaultMessageContext ctx = new DefaultMessageContext(this, in, in.frame(), null);
        run(ctx);
        ctx.processed();
      }
    } else {
      processBatch(messages);
    }
  }

  private void processBatch(List<Inbound> messages) {
    counters.received.add(messages.size());
    List<Object> payloads = new ArrayList<>(messages.size());
    List<Inbound> decoded = new ArrayList<>(messages.size());
    Frame firstFrame = null;
    Inbound first = null;
    for (Inbound in : messages) {
      Frame frame = in.frame();
      try {
        payloads.add(decode(in, frame));
        decoded.add(in);
        if (first == null) {
          first = in;
          firstFrame = frame;
        }
      } catch (Exception e) {
        DefaultMessageContext single = new DefaultMessageContext(this, in, frame, null);
        if (ackPolicy == AckPolicy.ACK_FIRST) {
          single.ack();
        }
        badInput(single, e instanceof BadInput b ? b : decodeFailure(e));
        single.processed();
      }
    }
    if (decoded.isEmpty()) {
      return;
    }
    DefaultMessageContext ctx = new DefaultMessageContext(this, first, firstFrame, decoded);
    ctx.decoded(payloads);
    run(ctx);
    ctx.processed();
  }

  private void run(DefaultMessageContext ctx) {
    try {
      ctx.run(consumeStack.with(engine.middlewares()));
    } catch (Throwable t) {
      // Settle catches everything after it; only the access log (or a bug) is before it.
      LOG.error("Subscription '{}' failed on message {} from {} outside its handler.", id,
          LogText.escape(ctx.messageId()), LogText.escape(ctx.channel()), t);
    }
  }

  /** The payload in the handler's type; a message the transport marks unreadable (too large) is never decoded. */
  private Object decode(Inbound in, Frame frame) throws Exception {
    String unreadable = in.unreadable();
    if (unreadable != null) {
      throw new BadInput("Cannot read", ": " + unreadable, unreadable, null);
    }
    return decoder.decode(frame);
  }

  private BadInput decodeFailure(Exception e) {
    String why = reason(e);
    String type = payloadType.getTypeName();
    return new BadInput("Cannot decode", " into " + type + ": " + why, "cannot decode into " + type + ": " + why, e);
  }

  private void badInput(DefaultMessageContext ctx, BadInput b) {
    counters.decodeErrors.increment();
    ctx.failure(b.error() != null ? b.error() : b);
    Inbound in = ctx.inbound();
    long suppressed = decodeWarnings.acquire();
    if (suppressed > 0) {
      LOG.warn("Subscription '{}' could not read {} more message(s) in the last minute; they were logged at DEBUG only "
          + "(at most {} such WARN lines a minute), and metrics().decodeErrors() counts them all.",
          id, suppressed, WarnLimit.DECODE_WARNINGS_PER_MINUTE);
    }
    if (suppressed >= 0 ? LOG.isWarnEnabled() : LOG.isDebugEnabled()) {
      // Escaped: the id, a pattern's channel and a decoder's message (quoting the payload) come from outside.
      String line = b.before() + " message " + LogText.escape(ctx.messageId()) + " from " + LogText.escape(in.channel())
          + " (subscription '" + id + "')" + LogText.escape(b.after()) + ". "
          + (in.atLeastOnce() ? "Rejected; the subscription goes on." : "Skipped; the subscription goes on.");
      if (suppressed >= 0) {
        LOG.warn(line);
      } else {
        LOG.debug(line);
      }
    }
    ctx.reject(b.reason(), b.error());
    ctx.outcome("rejected: " + b.reason());
  }

  /**
   * Whether the handler's outcome comes from the stop interrupting it at the graceful deadline: then
   * the message goes back to Redis whatever the handler made of the interrupt (wrapped it, or was
   * in a Brook call that turned it into a BrookException).
   */
  private boolean interruptedByStop(Throwable t) {
    return stopping && (Mailbox.interruptedByStop() || t instanceof InterruptedException);
  }

  /** Gives the message back: its handler was interrupted by the stop, so it did not fail. */
  private void giveBack(DefaultMessageContext ctx) {
    Thread.currentThread().interrupt();
    LOG.warn("Handler of subscription '{}' was interrupted on message {} from {}: the graceful timeout of {} ran out "
        + "while stopping.{}", id, LogText.escape(ctx.messageId()), LogText.escape(ctx.channel()), engine.gracefulTimeout(),
        destination.atLeastOnce() ? " It goes back to Redis." : "");
    ctx.release();
    ctx.outcome("interrupted by the stop");
  }

  private void failed(DefaultMessageContext ctx, Throwable t) {
    if (interruptedByStop(t)) {
      giveBack(ctx);
      return;
    }
    counters.failed.increment();
    ctx.failure(t);
    if (t instanceof InterruptedException) {
      Thread.currentThread().interrupt();
    }
    long suppressed = failureErrors.acquire();
    if (suppressed > 0) {
      LOG.error("Handler of subscription '{}' failed on {} more message(s) in the last minute; they were logged at DEBUG "
          + "only (at most {} such ERROR lines a minute), and metrics().failed() counts them all.",
          id, suppressed, WarnLimit.DECODE_WARNINGS_PER_MINUTE);
    }
    if (suppressed >= 0) {
      LOG.error("Handler of subscription '{}' failed on message {} from {} (delivery {}).", id,
          LogText.escape(ctx.messageId()), LogText.escape(ctx.channel()), ctx.deliveryCount(), t);
    } else {
      LOG.debug("Handler of subscription '{}' failed on message {} from {} (delivery {}).", id,
          LogText.escape(ctx.messageId()), LogText.escape(ctx.channel()), ctx.deliveryCount(), t);
    }
    String why = t.getClass().getName() + ": " + t.getMessage();
    switch (ackPolicy) {
      case ACK -> ctx.ack();
      case REJECT_ON_ERROR -> ctx.reject(why, t);
      case NACK_ON_ERROR -> ctx.nack(why);
      case ACK_FIRST, MANUAL -> {}
    }
    ctx.outcome("failed: " + why);
  }

  /** Turns the outcome of everything after it into settlement and counts; never throws. */
  private final class Settle implements Middleware {
    @Override
    public Object consume(ConsumeChain chain) {
      DefaultMessageContext ctx = (DefaultMessageContext) chain;
      if (ackPolicy == AckPolicy.ACK_FIRST) {
        ctx.ack();
      }
      Object result;
      try {
        result = ctx.proceed();
      } catch (Throwable t) {
        if (interruptedByStop(t)) {
          giveBack(ctx);
          return null;
        }
        return settleFailure(ctx, t);
      }
      counters.handled.increment();
      if (ackPolicy != AckPolicy.MANUAL) {
        ctx.ack();
      }
      ctx.outcome("handled");
      return result;
    }

    private Object settleFailure(DefaultMessageContext ctx, Throwable thrown) {
      try {
        throw thrown;
      } catch (AckMessage signal) {
        counters.handled.increment();
        ctx.ack();
        ctx.outcome("acked by the handler");
        return null;
      } catch (NackMessage signal) {
        ctx.nack();
        ctx.outcome("nacked by the handler");
        return null;
      } catch (BadInput b) {
        badInput(ctx, b);
        return null;
      } catch (RejectMessage signal) {
        ctx.reject(signal.reason(), null);
        ctx.outcome("rejected: " + signal.reason());
        return null;
      } catch (Throwable t) {
        failed(ctx, t);
        return null;
      }
    }
  }

  /**
   * Publishes a non-null result to every publishTo destination and, when the message has a {@code
   * reply_to}, replies: with the result, or with an empty message when the handler returned null (as
   * FastStream does, so its requester is not left to time out). When the handler fails and the
   * request says it reads error replies (Brook's requests do), the reply is empty and names the
   * error; a FastStream requester does not say so and, as from FastStream, gets nothing.
   */
  private final class PublishResult implements Middleware {
    @Override
    public Object consume(ConsumeChain chain) throws Exception {
      DefaultMessageContext ctx = (DefaultMessageContext) chain;
      Object result;
      try {
        result = chain.proceed();
      } catch (Throwable t) {
        replyError(ctx, t);
        throw t;
      }
      publishResult(result, ctx);
      return result;
    }
  }

  /** Decodes the frame into the handler's type unless the batch path did already. */
  private final class Decode implements Middleware {
    @Override
    public Object consume(ConsumeChain chain) throws Exception {
      DefaultMessageContext ctx = (DefaultMessageContext) chain;
      if (!ctx.isDecoded()) {
        Object value;
        try {
          value = decode(ctx.inbound(), ctx.frame());
        } catch (BadInput e) {
          throw e;
        } catch (Exception e) {
          throw decodeFailure(e);
        }
        ctx.decoded(value);
      }
      return ctx.proceed();
    }
  }

  /** Rejects a payload that breaks its constraints ({@code @Valid}). */
  private final class Validate implements Middleware {
    @Override
    public Object consume(ConsumeChain chain) throws Exception {
      String violations = check.violations(chain.payload());
      if (violations != null) {
        throw new BadInput("Invalid", ": " + violations, "invalid payload: " + violations, null);
      }
      return chain.proceed();
    }
  }

  /** One DEBUG line per message on {@code dev.brook.access}: subscription, id, channel, outcome, time. */
  private final class AccessLog implements Middleware {
    @Override
    public Object consume(ConsumeChain chain) throws Exception {
      if (!ACCESS.isDebugEnabled()) {
        return chain.proceed();
      }
      long start = System.nanoTime();
      DefaultMessageContext ctx = (DefaultMessageContext) chain;
      try {
        return ctx.proceed();
      } finally {
        long micros = (System.nanoTime() - start) / 1000;
        ACCESS.debug("{} message {} from {}: {} in {} ms", id, LogText.escape(ctx.messageId()),
            LogText.escape(ctx.channel()), LogText.escape(ctx.outcome()),
            micros / 1000 + "." + String.format("%03d", micros % 1000));
      }
    }
  }

  private Middleware[] builtins(BrokerEngine engine) {
    List<Middleware> links = new ArrayList<>(5);
    if (engine.accessLog()) {
      links.add(new AccessLog());
    }
    links.add(new Settle());
    links.add(new PublishResult());
    links.add(new Decode());
    if (check != null) {
      links.add(new Validate());
    }
    return links.toArray(MiddlewareStack.NONE);
  }

  /**
   * Publishes the handler's result (a null one only as the empty reply); a failure is thrown so the
   * message is settled as a failure.
   */
  private void publishResult(Object result, DefaultMessageContext ctx) {
    String replyTo = ctx.isBatch() ? null : ctx.replyTo();
    if (result == null && replyTo == null) {
      return;
    }
    Map<String, String> headers = Map.of(Codec.CORRELATION_ID, ctx.correlationId());
    Middleware[] middlewares = publishStack.with(engine.middlewares());
    if (result != null) {
      for (Destination target : publishTo) {
        try {
          engine.publishing().publish(result, target, headers, middlewares);
        } catch (RuntimeException e) {
          throw new BrookException("Subscription '" + id + "' could not publish the result of message "
              + ctx.messageId() + " to " + target.key() + ": " + e.getMessage(), e);
        }
      }
    }
    if (replyTo != null) {
      Destination target = engine.transport().replyChannel(replyTo);
      try {
        engine.publishing().publish(result, target, headers, middlewares);
      } catch (RuntimeException e) {
        throw new BrookException("Subscription '" + id + "' could not reply to message " + ctx.messageId() + " on "
            + target.key() + ": " + e.getMessage(), e);
      }
    }
  }

  /** At most a few WARN lines a minute for error replies that could not be sent. */
  private final WarnLimit errorReplyWarnings = WarnLimit.perMinute(WarnLimit.DECODE_WARNINGS_PER_MINUTE);

  /**
   * Sends the empty reply naming the handler's failure {@code t}, if the message is a request that
   * asked for error replies ({@link Codec#ERROR_REPLY}) and {@code t} is a failure: an ack or nack
   * signal is not (a nacked message comes again and may still be answered), nor is the interrupt of a
   * stop (the message goes back to Redis). Never throws: the failure itself is what the settlement
   * link must see, so a reply that cannot be sent is only logged.
   */
  private void replyError(DefaultMessageContext ctx, Throwable t) {
    String replyTo = ctx.isBatch() ? null : ctx.replyTo();
    if (replyTo == null || ctx.header(Codec.ERROR_REPLY) == null
        || t instanceof AckMessage || t instanceof NackMessage || (t instanceof InterruptedException && stopping)) {
      return;
    }
    String type;
    String message;
    if (t instanceof BadInput b) {
      type = RejectMessage.class.getName(); // an unreadable or invalid payload is rejected
      message = b.reason();
    } else if (t instanceof RejectMessage r) {
      type = r.getClass().getName();
      message = r.reason();
    } else {
      type = t.getClass().getName();
      message = String.valueOf(t.getMessage());
    }
    Map<String, String> headers = new java.util.LinkedHashMap<>(4);
    headers.put(Codec.CORRELATION_ID, ctx.correlationId());
    headers.put(Codec.ERROR_TYPE, clip(type));
    headers.put(Codec.ERROR_MESSAGE, clip(message));
    Destination target = engine.transport().replyChannel(replyTo);
    try {
      engine.publishing().publish(null, target, headers, publishStack.with(engine.middlewares()));
    } catch (RuntimeException e) {
      long suppressed = errorReplyWarnings.acquire();
      if (suppressed >= 0) {
        LOG.warn("Subscription '{}' could not send the error reply to message {} on {}{}: {}", id, ctx.messageId(),
            target.key(), suppressed > 0 ? " (and " + suppressed + " more in the last minute)" : "", e.toString());
      } else {
        LOG.debug("Subscription '{}' could not send the error reply to message {} on {}", id, ctx.messageId(),
            target.key(), e);
      }
    }
  }

  /** A header value is at most 65,535 bytes: an error text is cut well before that. */
  private static String clip(String value) {
    return value.length() > 2000 ? value.substring(0, 2000) + "…" : value;
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
