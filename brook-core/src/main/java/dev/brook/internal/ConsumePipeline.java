package dev.brook.internal;

import com.fasterxml.jackson.core.JsonProcessingException;
import dev.brook.AckPolicy;
import dev.brook.Destination;
import dev.brook.Handler;
import dev.brook.MessageDecoder;
import dev.brook.MessageParser;
import dev.brook.Middleware;
import dev.brook.Subscription;
import dev.brook.spi.Frame;
import dev.brook.spi.Inbound;
import java.lang.reflect.Type;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The path of each message of one subscription, and what its links need: the subscription's
 * settings, its counters and log limits, and the engine to publish results with. The links ({@link
 * ConsumeLinks}) are given this object; none of them reaches into the subscription.
 *
 * <p>Every message runs one chain: Brook's own links, then the broker's, the router's and the
 * subscription's middlewares, then the handler:
 *
 * <pre>
 *   access log → settle → publish result → decode → validate → user middlewares → handler
 * </pre>
 *
 * Settle is the only link that catches: it turns the outcome into ack/nack/reject by the ack
 * policy, counts it and logs failures, so nothing escapes to the worker. Decode and validate throw
 * {@link BadInput}, which settle logs once and rejects. Publishing the result sits outside the
 * user's middlewares so a value they return (a short-circuit, ExceptionMiddleware's reply) is
 * published as a handler's is, and inside settle so a failed publish fails the message.
 *
 * <p>Threads: {@link #process} runs on the subscription's workers, up to its concurrency at once.
 * Everything here is immutable or thread-safe; {@code stopping} is set by the subscription's
 * state machine.
 */
final class ConsumePipeline {

  static final Logger LOG = LoggerFactory.getLogger("dev.brook.Subscription");

  /** The subscription, as handlers and middlewares see it. */
  final Subscription subscription;
  final BrokerEngine engine;
  final String id;
  final Destination destination;
  final Handler<Object> handler;
  final Type payloadType;
  final Codec.Decoder decoder;
  final List<Destination> publishTo;
  /** Where a Collection result's items go, one message each. */
  final List<Destination> publishBatchTo;
  /** Whether {@code reply_to} is ignored (no result reply, no error reply). */
  final boolean noReply;
  final AckPolicy ackPolicy;
  /** The user's parser (subscription, router or broker), or null for the transport's unwrapping. */
  final MessageParser parser;
  /** The user's decoder (subscription, router or broker), or null for {@link #decoder} alone. */
  final MessageDecoder userDecoder;
  /** The transport's unwrapping, as a parser is given it. */
  private final Function<byte[], MessageParser.Parsed> defaultParser;
  /** Brook's decoder, as a user's decoder is given it. */
  private final MessageDecoder.Default defaultDecoder;
  /** 0 for single payloads, else the maximum batch. */
  final int batchSize;
  /** The {@code @Valid} check, or null. */
  final PayloadCheck check;
  final SubscriptionCounters counters;
  /** Brook's links, the broker's middlewares, then the router's and the subscription's. */
  private final MiddlewareStack consumeStack;
  /** For publishing results: the broker's middlewares, then the router's and the subscription's. */
  private final MiddlewareStack publishStack;

  /** At most a few WARN lines a minute for messages that cannot be read; the rest are summarized. */
  private final WarnLimit decodeWarnings = WarnLimit.perMinute(WarnLimit.DECODE_WARNINGS_PER_MINUTE);
  /**
   * At most a few ERROR lines (with stack trace) a minute for handler failures: a message that always
   * fails and comes back must not fill the disk; the rest go to DEBUG and one summary.
   */
  private final WarnLimit failureErrors = WarnLimit.perMinute(WarnLimit.DECODE_WARNINGS_PER_MINUTE);
  /** At most a few WARN lines a minute for error replies that could not be sent. */
  final WarnLimit errorReplyWarnings = WarnLimit.perMinute(WarnLimit.DECODE_WARNINGS_PER_MINUTE);
  /**
   * A pull subscription's: its mailbox holds a message's room until the message is done, and gives
   * it back before telling the transport (the in-memory model hands over the next one then).
   */
  private final boolean holdsRoom;
  /** True while a stop drains; an interrupt then comes from the graceful deadline, not from a bug. */
  private volatile boolean stopping;

  ConsumePipeline(Subscription subscription, BrokerEngine engine, SubscriptionSpec spec, Codec.Decoder decoder,
      SubscriptionCounters counters) {
    this.subscription = subscription;
    this.engine = engine;
    this.id = spec.effectiveId();
    this.destination = spec.destination();
    this.handler = spec.handler();
    this.payloadType = spec.payloadType();
    this.decoder = decoder;
    this.publishTo = spec.publishTo();
    this.publishBatchTo = spec.publishBatchTo();
    this.noReply = spec.noReply();
    // nearest wins: the subscription's, the innermost router's, the broker's
    SubscriptionHooks hooks = spec.hooks().orElse(engine.defaults());
    this.ackPolicy = spec.ackPolicy() != null ? spec.ackPolicy()
        : hooks.ackPolicy() != null ? hooks.ackPolicy() : AckPolicy.REJECT_ON_ERROR;
    this.parser = hooks.parser();
    this.userDecoder = hooks.decoder();
    this.defaultParser = raw -> {
      Frame f = engine.transport().unwrap(raw);
      return new MessageParser.Parsed(f.headers(), f.payload());
    };
    this.defaultDecoder = (message, type) -> {
      Frame f = message instanceof DefaultMessageContext c ? c.frame() : new Frame(message.headers(), message.body());
      return (type.equals(payloadType) ? decoder : engine.codec().decoderFor(type)).decode(f);
    };
    this.batchSize = spec.batchSize();
    this.check = spec.check();
    this.counters = counters;
    this.holdsRoom = spec.handler() instanceof PullHandoff;
    this.consumeStack = new MiddlewareStack(ConsumeLinks.builtins(this, engine.accessLog()), spec.middlewares());
    this.publishStack = new MiddlewareStack(MiddlewareStack.NONE, spec.middlewares());
  }

  /**
   * Set by the subscription: true from the start of a stop until the next start (a handler
   * interrupted at the deadline may reach its catch only after the drain returned, and its message
   * must still go back to Redis).
   */
  void stopping(boolean stopping) {
    this.stopping = stopping;
  }

  /** The middlewares a result or reply is published through, as the broker's are now. */
  Middleware[] publishMiddlewares() {
    return publishStack.with(engine.middlewares());
  }

  /** Runs on a worker thread; never throws. */
  void process(List<Inbound> messages) {
    if (batchSize == 0) {
      for (Inbound in : messages) {
        counters.received.increment();
        DefaultMessageContext ctx = parser == null ? new DefaultMessageContext(this, in, in.frame(), null) : parsed(in);
        run(ctx, null);
        if (holdsRoom) {
          Mailbox.freeHeldRoom(); // also when the handler never ran (bad input)
        }
        ctx.processed();
        if (ctx.stopRequested()) {
          stopFromHandler();
        }
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
      Frame frame;
      try {
        frame = parser == null ? in.frame() : parse(in);
      } catch (Exception e) {
        DefaultMessageContext single = new DefaultMessageContext(this, in, in.frame(), null);
        if (ackPolicy == AckPolicy.ACK_FIRST) {
          single.ack();
        }
        badInput(single, parseFailure(e));
        single.processed();
        continue;
      }
      try {
        payloads.add(decode(in, frame, userDecoder == null ? null : new DefaultMessageContext(this, in, frame, null)));
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
    run(ctx, payloads);
    ctx.processed();
    if (ctx.stopRequested()) {
      stopFromHandler();
    }
  }

  /**
   * The handler threw {@link dev.brook.StopConsume} and its message is settled: stop the
   * subscription from this worker. The stop does not wait for this worker (the mailbox's drain
   * leaves out the thread calling it), and when another change of the id holds its lifecycle lock
   * the stop runs on its own thread ({@link Registry#lifecycleFromHandler}).
   */
  private void stopFromHandler() {
    try {
      subscription.stop();
    } catch (RuntimeException e) {
      LOG.error("Subscription '{}' could not stop as its handler asked (StopConsume).", id, e);
    }
  }

  /** {@code payload}: null for a single message (decode decodes it), the decoded items for a batch. */
  private void run(DefaultMessageContext ctx, Object payload) {
    try {
      ctx.run(consumeStack.with(engine.instrumentation(), engine.middlewares()), payload);
    } catch (Throwable t) {
      // Settle catches everything after it; only the access log (or a bug) is before it.
      LOG.error("Subscription '{}' failed on message {} from {} outside its handler.", id,
          LogText.escape(ctx.messageId()), LogText.escape(ctx.channel()), t);
    }
  }

  /**
   * The context of a message read by the user's parser; when the parser fails, the context has the
   * transport's frame and carries the failure, which the decode link hands down the chain.
   */
  private DefaultMessageContext parsed(Inbound in) {
    if (in.unreadable() != null) {
      return new DefaultMessageContext(this, in, in.frame(), null); // decode rejects it, unparsed
    }
    try {
      return new DefaultMessageContext(this, in, parse(in), null);
    } catch (Exception e) {
      DefaultMessageContext ctx = new DefaultMessageContext(this, in, in.frame(), null);
      ctx.pendingFailure(parseFailure(e));
      return ctx;
    }
  }

  /** The user's parser on the message's raw value. */
  private Frame parse(Inbound in) throws Exception {
    if (in.unreadable() != null) {
      return in.frame();
    }
    MessageParser.Parsed parsed = parser.parse(in.raw(), defaultParser);
    if (parsed == null) {
      throw new IllegalStateException("the parser returned null");
    }
    return Frame.owning(new java.util.LinkedHashMap<>(parsed.headers()), parsed.body());
  }

  BadInput parseFailure(Exception e) {
    String why = reason(e);
    return new BadInput("Cannot parse", ": " + why, "cannot parse: " + why, e);
  }

  /**
   * The payload in the handler's type; a message the transport marks unreadable (too large) is never
   * decoded. {@code ctx}: the message's context, needed only when the user set a decoder.
   */
  Object decode(Inbound in, Frame frame, DefaultMessageContext ctx) throws Exception {
    String unreadable = in.unreadable();
    if (unreadable != null) {
      throw new BadInput("Cannot read", ": " + unreadable, unreadable, null);
    }
    if (userDecoder == null) {
      return decoder.decode(frame);
    }
    Object value = userDecoder.decode(ctx, payloadType, defaultDecoder);
    if (value == null) {
      throw new IllegalStateException("the decoder returned null");
    }
    return value;
  }

  BadInput decodeFailure(Exception e) {
    String why = reason(e);
    String type = payloadType.getTypeName();
    return new BadInput("Cannot decode", " into " + type + ": " + why, "cannot decode into " + type + ": " + why, e);
  }

  private static String reason(Exception e) {
    if (e instanceof JsonProcessingException j) {
      return j.getOriginalMessage();
    }
    return e.getMessage() != null ? e.getMessage() : e.toString();
  }

  // ---- outcomes: what settle (and the batch path) make of a failure --------------------------

  /** Counts, logs (rate-limited) and rejects a message that cannot be handed to the handler. */
  void badInput(DefaultMessageContext ctx, BadInput b) {
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
  boolean interruptedByStop(Throwable t) {
    return stopping && (Mailbox.interruptedByStop() || t instanceof InterruptedException);
  }

  /** Whether an interrupt now comes from a stop (its deadline) rather than from a bug. */
  boolean stopping() {
    return stopping;
  }

  /** Gives the message back: its handler was interrupted by the stop, so it did not fail. */
  void giveBack(DefaultMessageContext ctx) {
    Thread.currentThread().interrupt();
    LOG.warn("Handler of subscription '{}' was interrupted on message {} from {}: the graceful timeout of {} ran out "
        + "while stopping.{}", id, LogText.escape(ctx.messageId()), LogText.escape(ctx.channel()), engine.gracefulTimeout(),
        destination.atLeastOnce() ? " It goes back to Redis." : "");
    ctx.release();
    ctx.outcome("interrupted by the stop");
  }

  /** Counts, logs (rate-limited) and settles a handler failure by the ack policy. */
  void failed(DefaultMessageContext ctx, Throwable t) {
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
}
