package dev.brook.spi;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.brook.AckPolicy;
import dev.brook.Broker;
import dev.brook.Destination;
import dev.brook.DuplicatePolicy;
import dev.brook.Message;
import dev.brook.Pipeline;
import dev.brook.MessageDecoder;
import dev.brook.MessageParser;
import dev.brook.Middleware;
import dev.brook.Publisher;
import dev.brook.RequestMetrics;
import dev.brook.Router;
import dev.brook.SubscriberBuilder;
import dev.brook.Subscription;
import dev.brook.internal.BrokerEngine;
import dev.brook.internal.CallSite;
import dev.brook.internal.Codec;
import dev.brook.internal.LeakWatch;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.LoggerFactory;

/**
 * The base of every broker implementation: everything a {@link Broker} does that does not depend on
 * the message server. A broker for a new server (NATS, RabbitMQ, ...) is a subclass that builds its
 * {@link Transport} and passes it here with the common options of {@link Builder}; registration and
 * the one-id-one-subscription rule, the lifecycle, the consume chain (decode, validation,
 * middlewares, handler, publishing the result, settlement), publishing, request/reply, routers,
 * annotated handlers, graceful shutdown and leak detection all come from here.
 *
 * <p>Ownership: the broker owns its transport and closes it last, once every subscription has
 * closed. A broker that becomes unreachable without {@link #close()} is closed with a WARN naming
 * where it was created; a started broker stays reachable until stopped or closed, as a running
 * server does.
 *
 * <p>Thread-safe. Subclasses add server-specific methods (metrics, the URL) and must not override
 * the {@link Broker} methods, which are final.
 */
public abstract class BrokerBase implements Broker {

  private final BrokerEngine engine;
  /** The transport the broker was built with; the engine's may be another while {@link Brokers#runOn} runs. */
  private final Transport ownTransport;
  private final Leak leak;
  private final LeakWatch.Watched watched;

  /**
   * @param transport the broker's transport; the broker owns it from now on
   * @param options the common options, usually the subclass's builder
   */
  protected BrokerBase(Transport transport, Builder<?> options) {
    Objects.requireNonNull(transport, "transport");
    this.ownTransport = transport;
    ObjectMapper mapper = options.objectMapper != null ? options.objectMapper : Codec.defaultMapper();
    this.engine = new BrokerEngine(transport, new Codec(mapper, options.messageIds), options.gracefulTimeout, options.duplicatePolicy,
        options.bufferSize, getClass(), BrokerBase.class);
    engine.accessLog(options.accessLog);
    if (options.validator != null) {
      engine.validator(options.validator);
    }
    engine.defaults(options.ackPolicy, options.parser, options.decoder);
    for (Middleware m : options.middlewares) {
      engine.middleware(m);
    }
    this.leak = new Leak(engine, getClass(), transport.describe(), CallSite.find(getClass(), BrokerBase.class));
    // The action holds the engine, never the broker.
    this.watched = LeakWatch.register(this, leak);
  }

  /** The engine; for {@link Brokers} only. */
  final BrokerEngine engine() {
    return engine;
  }

  /** The transport the broker was built with; for {@link Brokers} only. */
  final Transport ownTransport() {
    return ownTransport;
  }

  @Override
  public final SubscriberBuilder subscriber(Destination destination) {
    return engine.subscriber(destination);
  }

  @Override
  public final void start() {
    engine.start(this);
  }

  @Override
  public final void stop() {
    engine.stop();
  }

  @Override
  public final void publish(Object payload, Destination destination) {
    engine.publish(payload, destination, Map.of());
  }

  @Override
  public final void publish(Object payload, Destination destination, Map<String, String> headers) {
    engine.publish(payload, destination, headers);
  }

  @Override
  public final dev.brook.PublishResult publish(Object payload, Destination destination, dev.brook.PublishOptions options) {
    return engine.publish(payload, destination, Map.of(), options);
  }

  @Override
  public final dev.brook.PublishResult publish(Object payload, Destination destination, Map<String, String> headers,
      dev.brook.PublishOptions options) {
    return engine.publish(payload, destination, headers, options);
  }

  @Override
  public final CompletableFuture<dev.brook.PublishResult> publishAsync(Object payload, Destination destination,
      Map<String, String> headers, dev.brook.PublishOptions options) {
    return engine.publishAsync(payload, destination, headers, options);
  }

  @Override
  public final void publishBatch(Collection<?> payloads, Destination destination) {
    engine.publishBatch(payloads, destination);
  }

  /** Publishes without waiting; the future completes when the server has taken the message. */
  public final CompletableFuture<Void> publishAsync(Object payload, Destination destination) {
    return engine.publishAsync(payload, destination, Map.of());
  }

  @Override
  public final CompletableFuture<Void> publishAsync(Object payload, Destination destination, Map<String, String> headers) {
    return engine.publishAsync(payload, destination, headers);
  }

  @Override
  public final void pipeline(java.util.function.Consumer<Pipeline> commands) {
    engine.pipeline(commands);
  }

  @Override
  public final CompletableFuture<Void> pipelineAsync(java.util.function.Consumer<Pipeline> commands) {
    return engine.pipelineAsync(commands);
  }

  @Override
  public final Publisher publisher(Destination destination) {
    return engine.publisher(destination);
  }

  @Override
  public final <R> R request(Object payload, Destination destination, Class<R> replyType, Duration timeout) {
    return engine.request(payload, destination, replyType, timeout);
  }

  @Override
  public final <R> CompletableFuture<R> requestAsync(Object payload, Destination destination, Class<R> replyType,
      Duration timeout) {
    return engine.requestAsync(payload, destination, replyType, timeout);
  }

  @Override
  public final <R> R request(Object payload, Destination destination, Map<String, String> headers, Class<R> replyType,
      Duration timeout) {
    return engine.request(payload, destination, headers, replyType, timeout, false);
  }

  @Override
  public final <R> CompletableFuture<R> requestAsync(Object payload, Destination destination,
      Map<String, String> headers, Class<R> replyType, Duration timeout) {
    return engine.requestAsync(payload, destination, headers, replyType, timeout, false);
  }

  @Override
  public final <R> Message<R> requestMessage(Object payload, Destination destination, Map<String, String> headers,
      Class<R> replyType, Duration timeout) {
    return engine.request(payload, destination, headers, replyType, timeout, true);
  }

  @Override
  public final <R> CompletableFuture<Message<R>> requestMessageAsync(Object payload, Destination destination,
      Map<String, String> headers, Class<R> replyType, Duration timeout) {
    return engine.requestAsync(payload, destination, headers, replyType, timeout, true);
  }

  @Override
  public final RequestMetrics requestMetrics() {
    return engine.requestMetrics();
  }

  @Override
  public final List<Subscription> include(Object handlers) {
    return engine.include(handlers);
  }

  @Override
  public final List<Subscription> include(Router router) {
    return engine.include(router);
  }

  @Override
  public final void middleware(Middleware middleware) {
    engine.middleware(middleware);
  }

  @Override
  public final Collection<Subscription> subscriptions() {
    return engine.subscriptions();
  }

  @Override
  public final Subscription subscription(String id) {
    return engine.subscription(id);
  }

  @Override
  public final Duration gracefulTimeout() {
    return engine.gracefulTimeout();
  }

  @Override
  public final boolean ping(Duration timeout) {
    return engine.ping(timeout);
  }

  @Override
  public final dev.brook.Health health() {
    return engine.health(dev.brook.Health.Options.DEFAULT);
  }

  @Override
  public final dev.brook.Health health(dev.brook.Health.Options options) {
    return engine.health(options);
  }

  /** Whether {@link #close()} has begun. */

  protected final boolean isClosed() {
    return engine.isClosed();
  }

  @Override
  public final void close() {
    leak.closedByOwner.set(true);
    watched.run();
    engine.close(); // returns once the first close has finished, when another thread runs it
  }

  @Override
  public String toString() {
    return getClass().getSimpleName() + "[" + engine.transport().describe() + (engine.isClosed() ? ", closed" : "") + "]";
  }

  /** Closes the engine: when the owner calls close(), or when the broker was dropped unclosed. */
  private static final class Leak implements Runnable {
    final BrokerEngine engine;
    /** The broker's class, whose logger reports the leak; never the broker itself. */
    final Class<?> kind;
    final String server;
    final String createdAt;
    final AtomicBoolean closedByOwner = new AtomicBoolean();

    Leak(BrokerEngine engine, Class<?> kind, String server, String createdAt) {
      this.engine = engine;
      this.kind = kind;
      this.server = server;
      this.createdAt = createdAt;
    }

    @Override
    public void run() {
      if (!closedByOwner.get() && !engine.isClosed()) {
        LoggerFactory.getLogger(kind).warn("A {} for {} created at {} was never closed; closing it now. Call "
            + "broker.close() (or use try-with-resources) when you are done with it.", kind.getSimpleName(), server, createdAt);
      }
      engine.close();
    }
  }

  /**
   * The options every broker has, for a broker's builder to extend; each may be set once (a second
   * call fails naming the option).
   *
   * <p>Defaults: graceful timeout 15 s, {@link DuplicatePolicy#REPLACE}, a buffer of 10,000 received
   * messages per subscription, a Jackson mapper that ignores unknown properties (and knows {@code
   * java.time} and {@code Optional}), no middlewares, and the access log on (at DEBUG, logger {@code
   * dev.brook.access}).
   *
   * @param <B> the concrete builder, returned by every option
   */
  public abstract static class Builder<B extends Builder<B>> {
    private Duration gracefulTimeout = Duration.ofSeconds(15);
    private DuplicatePolicy duplicatePolicy = DuplicatePolicy.REPLACE;
    private int bufferSize = 10_000;
    private ObjectMapper objectMapper;
    private boolean accessLog = true;
    private java.util.function.Supplier<String> messageIds;
    private AckPolicy ackPolicy;
    private MessageParser parser;
    private MessageDecoder decoder;
    /** A {@code jakarta.validation.Validator}, typed Object so that the optional API is loaded only when one is given. */
    private Object validator;
    private final List<Middleware> middlewares = new ArrayList<>();
    private final Set<String> set = new HashSet<>();

    protected Builder() {}

    @SuppressWarnings("unchecked")
    private B self() {
      return (B) this;
    }

    /** Fails when {@code option} was set before on this builder; subclasses call it for their own options. */
    protected final void once(String option) {
      if (!set.add(option)) {
        throw new IllegalStateException(option + " was already set on this builder; set each option once.");
      }
    }

    /**
     * How long {@code stop()} and {@code close()} let handlers in flight finish (default 15 s);
     * handlers still running then are interrupted and their messages given back.
     */
    public B gracefulTimeout(Duration timeout) {
      once("gracefulTimeout");
      this.gracefulTimeout = positive(timeout, "gracefulTimeout");
      return self();
    }

    /** What registering an id that is live does: replace it (default) or throw. */
    public B duplicatePolicy(DuplicatePolicy policy) {
      once("duplicatePolicy");
      this.duplicatePolicy = Objects.requireNonNull(policy, "duplicatePolicy");
      return self();
    }

    /** Received messages buffered per subscription before further ones are dropped (at-most-once kinds). */
    public B bufferSize(int messages) {
      once("bufferSize");
      if (messages < 1) {
        throw new IllegalArgumentException("bufferSize must be at least 1, was " + messages + ".");
      }
      this.bufferSize = messages;
      return self();
    }

    /** The Jackson mapper for JSON payloads; Brook does not change it. */
    public B objectMapper(ObjectMapper mapper) {
      once("objectMapper");
      this.objectMapper = Objects.requireNonNull(mapper, "objectMapper");
      return self();
    }

    /**
     * The broker's middlewares, in order: they run for every subscription and every publish,
     * before routers' and subscriptions' (see {@link Middleware}). {@code broker.middleware(...)}
     * adds more later.
     */
    public B middleware(Middleware... middlewares) {
      once("middleware");
      for (Middleware m : middlewares) {
        this.middlewares.add(Objects.requireNonNull(m, "middleware"));
      }
      return self();
    }

    /**
     * Whether each handled message gets one line on the logger {@code dev.brook.access}: subscription,
     * message id, channel, outcome, duration. On by default, at DEBUG, so it costs one level check per
     * message until that logger is set to DEBUG; {@code false} takes the link out of the chain.
     */
    public B accessLog(boolean enabled) {
      once("accessLog");
      this.accessLog = enabled;
      return self();
    }

    /**
     * The Bean Validation validator for {@code @Valid} payloads, e.g. the application's (Spring
     * Boot's) so that its configuration and message interpolation apply. The caller owns it: the
     * broker never closes it. Without one, the broker builds a default factory at its first
     * {@code @Valid} handler and closes it with the broker.
     */
    public B validator(jakarta.validation.Validator validator) {
      once("validator");
      this.validator = Objects.requireNonNull(validator, "validator");
      return self();
    }

    /**
     * Gives every message this broker publishes (results, replies and requests included) a {@code
     * message_id} header from this supplier, unless the caller set one; a subscriber's {@link
     * dev.brook.MessageContext#messageId()} on a channel or list is then that id (FastStream reads the
     * same header). By default Brook sends no {@code message_id}, as FastStream does not, and a
     * receiver takes the {@code correlation_id}. Called on the publishing thread, concurrently: it
     * must be thread-safe and quick, and return a non-empty id.
     */
    public B messageIds(java.util.function.Supplier<String> ids) {
      once("messageIds");
      this.messageIds = Objects.requireNonNull(ids, "messageIds");
      return self();
    }

    /**
     * The ack policy of subscriptions that set none themselves and whose routers set none (default
     * {@link AckPolicy#REJECT_ON_ERROR}). Subscriptions on destinations with nothing to acknowledge
     * (channels) ignore it without a warning.
     */
    public B ackPolicy(AckPolicy policy) {
      once("ackPolicy");
      this.ackPolicy = Objects.requireNonNull(policy, "ackPolicy");
      return self();
    }

    /**
     * The {@link MessageParser} of subscriptions that set none themselves and whose routers set none
     * (FastStream's broker-level {@code parser=}); without one, Brook's own.
     */
    public B parser(MessageParser parser) {
      once("parser");
      this.parser = Objects.requireNonNull(parser, "parser");
      return self();
    }

    /**
     * The {@link MessageDecoder} of subscriptions that set none themselves and whose routers set none
     * (FastStream's broker-level {@code decoder=}); without one, Brook's codec.
     */
    public B decoder(MessageDecoder decoder) {
      once("decoder");
      this.decoder = Objects.requireNonNull(decoder, "decoder");
      return self();
    }

    /** Checks a duration option: not null, above zero. */
    protected static Duration positive(Duration d, String name) {
      Objects.requireNonNull(d, name);
      if (d.isNegative() || d.isZero()) {
        throw new IllegalArgumentException(name + " must be positive, was " + d + ".");
      }
      return d;
    }
  }
}
