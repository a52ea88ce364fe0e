package dev.brook.micrometer;

import dev.brook.Broker;
import dev.brook.MessageContext;
import dev.brook.Middleware;
import dev.brook.PublishCommand;
import dev.brook.Subscription;
import dev.brook.spi.Brokers;
import io.micrometer.common.KeyValues;
import io.micrometer.observation.Observation;
import io.micrometer.observation.ObservationConvention;
import io.micrometer.observation.ObservationRegistry;
import io.micrometer.observation.transport.ReceiverContext;
import io.micrometer.observation.transport.SenderContext;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;

/**
 * Micrometer {@link Observation}s of a broker's messages: one {@value #PROCESS} observation around
 * each message a subscription processes and one {@value #SEND} observation around each message sent,
 * so that whatever handlers the {@link ObservationRegistry} has — Spring Boot's tracing (spans) and
 * metrics (timers) — pick Brook up.
 *
 * <pre>{@code
 * try (BrookObservation observation = BrookObservation.bind(broker, observationRegistry)) { ... }
 * }</pre>
 *
 * <p><b>Conventions</b> (the defaults, {@link ProcessConvention} and {@link SendConvention}):
 * names {@value #PROCESS} and {@value #SEND}; contextual names (span names) {@code process
 * <destination>} and {@code send <destination>}; low-cardinality keys {@code messaging.system}
 * ({@code redis}), {@code messaging.operation.name} ({@code process}, {@code send}), {@code
 * messaging.destination.name} (a pattern's template; a reply's {@code (temporary)}), and for
 * processing {@code messaging.destination.subscription.name} (the subscription id) and {@code
 * messaging.consumer.group.name} ({@code none} outside stream groups); high-cardinality keys {@code
 * messaging.message.id} and {@code messaging.message.conversation_id} (the correlation id). A
 * failure is passed to {@link Observation#error}; Brook's signals that end a message as meant ({@code
 * AckMessage}, {@code SkipMessage}, {@code StopConsume}) are not failures.
 *
 * <p><b>Propagation.</b> The contexts are Micrometer's transport contexts: {@link ReceiverContext}
 * reading the message's headers, {@link SenderContext} writing the outgoing message's headers, so a
 * tracing handler's propagator carries the trace in the envelope headers.
 *
 * <p>Binding adds one broker {@link Middleware}; {@link #close()} removes it. Replies to the broker's
 * own requests are not observed. Thread-safe.
 */
public final class BrookObservation implements AutoCloseable {

  /** The name of the observation around processing one message (or one batch). */
  public static final String PROCESS = "brook.process";
  /** The name of the observation around sending one message. */
  public static final String SEND = "brook.send";

  private final Broker broker;
  private final ObservationRegistry registry;
  private final ObservationConvention<ProcessContext> processConvention;
  private final ObservationConvention<SendContext> sendConvention;
  private final Middleware middleware = new ObservingMiddleware();
  private volatile boolean closed;

  private BrookObservation(Broker broker, ObservationRegistry registry, ObservationConvention<ProcessContext> process,
      ObservationConvention<SendContext> send) {
    this.broker = broker;
    this.registry = registry;
    this.processConvention = process;
    this.sendConvention = send;
  }

  /** Observes a broker's messages with the default conventions; close the result to stop. */
  public static BrookObservation bind(Broker broker, ObservationRegistry registry) {
    return bind(broker, registry, new ProcessConvention(), new SendConvention());
  }

  /** Observes a broker's messages with these conventions (for instance subclasses of the defaults). */
  public static BrookObservation bind(Broker broker, ObservationRegistry registry,
      ObservationConvention<ProcessContext> process, ObservationConvention<SendContext> send) {
    BrookObservation b = new BrookObservation(Objects.requireNonNull(broker, "broker"),
        Objects.requireNonNull(registry, "registry"), Objects.requireNonNull(process, "process"),
        Objects.requireNonNull(send, "send"));
    broker.middleware(b.middleware);
    return b;
  }

  /** Removes the middleware from the broker. Idempotent. */
  @Override
  public void close() {
    if (!closed) {
      closed = true;
      Brokers.removeMiddleware(broker, middleware);
    }
  }

  /** The context of one processed message: its {@link MessageContext} (the carrier) and subscription. */
  public static final class ProcessContext extends ReceiverContext<MessageContext> {
    private final Subscription subscription;

    ProcessContext(MessageContext message, Subscription subscription) {
      super(MessageContext::header);
      setCarrier(message);
      this.subscription = subscription;
      setRemoteServiceName("redis");
    }

    /** The subscription processing the message. */
    public Subscription subscription() {
      return subscription;
    }

    /** The message's headers, ids and destination. */
    public MessageContext message() {
      return getCarrier();
    }
  }

  /** The context of one sent message: the command as it was published; the carrier is its headers. */
  public static final class SendContext extends SenderContext<Map<String, String>> {
    private final PublishCommand command;
    private final String destination;

    SendContext(PublishCommand command, String destination) {
      super((carrier, key, value) -> carrier.put(key, value));
      setCarrier(new LinkedHashMap<>(command.headers()));
      this.command = command;
      this.destination = destination;
      setRemoteServiceName("redis");
    }

    /** What is being sent (its headers before propagation). */
    public PublishCommand command() {
      return command;
    }

    /** The destination's name as tagged: a reply's is {@code (temporary)}. */
    public String destinationName() {
      return destination;
    }
  }

  /** The default keys and names of {@value #PROCESS}. */
  public static class ProcessConvention implements ObservationConvention<ProcessContext> {
    /** The default convention; subclass it to change or add keys. */
    public ProcessConvention() {}

    @Override
    public String getName() {
      return PROCESS;
    }

    @Override
    public String getContextualName(ProcessContext context) {
      return "process " + Labels.destination(context.subscription());
    }

    @Override
    public KeyValues getLowCardinalityKeyValues(ProcessContext context) {
      Subscription s = context.subscription();
      return KeyValues.of("messaging.system", "redis", "messaging.operation.name", "process",
          "messaging.destination.name", Labels.destination(s), "messaging.destination.subscription.name", s.id(),
          "messaging.consumer.group.name", Labels.group(s));
    }

    @Override
    public KeyValues getHighCardinalityKeyValues(ProcessContext context) {
      MessageContext m = context.message();
      return KeyValues.of("messaging.message.id", String.valueOf(m.messageId()),
          "messaging.message.conversation_id", String.valueOf(m.correlationId()));
    }

    @Override
    public boolean supportsContext(Observation.Context context) {
      return context instanceof ProcessContext;
    }
  }

  /** The default keys and names of {@value #SEND}. */
  public static class SendConvention implements ObservationConvention<SendContext> {
    /** The default convention; subclass it to change or add keys. */
    public SendConvention() {}

    @Override
    public String getName() {
      return SEND;
    }

    @Override
    public String getContextualName(SendContext context) {
      return "send " + context.destinationName();
    }

    @Override
    public KeyValues getLowCardinalityKeyValues(SendContext context) {
      return KeyValues.of("messaging.system", "redis", "messaging.operation.name", "send",
          "messaging.destination.name", context.destinationName());
    }

    @Override
    public KeyValues getHighCardinalityKeyValues(SendContext context) {
      String id = context.command().header("correlation_id");
      return id == null ? KeyValues.empty() : KeyValues.of("messaging.message.conversation_id", id);
    }

    @Override
    public boolean supportsContext(Observation.Context context) {
      return context instanceof SendContext;
    }
  }

  private final class ObservingMiddleware implements Middleware {

    @Override
    public Object consume(ConsumeChain chain) throws Exception {
      Subscription s = chain.subscription();
      if (s == null || closed || registry.isNoop()) {
        return chain.proceed();
      }
      MessageContext ctx = chain.context();
      Labels.handling(ctx.replyTo());
      Observation observation = Observation.createNotStarted(processConvention, processConvention,
          () -> new ProcessContext(ctx, s), registry).start();
      try (Observation.Scope scope = observation.openScope()) {
        return chain.proceed();
      } catch (Throwable t) {
        if (!Labels.success(t)) {
          observation.error(t);
        }
        throw t;
      } finally {
        observation.stop();
      }
    }

    @Override
    public CompletableFuture<Void> publish(PublishChain chain) {
      if (closed || registry.isNoop()) {
        return chain.proceed(chain.command());
      }
      PublishCommand command = chain.command();
      SendContext context = new SendContext(command, Labels.sentTo(command.destination()));
      Observation observation = Observation.createNotStarted(sendConvention, sendConvention, () -> context, registry)
          .start();
      CompletableFuture<Void> f;
      try (Observation.Scope scope = observation.openScope()) {
        Map<String, String> headers = context.getCarrier();
        f = chain.proceed(headers.equals(command.headers()) ? command : command.withHeaders(headers));
      } catch (RuntimeException | Error e) {
        observation.error(e);
        observation.stop();
        throw e;
      }
      CompletableFuture<Void> out = new CompletableFuture<>();
      f.whenComplete((v, e) -> {
        if (e != null) {
          observation.error(e instanceof CompletionException && e.getCause() != null ? e.getCause() : e);
        }
        observation.stop();
        if (e == null) {
          out.complete(null);
        } else {
          out.completeExceptionally(e);
        }
      });
      return out;
    }
  }
}
