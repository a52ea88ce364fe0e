package dev.brook.redis;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.brook.Broker;
import dev.brook.Destination;
import dev.brook.DuplicatePolicy;
import dev.brook.Middleware;
import dev.brook.Publisher;
import dev.brook.RequestMetrics;
import dev.brook.Router;
import dev.brook.SubscriberBuilder;
import dev.brook.Subscription;
import dev.brook.internal.BrokerEngine;
import dev.brook.internal.CallSite;
import dev.brook.internal.Codec;
import dev.brook.redis.internal.LeakWatch;
import dev.brook.redis.internal.RedisTransport;
import dev.brook.redis.internal.RedisUrls;
import dev.brook.redis.internal.TransportOptions;
import io.lettuce.core.RedisURI;
import java.time.Duration;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A {@link Broker} on Redis through Lettuce: Pub/Sub channels and patterns, publishing, and the
 * FastStream-compatible binary envelope.
 *
 * <pre>{@code
 * try (RedisBroker broker = RedisBroker.create("redis://127.0.0.1:6379")) {
 *   broker.subscriber(channel("orders"))
 *       .publishTo(channel("receipts"))
 *       .handle(Order.class, (order, ctx) -> new Receipt(order.id()));
 *   broker.start();
 *   broker.publish(new Order(42), channel("orders"));
 * }
 * }</pre>
 *
 * <p>A broker is expensive (its own event loops and connections) and thread-safe: create one per
 * service and share it. It owns everything it creates; {@link #close()} stops every subscription
 * under one graceful deadline and then closes its connections and shuts down its threads. A started
 * broker stays reachable until stopped or closed, like a running server; one that becomes
 * unreachable otherwise without being closed is closed by the thread {@code brook-cleaner}, with a
 * WARN naming where it was created. That thread runs only while some broker is open: after the last
 * {@link #close()} no {@code brook-} thread is left.
 *
 * <p>Connections: one for commands and publishing, opened by {@link #start()} or the first
 * publish, and one shared by all Pub/Sub subscriptions, opened by the first of them. Both reconnect
 * automatically, and every live channel and pattern is subscribed again after a reconnect.
 *
 * <p>Request/reply: the first {@link #request} subscribes the broker's reply channel ({@code
 * brook.reply.<random>}) on the shared Pub/Sub connection and starts one timer thread; all
 * requests share them, and {@link #close()} releases them.
 *
 * <p>Logging: one DEBUG line per handled message on the logger {@code dev.brook.access} (the
 * access log; {@link Builder#accessLog(boolean)} removes it), failures at WARN/ERROR on {@code
 * dev.brook.Subscription}.
 */
public final class RedisBroker implements Broker {

  private static final Logger LOG = LoggerFactory.getLogger(RedisBroker.class);

  static {
    dev.brook.redis.internal.BrokerAccess.install(broker -> broker.engine);
  }

  private final BrokerEngine engine;
  private final RedisTransport transport;
  private final String url;
  private final Leak leak;
  private final LeakWatch.Watched watched;

  private RedisBroker(Builder b) {
    RedisURI uri = RedisUrls.parse(b.url);
    this.url = RedisUrls.mask(b.url);
    this.transport = new RedisTransport(uri, url, new TransportOptions(b.clientName, b.connectTimeout, b.commandTimeout,
        b.requestQueueSize, b.maxMessageSize, b.caCertificate));
    ObjectMapper mapper = b.objectMapper != null ? b.objectMapper : Codec.defaultMapper();
    this.engine = new BrokerEngine(transport, new Codec(mapper), b.gracefulTimeout, b.duplicatePolicy, b.bufferSize,
        RedisBroker.class);
    engine.accessLog(b.accessLog);
    for (Middleware m : b.middlewares) {
      engine.middleware(m);
    }
    this.leak = new Leak(engine, url, CallSite.find(RedisBroker.class));
    // The action holds the engine, never the broker.
    this.watched = LeakWatch.register(this, leak);
  }

  /** A broker for this URL with every default; see {@link Builder} for them. */
  public static RedisBroker create(String url) {
    return builder().url(url).build();
  }

  public static Builder builder() {
    return new Builder();
  }

  /** The URL with any password masked. */
  public String url() {
    return url;
  }

  /**
   * What the shared Pub/Sub connection saw: messages received, how often it was lost (each loss is a
   * gap in every channel and pattern) and the messages estimated lost with it. See {@link
   * PubSubMetrics}.
   */
  public PubSubMetrics pubSubMetrics() {
    return transport.pubSubMetrics();
  }

  @Override
  public SubscriberBuilder subscriber(Destination destination) {
    return engine.subscriber(destination);
  }

  @Override
  public void start() {
    engine.start(this);
  }

  @Override
  public void stop() {
    engine.stop();
  }

  @Override
  public void publish(Object payload, Destination destination) {
    engine.publish(payload, destination, Map.of());
  }

  @Override
  public void publish(Object payload, Destination destination, Map<String, String> headers) {
    engine.publish(payload, destination, headers);
  }

  @Override
  public void publishBatch(java.util.Collection<?> payloads, Destination destination) {
    engine.publishBatch(payloads, destination);
  }

  /** Publishes without waiting; the future completes when Redis has taken the message. */
  public CompletableFuture<Void> publishAsync(Object payload, Destination destination) {
    return engine.publishAsync(payload, destination, Map.of());
  }

  @Override
  public CompletableFuture<Void> publishAsync(Object payload, Destination destination, Map<String, String> headers) {
    return engine.publishAsync(payload, destination, headers);
  }

  @Override
  public Publisher publisher(Destination destination) {
    return engine.publisher(destination);
  }

  @Override
  public <R> R request(Object payload, Destination destination, Class<R> replyType, Duration timeout) {
    return engine.request(payload, destination, replyType, timeout);
  }

  @Override
  public <R> CompletableFuture<R> requestAsync(Object payload, Destination destination, Class<R> replyType, Duration timeout) {
    return engine.requestAsync(payload, destination, replyType, timeout);
  }

  @Override
  public RequestMetrics requestMetrics() {
    return engine.requestMetrics();
  }

  @Override
  public List<Subscription> include(Object handlers) {
    return engine.include(handlers);
  }

  @Override
  public List<Subscription> include(Router router) {
    return engine.include(router);
  }

  @Override
  public void middleware(Middleware middleware) {
    engine.middleware(middleware);
  }

  @Override
  public Collection<Subscription> subscriptions() {
    return engine.subscriptions();
  }

  @Override
  public Subscription subscription(String id) {
    return engine.subscription(id);
  }

  @Override
  public Duration gracefulTimeout() {
    return engine.gracefulTimeout();
  }

  @Override
  public void close() {
    leak.closedByOwner.set(true);
    watched.run();
    engine.close(); // returns once the first close has finished, when another thread runs it
  }

  @Override
  public String toString() {
    return "RedisBroker[" + url + (engine.isClosed() ? ", closed" : "") + "]";
  }

  /** Closes the engine: when the owner calls close(), or when the broker was dropped unclosed. */
  private static final class Leak implements Runnable {
    final BrokerEngine engine;
    final String url;
    final String createdAt;
    final AtomicBoolean closedByOwner = new AtomicBoolean();

    Leak(BrokerEngine engine, String url, String createdAt) {
      this.engine = engine;
      this.url = url;
      this.createdAt = createdAt;
    }

    @Override
    public void run() {
      if (!closedByOwner.get() && !engine.isClosed()) {
        LOG.warn("A RedisBroker for {} created at {} was never closed; closing it now. Call broker.close() "
            + "(or use try-with-resources) when you are done with it.", url, createdAt);
      }
      engine.close();
    }
  }

  /**
   * Options for a {@link RedisBroker}; each may be set once.
   *
   * <p>Defaults: URL {@code redis://127.0.0.1:6379}, client name {@code brook} (shown by {@code
   * CLIENT LIST}), graceful timeout 15 s, {@link DuplicatePolicy#REPLACE}, connect timeout 2 s,
   * command timeout 5 s (how long a publish waits for Redis, also while it is reconnecting), a
   * request queue of 10,000 commands per connection, a maximum message size of 16 MiB, a buffer
   * of 10,000 received messages per subscription, the JDK's trust store for {@code rediss://}, a
   * Jackson mapper that ignores unknown properties, no middlewares and the access log on (at DEBUG,
   * logger {@code dev.brook.access}).
   */
  public static final class Builder {
    private String url = "redis://127.0.0.1:6379";
    private String clientName = "brook";
    private Duration gracefulTimeout = Duration.ofSeconds(15);
    private DuplicatePolicy duplicatePolicy = DuplicatePolicy.REPLACE;
    private Duration connectTimeout = Duration.ofSeconds(2);
    private Duration commandTimeout = Duration.ofSeconds(5);
    private int bufferSize = 10_000;
    private int requestQueueSize = 10_000;
    private int maxMessageSize = 16 * 1024 * 1024;
    private java.nio.file.Path caCertificate;
    private ObjectMapper objectMapper;
    private boolean accessLog = true;
    private final java.util.List<Middleware> middlewares = new java.util.ArrayList<>();
    private final java.util.Set<String> set = new java.util.HashSet<>();

    private Builder() {}

    private void once(String option) {
      if (!set.add(option)) {
        throw new IllegalStateException(option + " was already set on this builder; set each option once.");
      }
    }

    /** {@code redis://[user:password@]host:port/db}. */
    public Builder url(String url) {
      once("url");
      this.url = Objects.requireNonNull(url, "url");
      return this;
    }

    /** The name Brook's connections give themselves ({@code CLIENT SETNAME}). */
    public Builder clientName(String clientName) {
      once("clientName");
      if (clientName.isEmpty() || clientName.chars().anyMatch(c -> c <= ' ')) {
        throw new IllegalArgumentException("clientName must be non-empty without spaces (Redis CLIENT SETNAME), was '" + clientName + "'.");
      }
      this.clientName = clientName;
      return this;
    }

    public Builder gracefulTimeout(Duration timeout) {
      once("gracefulTimeout");
      this.gracefulTimeout = positive(timeout, "gracefulTimeout");
      return this;
    }

    public Builder duplicatePolicy(DuplicatePolicy policy) {
      once("duplicatePolicy");
      this.duplicatePolicy = Objects.requireNonNull(policy, "duplicatePolicy");
      return this;
    }

    public Builder connectTimeout(Duration timeout) {
      once("connectTimeout");
      this.connectTimeout = positive(timeout, "connectTimeout");
      return this;
    }

    /**
     * How long any command waits for Redis (default 5 s), also while the connection is down and Brook
     * reconnects: a publish that Redis has not confirmed by then fails with a {@link
     * dev.brook.BrookException} naming the destination, the server and the fix. There is one bound
     * for publishing and for the commands behind it (acknowledgements, heartbeats), so they agree on
     * when Redis counts as gone; blocking reads wait less than half of it per round.
     */
    public Builder commandTimeout(Duration timeout) {
      once("commandTimeout");
      this.commandTimeout = positive(timeout, "commandTimeout");
      return this;
    }

    /**
     * How many commands may wait for Redis per connection (default 10,000): publishes and
     * acknowledgements sent while Redis is slow or the connection is down. The queue is bounded so a
     * long outage cannot fill the heap; a publish that finds it full fails at once with a {@link
     * dev.brook.BrookException} (nothing is dropped silently). Raise it for very fast asynchronous
     * publishers, or wait for {@code publishAsync} futures before sending more.
     */
    public Builder requestQueueSize(int commands) {
      once("requestQueueSize");
      if (commands < 1) {
        throw new IllegalArgumentException("requestQueueSize must be at least 1, was " + commands + ".");
      }
      this.requestQueueSize = commands;
      return this;
    }

    /**
     * The largest message, in bytes as stored in Redis (envelope included), that this broker reads
     * or publishes; default 16 MiB. A larger received message is never unwrapped or decoded: it is
     * counted as a decode error, logged, and rejected (moved to the dead letter where there is one,
     * with its raw value as the payload). Publishing a larger one fails at once.
     */
    public Builder maxMessageSize(int bytes) {
      once("maxMessageSize");
      if (bytes < 1024) {
        throw new IllegalArgumentException("maxMessageSize must be at least 1024 bytes, was " + bytes + ".");
      }
      this.maxMessageSize = bytes;
      return this;
    }

    /**
     * For {@code rediss://} URLs: trust the certificate authorities in this PEM file (instead of the
     * JDK's trust store) when checking the server's certificate, e.g. a private CA. The server's
     * certificate must name the URL's host. Only for tests, {@code rediss://host:port?verifyPeer=NONE}
     * turns the check off.
     */
    public Builder caCertificate(java.nio.file.Path pemFile) {
      once("caCertificate");
      Objects.requireNonNull(pemFile, "caCertificate");
      if (!java.nio.file.Files.isReadable(pemFile)) {
        throw new IllegalArgumentException("caCertificate " + pemFile + " does not exist or cannot be read. Pass the PEM "
            + "file of the certificate authority that signed the Redis server's certificate.");
      }
      this.caCertificate = pemFile.toAbsolutePath();
      return this;
    }

    /** Received messages buffered per subscription before further ones are dropped (Pub/Sub). */
    public Builder bufferSize(int messages) {
      once("bufferSize");
      if (messages < 1) {
        throw new IllegalArgumentException("bufferSize must be at least 1, was " + messages + ".");
      }
      this.bufferSize = messages;
      return this;
    }

    /** The Jackson mapper for JSON payloads; Brook does not change it. */
    public Builder objectMapper(ObjectMapper mapper) {
      once("objectMapper");
      this.objectMapper = Objects.requireNonNull(mapper, "objectMapper");
      return this;
    }

    /**
     * The broker's middlewares, in order: they run for every subscription and every publish,
     * before routers' and subscriptions' (see {@link Middleware}). {@code broker.middleware(...)}
     * adds more later.
     */
    public Builder middleware(Middleware... middlewares) {
      once("middleware");
      for (Middleware m : middlewares) {
        this.middlewares.add(Objects.requireNonNull(m, "middleware"));
      }
      return this;
    }

    /**
     * Whether each handled message gets one line on the logger {@code dev.brook.access}: subscription,
     * message id, channel, outcome, duration. On by default, at DEBUG, so it costs one level check per
     * message until that logger is set to DEBUG; {@code false} takes the link out of the chain.
     */
    public Builder accessLog(boolean enabled) {
      once("accessLog");
      this.accessLog = enabled;
      return this;
    }

    public RedisBroker build() {
      if (caCertificate != null && !url.regionMatches(true, 0, "rediss://", 0, 9)) {
        throw new IllegalStateException("caCertificate is set, but url " + RedisUrls.mask(url) + " does not use TLS. "
            + "Use a rediss:// URL, or leave caCertificate out.");
      }
      return new RedisBroker(this);
    }

    private static Duration positive(Duration d, String name) {
      Objects.requireNonNull(d, name);
      if (d.isNegative() || d.isZero()) {
        throw new IllegalArgumentException(name + " must be positive, was " + d + ".");
      }
      return d;
    }
  }
}
