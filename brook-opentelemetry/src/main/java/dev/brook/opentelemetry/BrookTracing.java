package dev.brook.opentelemetry;

import dev.brook.Broker;
import dev.brook.Destination;
import dev.brook.MessageContext;
import dev.brook.Middleware;
import dev.brook.PublishCommand;
import dev.brook.redis.ListDestination;
import dev.brook.redis.PatternDestination;
import dev.brook.redis.StreamDestination;
import dev.brook.spi.Brokers;
import io.opentelemetry.api.OpenTelemetry;
import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanBuilder;
import io.opentelemetry.api.trace.SpanContext;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.api.trace.StatusCode;
import io.opentelemetry.api.trace.Tracer;
import io.opentelemetry.context.Context;
import io.opentelemetry.context.Scope;
import io.opentelemetry.context.propagation.TextMapGetter;
import io.opentelemetry.context.propagation.TextMapPropagator;
import io.opentelemetry.context.propagation.TextMapSetter;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;

/**
 * OpenTelemetry tracing for a Brook broker (FastStream's {@code RedisTelemetryMiddleware}): every
 * publish makes a {@code send <destination>} PRODUCER span and carries its context in the message
 * headers, every message a subscription handles makes a {@code process <destination>} CONSUMER
 * span whose parent is the context the message carries.
 *
 * <pre>{@code
 * BrookTracing.create(openTelemetry).bindTo(broker);
 * }</pre>
 *
 * <p><b>Headers.</b> The context is written and read by the OpenTelemetry instance's text-map
 * propagator, by default W3C trace context: {@code traceparent} and {@code tracestate} headers in
 * Brook's envelope, the same names and values FastStream's OpenTelemetry middleware writes, so one
 * trace crosses Python FastStream and Java Brook services in both directions (with a baggage
 * propagator configured, {@code baggage} too, as FastStream's).
 *
 * <p><b>Spans.</b> Attributes by the OpenTelemetry messaging conventions: {@code
 * messaging.system=redis}, {@code messaging.destination.name} (for a pattern the template as
 * declared, never the matched channel, which is {@code messaging.destination_publish.name} as in
 * FastStream), {@code messaging.operation.name}/{@code .type}, {@code messaging.message.id},
 * {@code messaging.message.conversation_id} (the correlation id), {@code
 * messaging.consumer.group.name} (stream groups), {@code messaging.batch.message_count}. The
 * process span covers the whole processing: decoding, the handler, publishing its result (so those
 * send spans are its children), the reply, and settlement; a failure sets {@code error.type}, the
 * exception event and status ERROR; a rejected message, and one nacked on its last attempt, gets a
 * {@code reject <destination>} child span ({@code brook.dead_letter.key} names the dead-letter list
 * or stream where the destination keeps one; elsewhere a rejected message is dropped). A batch handler's span has no
 * parent and links every message's context. The reply to a request makes a {@code process
 * <reply channel>} span on the requester, a child of the responder's reply.
 *
 * <p><b>Cost.</b> Nothing is installed until {@link #bindTo}; afterwards a span (or a non-recording
 * one, when sampled out) per message and per publish. Thread-safe: one instance may serve several
 * brokers.
 */
public final class BrookTracing {

  /** The instrumentation scope name of Brook's tracer. */
  public static final String INSTRUMENTATION_NAME = "dev.brook.opentelemetry";

  static final AttributeKey<String> SYSTEM = AttributeKey.stringKey("messaging.system");
  static final AttributeKey<String> DESTINATION = AttributeKey.stringKey("messaging.destination.name");
  static final AttributeKey<String> DESTINATION_PUBLISH = AttributeKey.stringKey("messaging.destination_publish.name");
  static final AttributeKey<String> OPERATION_NAME = AttributeKey.stringKey("messaging.operation.name");
  static final AttributeKey<String> OPERATION_TYPE = AttributeKey.stringKey("messaging.operation.type");
  static final AttributeKey<String> MESSAGE_ID = AttributeKey.stringKey("messaging.message.id");
  static final AttributeKey<String> CONVERSATION_ID = AttributeKey.stringKey("messaging.message.conversation_id");
  static final AttributeKey<String> GROUP = AttributeKey.stringKey("messaging.consumer.group.name");
  static final AttributeKey<Long> BATCH_COUNT = AttributeKey.longKey("messaging.batch.message_count");
  static final AttributeKey<Long> BODY_SIZE = AttributeKey.longKey("messaging.message.body.size");
  static final AttributeKey<String> ERROR_TYPE = AttributeKey.stringKey("error.type");
  static final AttributeKey<String> SUBSCRIPTION = AttributeKey.stringKey("brook.subscription.id");
  static final AttributeKey<String> SETTLEMENT = AttributeKey.stringKey("brook.settlement");
  static final AttributeKey<String> DEAD_LETTER = AttributeKey.stringKey("brook.dead_letter.key");

  private static final TextMapGetter<Map<String, String>> GETTER = new TextMapGetter<>() {
    @Override
    public Iterable<String> keys(Map<String, String> carrier) {
      return carrier.keySet();
    }

    @Override
    public String get(Map<String, String> carrier, String key) {
      return carrier == null ? null : carrier.get(key);
    }
  };

  private static final TextMapSetter<Map<String, String>> SETTER = (carrier, key, value) -> {
    if (carrier != null) {
      carrier.put(key, value);
    }
  };

  private final Tracer tracer;
  private final TextMapPropagator propagator;

  private BrookTracing(OpenTelemetry openTelemetry) {
    this.tracer = openTelemetry.getTracer(INSTRUMENTATION_NAME);
    this.propagator = openTelemetry.getPropagators().getTextMapPropagator();
  }

  /** Tracing with this OpenTelemetry's tracer provider and propagators ({@code GlobalOpenTelemetry.get()} for the agent's). */
  public static BrookTracing create(OpenTelemetry openTelemetry) {
    return new BrookTracing(Objects.requireNonNull(openTelemetry, "openTelemetry"));
  }

  /**
   * Traces this broker from now on, for its life: its publishes (and its subscriptions' results and
   * replies), every subscription's messages (also those registered before) and the replies to its
   * requests. Call it once per broker, before it starts, so no message goes untraced.
   */
  public void bindTo(Broker broker) {
    Objects.requireNonNull(broker, "broker");
    broker.middleware(new Publishing());
    Brokers.instrument(broker, new Processing());
  }

  // ---- publish scope (a broker middleware) ---------------------------------------------------

  /**
   * A broker middleware: publish spans, and the spans of replies to requests (the only consume
   * scope it acts in; subscriptions' messages are {@link Processing}'s).
   */
  private final class Publishing implements Middleware {

    @Override
    public CompletableFuture<Void> publish(PublishChain chain) {
      PublishCommand command = chain.command();
      String destination = command.destination().name();
      Context parent = Context.current();
      SpanBuilder builder = tracer.spanBuilder("send " + destination)
          .setSpanKind(SpanKind.PRODUCER)
          .setParent(parent)
          .setAttribute(SYSTEM, "redis")
          .setAttribute(DESTINATION, destination)
          .setAttribute(OPERATION_NAME, "send")
          .setAttribute(OPERATION_TYPE, "send");
      String correlationId = command.header("correlation_id");
      if (correlationId != null) {
        builder.setAttribute(CONVERSATION_ID, correlationId);
      }
      String messageId = command.header("message_id");
      if (messageId != null) {
        builder.setAttribute(MESSAGE_ID, messageId);
      }
      Span span = builder.startSpan();
      // Room for traceparent and tracestate: no rehash when the propagator adds them.
      Map<String, String> headers = LinkedHashMap.newLinkedHashMap(command.headers().size() + 2);
      headers.putAll(command.headers());
      Context context = parent.with(span);
      propagator.inject(context, headers, SETTER);
      CompletableFuture<Void> sent;
      try (Scope ignored = context.makeCurrent()) {
        sent = chain.proceed(command.withHeaders(headers));
      } catch (RuntimeException | Error e) {
        fail(span, e);
        span.end();
        throw e;
      }
      sent.whenComplete((v, failure) -> {
        if (failure != null) {
          fail(span, unwrap(failure));
        }
        span.end();
      });
      return sent;
    }

    @Override
    public Object consume(ConsumeChain chain) throws Exception {
      if (chain.subscription() != null) {
        return chain.proceed(); // a subscription's message: Processing traces it
      }
      // The reply to one of this broker's requests, on the thread that hands it to the caller.
      MessageContext reply = chain.context();
      String destination = reply.channel();
      SpanBuilder builder = tracer.spanBuilder("process " + destination)
          .setSpanKind(SpanKind.CONSUMER)
          .setParent(propagator.extract(Context.current(), reply.headers(), GETTER))
          .setAttribute(SYSTEM, "redis")
          .setAttribute(DESTINATION, destination)
          .setAttribute(OPERATION_NAME, "process")
          .setAttribute(OPERATION_TYPE, "process");
      String correlationId = reply.header("correlation_id");
      if (correlationId != null) {
        builder.setAttribute(CONVERSATION_ID, correlationId);
      }
      Span span = builder.startSpan();
      try (Scope ignored = span.makeCurrent()) {
        return chain.proceed();
      } catch (Exception | Error e) {
        fail(span, e);
        throw e;
      } finally {
        span.end();
      }
    }
  }

  // ---- consume scope (an instrumentation link, around Brook's own links) ---------------------

  /**
   * Around a subscription's message from before decoding to after settlement: the process span is
   * current while the result is published and the message settled.
   */
  private final class Processing implements Middleware {

    @Override
    public Object consume(ConsumeChain chain) throws Exception {
      MessageContext ctx = chain.context();
      Destination declared = ctx.destination();
      String destination = declared instanceof PatternDestination p ? p.template() : declared.name();
      SpanBuilder builder = tracer.spanBuilder("process " + destination)
          .setSpanKind(SpanKind.CONSUMER)
          .setAttribute(SYSTEM, "redis")
          .setAttribute(DESTINATION, destination)
          .setAttribute(OPERATION_NAME, "process")
          .setAttribute(OPERATION_TYPE, "process")
          .setAttribute(CONVERSATION_ID, ctx.correlationId());
      if (chain.subscription() != null) {
        builder.setAttribute(SUBSCRIPTION, chain.subscription().id());
      }
      if (declared instanceof PatternDestination) {
        builder.setAttribute(DESTINATION_PUBLISH, ctx.channel());
      }
      if (declared instanceof StreamDestination s && s.groupName() != null) {
        builder.setAttribute(GROUP, s.groupName());
      }
      if (chain.payload() instanceof List<?>) {
        // A batch (decoded before the chain): no parent, a link to each message's context.
        List<Map<String, String>> all = ctx.batchHeaders();
        builder.setNoParent().setAttribute(BATCH_COUNT, (long) all.size());
        for (Map<String, String> headers : all) {
          SpanContext linked = Span.fromContext(propagator.extract(Context.root(), headers, GETTER)).getSpanContext();
          if (linked.isValid()) {
            builder.addLink(linked);
          }
        }
      } else {
        builder.setParent(propagator.extract(Context.root(), ctx.headers(), GETTER))
            .setAttribute(MESSAGE_ID, ctx.messageId());
        byte[] body = ctx.body();
        if (body != null) {
          builder.setAttribute(BODY_SIZE, (long) body.length);
        }
      }
      Span span = builder.startSpan();
      Object result;
      try (Scope ignored = span.makeCurrent()) {
        result = chain.proceed();
        // Settlement ran inside: record what it made of the message while the span is current.
        Throwable failure = Brokers.failure(ctx);
        if (failure != null) {
          fail(span, failure);
        }
        String settlement = Brokers.settlement(ctx);
        if (settlement != null) {
          span.setAttribute(SETTLEMENT, settlement);
          if (settlement.equals("reject") || settlement.equals("nack") && lastAttempt(declared, ctx)) {
            rejected(destination, declared, ctx, failure, settlement);
          }
        }
      } catch (Exception | Error e) {
        fail(span, e); // only Brook's access log is outside settlement: a bug, still recorded
        throw e;
      } finally {
        span.end();
      }
      return result;
    }

    /**
     * The dead-lettering of a rejected message, or of one nacked on its last attempt (the transport
     * dead-letters it then); a rejected message on a destination without dead letters is dropped.
     */
    private void rejected(String destination, Destination declared, MessageContext ctx, Throwable failure,
        String settlement) {
      String deadLetter = deadLetterKey(declared);
      SpanBuilder builder = tracer.spanBuilder("reject " + destination)
          .setSpanKind(SpanKind.INTERNAL)
          .setAttribute(SYSTEM, "redis")
          .setAttribute(DESTINATION, destination)
          .setAttribute(OPERATION_NAME, "reject")
          .setAttribute(OPERATION_TYPE, "settle")
          .setAttribute(MESSAGE_ID, ctx.messageId())
          .setAttribute(SETTLEMENT, settlement);
      if (deadLetter != null) {
        builder.setAttribute(DEAD_LETTER, deadLetter);
      }
      if (failure != null) {
        builder.setAttribute(ERROR_TYPE, failure.getClass().getName());
      }
      builder.startSpan().end();
    }
  }

  /** Where the destination's rejected messages go, or null when they are dropped. */
  private static String deadLetterKey(Destination d) {
    if (d instanceof ListDestination l) {
      return l.isAtMostOnce() ? null : l.deadLetterKey();
    }
    if (d instanceof StreamDestination s) {
      return s.atLeastOnce() ? s.deadLetterKey() : null;
    }
    return null;
  }

  /** A nack of this delivery dead-letters the message: its destination counts deliveries and this is the last. */
  private static boolean lastAttempt(Destination d, MessageContext ctx) {
    int max = d.maxDeliveries();
    return max > 0 && ctx.deliveryCount() >= max;
  }

  private static void fail(Span span, Throwable failure) {
    span.recordException(failure);
    span.setAttribute(ERROR_TYPE, failure.getClass().getName());
    span.setStatus(StatusCode.ERROR, String.valueOf(failure.getMessage()));
  }

  private static Throwable unwrap(Throwable t) {
    return t instanceof java.util.concurrent.CompletionException && t.getCause() != null ? t.getCause() : t;
  }
}
