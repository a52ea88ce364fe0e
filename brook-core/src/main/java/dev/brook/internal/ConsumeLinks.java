package dev.brook.internal;

import dev.brook.AckMessage;
import dev.brook.AckPolicy;
import dev.brook.BrookException;
import dev.brook.Destination;
import dev.brook.Middleware;
import dev.brook.NackMessage;
import dev.brook.RejectMessage;
import dev.brook.Response;
import dev.brook.SkipMessage;
import dev.brook.StopConsume;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Brook's own links of the consume chain, in their order: {@link AccessLog}, {@link Settle},
 * {@link PublishResult}, {@link Decode}, {@link Validate} (see {@link ConsumePipeline} for why in
 * this order). Each is a {@link Middleware} like the user's, made for one subscription and given its
 * {@link ConsumePipeline}; like every middleware it serves that subscription's workers
 * concurrently and keeps no per-message state.
 */
final class ConsumeLinks {

  /** The access log: one DEBUG line per message; its own name so it can be routed or silenced alone. */
  private static final Logger ACCESS = LoggerFactory.getLogger("dev.brook.access");

  private ConsumeLinks() {}

  /** The links for one subscription; the access log only when the broker has it on, validation only for {@code @Valid}. */
  static Middleware[] builtins(ConsumePipeline pipeline, boolean accessLog) {
    List<Middleware> links = new ArrayList<>(5);
    if (accessLog) {
      links.add(new AccessLog(pipeline));
    }
    links.add(new Settle(pipeline));
    links.add(new PublishResult(pipeline));
    links.add(new Decode(pipeline));
    if (pipeline.check != null) {
      links.add(new Validate(pipeline));
    }
    return links.toArray(MiddlewareStack.NONE);
  }

  /** The message the chain runs for; Brook's links run only in Brook's chains, before any user middleware. */
  private static DefaultMessageContext message(Middleware.ConsumeChain chain) {
    return (DefaultMessageContext) chain;
  }

  /** One DEBUG line per message on {@code dev.brook.access}: subscription, id, channel, outcome, time. */
  static final class AccessLog implements Middleware {
    private final ConsumePipeline p;

    AccessLog(ConsumePipeline p) {
      this.p = p;
    }

    @Override
    public Object consume(ConsumeChain chain) throws Exception {
      if (!ACCESS.isDebugEnabled()) {
        return chain.proceed();
      }
      long start = System.nanoTime();
      DefaultMessageContext ctx = message(chain);
      try {
        return chain.proceed();
      } finally {
        long micros = (System.nanoTime() - start) / 1000;
        ACCESS.debug("{} message {} from {}: {} in {} ms", p.id, LogText.escape(ctx.messageId()),
            LogText.escape(ctx.channel()), LogText.escape(ctx.outcome()),
            micros / 1000 + "." + String.format("%03d", micros % 1000));
      }
    }
  }

  /** Turns the outcome of everything after it into settlement and counts; never throws. */
  static final class Settle implements Middleware {
    private final ConsumePipeline p;

    Settle(ConsumePipeline p) {
      this.p = p;
    }

    @Override
    public Object consume(ConsumeChain chain) {
      DefaultMessageContext ctx = message(chain);
      if (p.ackPolicy == AckPolicy.ACK_FIRST) {
        ctx.ack();
      }
      Object result;
      try {
        result = chain.proceed();
      } catch (Throwable t) {
        if (p.interruptedByStop(t)) {
          p.giveBack(ctx);
          return null;
        }
        return settleFailure(ctx, t);
      }
      p.counters.handled.increment();
      if (p.ackPolicy != AckPolicy.MANUAL) {
        ctx.ack();
      }
      ctx.outcome("handled");
      return result;
    }

    private Object settleFailure(DefaultMessageContext ctx, Throwable thrown) {
      try {
        throw thrown;
      } catch (AckMessage signal) {
        p.counters.handled.increment();
        ctx.ack();
        ctx.outcome("acked by the handler");
        return null;
      } catch (NackMessage signal) {
        ctx.nack();
        ctx.outcome("nacked by the handler");
        return null;
      } catch (SkipMessage signal) {
        // Left unsettled, as FastStream's SkipMessage: it comes back as any unsettled message does.
        ctx.outcome("skipped by the handler");
        return null;
      } catch (StopConsume signal) {
        // Settled as a normal return; the pipeline stops the subscription once the message is done.
        p.counters.handled.increment();
        if (p.ackPolicy != AckPolicy.MANUAL) {
          ctx.ack();
        }
        ctx.stopAfter();
        ctx.outcome("handled; the handler stops the subscription");
        return null;
      } catch (BadInput b) {
        p.badInput(ctx, b);
        return null;
      } catch (RejectMessage signal) {
        ctx.reject(signal.reason(), null);
        ctx.outcome("rejected: " + signal.reason());
        return null;
      } catch (Throwable t) {
        p.failed(ctx, t);
        return null;
      }
    }
  }

  /**
   * Publishes a non-null result to every publishTo destination and, when the message has a {@code
   * reply_to}, replies: with the result, or with an empty message when the handler returned null (as
   * FastStream does, so its requester is not left to time out). When the handler fails and the
   * request says it reads error replies (Brook's requests do), the reply is empty and names the
   * error; a FastStream requester does not say so and, as from FastStream, gets nothing. A {@link
   * Response} brings its own headers and correlation id; a Collection payload's items go to every
   * publishBatchTo destination as one batch; with noReply the subscription ignores {@code reply_to}.
   */
  static final class PublishResult implements Middleware {
    private final ConsumePipeline p;

    PublishResult(ConsumePipeline p) {
      this.p = p;
    }

    @Override
    public Object consume(ConsumeChain chain) throws Exception {
      DefaultMessageContext ctx = message(chain);
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

    /**
     * Publishes the handler's result (a null one only as the empty reply); a failure is thrown so the
     * message is settled as a failure. A {@link Response} gives the payload, extra headers and the
     * correlation id (by default the incoming one).
     */
    private void publishResult(Object result, DefaultMessageContext ctx) {
      String replyTo = ctx.isBatch() || p.noReply ? null : ctx.replyTo();
      if (result == null && replyTo == null) {
        return;
      }
      Object payload = result;
      Map<String, String> headers;
      if (result instanceof Response r) {
        payload = r.payload();
        headers = responseHeaders(r, ctx);
      } else {
        headers = Map.of(Codec.CORRELATION_ID, ctx.correlationId());
      }
      Middleware[] middlewares = p.publishMiddlewares();
      if (payload != null) {
        for (Destination target : p.publishTo) {
          try {
            p.engine.publishing().publish(payload, target, headers, middlewares);
          } catch (RuntimeException e) {
            throw new BrookException("Subscription '" + p.id + "' could not publish the result of message "
                + ctx.messageId() + " to " + target.key() + ": " + e.getMessage(), e);
          }
        }
        for (Destination target : p.publishBatchTo) {
          Collection<?> items = payload instanceof Collection<?> c ? c : List.of(payload);
          if (items.isEmpty()) {
            continue;
          }
          try {
            p.engine.publishing().publishBatch(items, target, headers, middlewares);
          } catch (RuntimeException e) {
            throw new BrookException("Subscription '" + p.id + "' could not publish the batch result of message "
                + ctx.messageId() + " to " + target.key() + ": " + e.getMessage(), e);
          }
        }
      }
      if (replyTo != null) {
        Destination target = p.engine.transport().replyChannel(replyTo);
        try {
          p.engine.publishing().publish(payload, target, headers, middlewares);
        } catch (RuntimeException e) {
          throw new BrookException("Subscription '" + p.id + "' could not reply to message " + ctx.messageId() + " on "
              + target.key() + ": " + e.getMessage(), e);
        }
      }
    }

    /** {@code correlation_id} first (the response's, else its header's, else the incoming one), then the response's headers. */
    private static Map<String, String> responseHeaders(Response r, DefaultMessageContext ctx) {
      Map<String, String> own = r.headers();
      String correlationId = r.correlationId();
      if (correlationId == null) {
        correlationId = own.get(Codec.CORRELATION_ID);
      }
      Map<String, String> headers = new LinkedHashMap<>(own.size() + 1);
      headers.put(Codec.CORRELATION_ID, correlationId != null ? correlationId : ctx.correlationId());
      for (Map.Entry<String, String> e : own.entrySet()) {
        headers.putIfAbsent(e.getKey(), e.getValue());
      }
      return headers;
    }

    /**
     * Sends the empty reply naming the handler's failure {@code t}, if the message is a request that
     * asked for error replies ({@link Codec#ERROR_REPLY}) and {@code t} is a failure: an ack or nack
     * signal is not (a nacked message comes again and may still be answered), nor is the interrupt of
     * a stop (the message goes back to Redis). Never throws: the failure itself is what the
     * settlement link must see, so a reply that cannot be sent is only logged.
     */
    private void replyError(DefaultMessageContext ctx, Throwable t) {
      String replyTo = ctx.isBatch() || p.noReply ? null : ctx.replyTo();
      if (replyTo == null || ctx.header(Codec.ERROR_REPLY) == null
          || t instanceof AckMessage || t instanceof NackMessage || t instanceof SkipMessage || t instanceof StopConsume
          || (t instanceof InterruptedException && p.stopping())) {
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
      Map<String, String> headers = new LinkedHashMap<>(4);
      headers.put(Codec.CORRELATION_ID, ctx.correlationId());
      headers.put(Codec.ERROR_TYPE, clip(type));
      headers.put(Codec.ERROR_MESSAGE, clip(message));
      Destination target = p.engine.transport().replyChannel(replyTo);
      try {
        p.engine.publishing().publish(null, target, headers, p.publishMiddlewares());
      } catch (RuntimeException e) {
        long suppressed = p.errorReplyWarnings.acquire();
        if (suppressed >= 0) {
          ConsumePipeline.LOG.warn("Subscription '{}' could not send the error reply to message {} on {}{}: {}", p.id,
              ctx.messageId(), target.key(), suppressed > 0 ? " (and " + suppressed + " more in the last minute)" : "",
              e.toString());
        } else {
          ConsumePipeline.LOG.debug("Subscription '{}' could not send the error reply to message {} on {}", p.id,
              ctx.messageId(), target.key(), e);
        }
      }
    }

    /** A header value is at most 65,535 bytes: an error text is cut well before that. */
    private static String clip(String value) {
      return value.length() > 2000 ? value.substring(0, 2000) + "…" : value;
    }
  }

  /**
   * Decodes the frame into the handler's type; a batch comes decoded (each item on its own, before
   * the chain). A message that cannot be parsed or decoded goes on down the chain with a null
   * payload and the failure ({@link BadInput}) pending: the handler is not called, the failure is
   * thrown where it would be, so the user's middlewares see it as they see a handler's exception,
   * and the settlement link rejects it.
   */
  static final class Decode implements Middleware {
    private final ConsumePipeline p;

    Decode(ConsumePipeline p) {
      this.p = p;
    }

    @Override
    public Object consume(ConsumeChain chain) throws Exception {
      DefaultMessageContext ctx = message(chain);
      if (ctx.isBatch()) {
        return chain.proceed();
      }
      if (ctx.pendingFailure() != null) {
        return chain.proceed(null);
      }
      Object value;
      try {
        value = p.decode(ctx.inbound(), ctx.frame(), ctx);
      } catch (BadInput e) {
        ctx.pendingFailure(e);
        return chain.proceed(null);
      } catch (Exception e) {
        ctx.pendingFailure(p.decodeFailure(e));
        return chain.proceed(null);
      }
      return chain.proceed(value);
    }
  }

  /** Rejects a payload that breaks its constraints ({@code @Valid}). */
  static final class Validate implements Middleware {
    private final ConsumePipeline p;

    Validate(ConsumePipeline p) {
      this.p = p;
    }

    @Override
    public Object consume(ConsumeChain chain) throws Exception {
      if (message(chain).pendingFailure() != null) {
        return chain.proceed();
      }
      String violations = p.check.violations(chain.payload());
      if (violations != null) {
        throw new BadInput("Invalid", ": " + violations, "invalid payload: " + violations, null);
      }
      return chain.proceed();
    }
  }
}
