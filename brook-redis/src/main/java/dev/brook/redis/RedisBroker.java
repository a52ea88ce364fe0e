package dev.brook.redis;

import dev.brook.Broker;
import dev.brook.DuplicatePolicy;
import dev.brook.redis.internal.RedisTransport;
import dev.brook.redis.internal.RedisUrls;
import dev.brook.redis.internal.TransportOptions;
import dev.brook.spi.BrokerBase;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import io.lettuce.core.resource.ClientResources;
import java.time.Duration;
import java.util.Objects;

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
 * under one graceful deadline and then closes its connections and shuts down its threads. Lettuce
 * resources or a client passed to the builder ({@link Builder#clientResources}, {@link
 * Builder#redisClient}) stay the caller's: close leaves them running. A started
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
public final class RedisBroker extends BrokerBase {

  private final RedisTransport transport;
  private final String url;

  private RedisBroker(Builder b, RedisTransport transport, String url) {
    super(transport, b);
    this.transport = transport;
    this.url = url;
    if (b.announce) {
      transport.announce(b.appName != null ? b.appName : b.clientName, this);
    }
  }

  /**
   * The id this broker announces itself under in Redis (for the Brook console), a random UUID per
   * broker; empty when built with {@link Builder#announce(boolean) announce(false)}.
   */
  public java.util.Optional<String> instanceId() {
    var a = transport.announcer();
    return a == null ? java.util.Optional.empty() : java.util.Optional.of(a.id());
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
   * gap in every channel and pattern) and the messages estimated lost with it; plus, once a shard
   * channel subscription opened it, the sharded Pub/Sub connection (its messages, and its losses: on
   * a cluster each shard channel Brook had to subscribe again). See {@link PubSubMetrics}.
   */
  public PubSubMetrics pubSubMetrics() {
    return transport.pubSubMetrics();
  }

  /**
   * What waits in Redis for this subscription of this broker: list length, processing list, stream
   * lag, pending entries of the group and of the subscription's consumer, dead letters; see {@link
   * Backlog} for each figure. Asks Redis with a few commands on the command connection (connecting
   * first if the broker never did), so a subscription need not run: a stopped or not yet started
   * one shows what waits for it. On a test broker, the same figures from the in-memory Redis.
   *
   * @throws IllegalArgumentException when the subscription is not this broker's
   * @throws dev.brook.BrookException when Redis cannot be reached
   * @throws IllegalStateException when the broker is closed
   */
  public Backlog backlog(dev.brook.Subscription subscription) {
    Objects.requireNonNull(subscription, "subscription");
    if (isClosed()) {
      throw new IllegalStateException("Cannot tell the backlog of subscription '" + subscription.id() + "': broker "
          + url + " is closed.");
    }
    dev.brook.Subscription live = dev.brook.spi.Brokers.live(subscription);
    if (subscription(live.id()) != live) {
      throw new IllegalArgumentException("Subscription '" + subscription.id() + "' is not registered on " + this
          + "; ask the broker it was registered on.");
    }
    dev.brook.spi.Transport t = dev.brook.spi.Brokers.transport(this);
    if (!(t instanceof dev.brook.redis.internal.Backlogs backlogs)) {
      throw new UnsupportedOperationException("The transport " + t.describe() + " cannot tell a backlog.");
    }
    return backlogs.backlog(live.destination(), live.id());
  }

  /**
   * How many times one of the broker's connections to Redis — the command connection, the shared
   * Pub/Sub connection, a List or Stream consumer's own — was lost while open, since the broker was
   * built. Each one reconnects by itself (and Pub/Sub subscribes again); a growing count means an
   * unstable network or Redis restarts. Connections Brook closes on purpose are not counted.
   */
  public long connectionLosses() {
    return transport.connectionLosses();
  }

  private final java.util.concurrent.ConcurrentMap<String, dev.brook.redis.internal.jobs.ScheduleRunner> schedules =
      new java.util.concurrent.ConcurrentHashMap<>();

  /**
   * Publishes {@code payload.get()} to {@code destination} at every tick of {@code schedule}, once
   * per tick however many replicas (brokers, processes) register a schedule of this name: a Lua
   * claim on {@code {brook:schedule:<name>}:last} in Redis lets one fire each tick. Ticks missed
   * while no replica ran follow {@link Schedule#missedTicks(MissedTicks)}. The message carries the
   * headers {@code x-schedule} (the name) and {@code x-schedule-tick} (the tick, ISO-8601).
   *
   * <p>Runs on the broker's timer thread, which only starts a short virtual thread per tick (the
   * supplier and the publish run there); a tick is not fired again when its publish fails (logged at
   * ERROR, 10 lines a minute at most). Runs until {@link ScheduleHandle#cancel()} or {@link #close()}, which leaves no timer
   * behind. Connects to Redis if the broker has not yet; it need not be started.
   *
   * <p>On a test broker ({@code TestRedisBroker}) the schedule runs on the in-memory Redis' manual
   * clock: ticks fire when {@code advance(...)} reaches them (see docs/testing.md).
   *
   * @throws IllegalArgumentException when this broker already runs a schedule of this name
   */
  public ScheduleHandle schedule(String name, Schedule schedule, java.util.function.Supplier<?> payload,
      dev.brook.Destination destination) {
    Objects.requireNonNull(name, "name");
    Objects.requireNonNull(schedule, "schedule");
    Objects.requireNonNull(payload, "payload");
    Objects.requireNonNull(destination, "destination");
    if (isClosed()) {
      throw new IllegalStateException("Cannot schedule '" + name + "': broker " + url + " is closed.");
    }
    dev.brook.redis.internal.JobSupport t = jobSupport("schedule '" + name + "'");
    dev.brook.redis.internal.jobs.ScheduleRunner runner = new dev.brook.redis.internal.jobs.ScheduleRunner(name, schedule,
        payload, destination, this::publish, t.scheduleHost(), r -> schedules.remove(r.name(), r));
    if (schedules.putIfAbsent(name, runner) != null) {
      throw new IllegalArgumentException("This broker already runs a schedule named '" + name + "'; cancel it first "
          + "(broker.schedules()) or choose another name.");
    }
    runner.start();
    return runner;
  }

  /** The schedules this broker runs now, in no particular order. */
  public java.util.List<ScheduleHandle> schedules() {
    return java.util.List.copyOf(schedules.values());
  }

  /**
   * The dead letters of a List or Stream (their {@code {name}:dlq}), to list, replay and purge; see
   * {@link DeadLetters}. Connects to Redis if the broker has not yet.
   *
   * On a test broker, the dead letters of its in-memory Redis.
   *
   * @throws IllegalArgumentException when the destination is neither a list nor a stream, or is a
   *     partitioned stream (each partition has its own: pass {@code stream.partition(i)})
   */
  public DeadLetters deadLetters(dev.brook.Destination destination) {
    Objects.requireNonNull(destination, "destination");
    if (isClosed()) {
      throw new IllegalStateException("Cannot read dead letters of " + destination + ": broker " + url + " is closed.");
    }
    return new DeadLetters(jobSupport("dead letters of " + destination), destination);
  }

  /** The transport's dead letters and schedules: Redis (connected first), or a test broker's in-memory Redis. */
  private dev.brook.redis.internal.JobSupport jobSupport(String what) {
    dev.brook.spi.Transport t = dev.brook.spi.Brokers.transport(this);
    if (t instanceof dev.brook.redis.internal.JobSupport jobs) {
      t.connect();
      return jobs;
    }
    throw new UnsupportedOperationException("The transport " + t.describe() + " cannot run " + what
        + "; use a RedisBroker on Redis or on TestRedisBroker's in-memory Redis.");
  }

  @Override
  public String toString() {
    return "RedisBroker[" + url + (isClosed() ? ", closed" : "") + "]";
  }

  /**
   * Options for a {@link RedisBroker}; each may be set once.
   *
   * <p>Defaults: URL {@code redis://127.0.0.1:6379}, client name {@code brook} (shown by {@code
   * CLIENT LIST}), graceful timeout 15 s, {@link DuplicatePolicy#REPLACE}, connect timeout 2 s,
   * command timeout 5 s (how long a publish waits for Redis, also while it is reconnecting), a
   * request queue of 10,000 commands per connection, a maximum message size of 16 MiB, a buffer
   * of 10,000 received messages per subscription, the JDK's trust store for {@code rediss://}, a
   * Jackson mapper that ignores unknown properties, no middlewares, the access log on (at DEBUG,
   * logger {@code dev.brook.access}), and a Lettuce client and resources of the broker's own.
   */
  public static final class Builder extends BrokerBase.Builder<Builder> {
    private String url = "redis://127.0.0.1:6379";
    private String clientName = "brook";
    private String appName;
    private boolean announce = true;
    private Duration connectTimeout = Duration.ofSeconds(2);
    private Duration commandTimeout = Duration.ofSeconds(5);
    private int requestQueueSize = 10_000;
    private int maxMessageSize = 16 * 1024 * 1024;
    private java.nio.file.Path caCertificate;
    private ClientResources clientResources;
    private RedisClient redisClient;
    private dev.brook.redis.internal.Durability durability = dev.brook.redis.internal.Durability.NONE;
    /** Options that configure the client Brook creates, set explicitly: they do not fit a redisClient(...). */
    private final java.util.List<String> clientOptionsSet = new java.util.ArrayList<>();

    private Builder() {}

    /**
     * The application name this broker announces itself with to the Brook console; defaults to the
     * {@link #clientName client name}.
     */
    public Builder appName(String appName) {
      once("appName");
      if (appName == null || appName.isBlank()) {
        throw new IllegalArgumentException("appName must be non-blank, was '" + appName + "'.");
      }
      this.appName = appName;
      return this;
    }

    /**
     * Whether the broker announces itself in Redis for the Brook console (default true): from its
     * first connect until close, a key {@code brook:broker:{<instanceId>}} (JSON: app, host, pid,
     * version, start time, subscriptions with their states and counts) renewed every 2 s on the
     * broker's timer thread with a TTL of 6 s, indexed in the sorted set {@code brook:brokers};
     * and every 0.5 s it reads the console's pause/resume commands from {@code
     * brook:control:{<instanceId>}}. {@code false} writes and reads none of these.
     */
    public Builder announce(boolean announce) {
      once("announce");
      this.announce = announce;
      return this;
    }

    /**
     * {@code redis://[user:password@]host:port/db} ({@code rediss://} for TLS) for one Redis;
     * {@code redis-cluster://[user:password@]host:port,host:port,...} ({@code rediss-cluster://}) for
     * a Redis Cluster: any reachable nodes, the rest is discovered, and the topology is followed
     * through failovers and resharding. On a cluster every destination works as on one Redis: a
     * destination's keys share its hash tag ({@code {jobs}}), so each lives on one node. Through
     * Sentinel, {@code redis-sentinel://[user:password@]host1:port1,host2:port2/db#master} ({@code
     * rediss-sentinel://} for TLS), where the password is the primary's and its replicas'.
     */
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



    public Builder connectTimeout(Duration timeout) {
      once("connectTimeout");
      clientOptionsSet.add("connectTimeout");
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
      clientOptionsSet.add("requestQueueSize");
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
     * For {@code rediss://} and {@code rediss-sentinel://} URLs: trust the certificate authorities in this PEM file (instead of the
     * JDK's trust store) when checking the server's certificate, e.g. a private CA. The server's
     * certificate must name the URL's host. Only for tests, {@code rediss://host:port?verifyPeer=NONE}
     * turns the check off.
     */
    public Builder caCertificate(java.nio.file.Path pemFile) {
      once("caCertificate");
      clientOptionsSet.add("caCertificate");
      Objects.requireNonNull(pemFile, "caCertificate");
      if (!java.nio.file.Files.isReadable(pemFile)) {
        throw new IllegalArgumentException("caCertificate " + pemFile + " does not exist or cannot be read. Pass the PEM "
            + "file of the certificate authority that signed the Redis server's certificate.");
      }
      this.caCertificate = pemFile.toAbsolutePath();
      return this;
    }

    /**
     * Lettuce resources (event loops, timers, DNS resolver, reconnect delay) to run the broker's
     * client on, e.g. shared with other Lettuce clients of the application. Brook creates its
     * client on them and never shuts them down: after {@link RedisBroker#close()} they still run,
     * and the caller shuts them down when done. Without it, the broker creates resources of its own
     * (two I/O threads named {@code brook-...}, reconnects within 10 ms to 1 s, one write per batch
     * of pipelined commands) and shuts them down at close; on given resources their own settings
     * apply instead.
     */
    public Builder clientResources(ClientResources resources) {
      once("clientResources");
      this.clientResources = Objects.requireNonNull(resources, "clientResources");
      return this;
    }

    /**
     * A Lettuce client to open the broker's connections with (to the builder's {@link #url}). Its
     * {@code ClientOptions} and resources apply — timeouts of connects, the request queue, TLS,
     * reconnects — so connectTimeout, requestQueueSize and caCertificate cannot be set as well;
     * {@link #commandTimeout} still bounds each of Brook's commands. Brook never shuts the client
     * down: {@link RedisBroker#close()} closes only the broker's own connections, and the client
     * still works afterwards.
     */
    public Builder redisClient(RedisClient client) {
      once("redisClient");
      this.redisClient = Objects.requireNonNull(client, "redisClient");
      return this;
    }





    /**
     * Durable publishing by default: every publish to a List or a Stream completes only when Redis
     * has the message and at least {@code replicas} replicas have acknowledged it ({@code WAIT
     * replicas timeout} after the write, on the same connection); a destination's own {@code
     * waitForReplicas} overrides it ({@code 0} there turns it off). Channels and patterns are not
     * stored, so nothing waits for them. Without it (the default) an acknowledged publish is on the
     * primary only: Redis replicates asynchronously, so a failover right after it can lose it.
     *
     * <p>When fewer replicas acknowledge within {@code timeout}, the publish fails with a {@link
     * NotReplicatedException} naming how many did; the message is in Redis all the same (see there).
     * Durable publishes go on a connection of their own, so WAIT never holds up acknowledgements
     * and heartbeats; they cost a round trip to the replicas per publish, or per batch and
     * pipeline. See {@link ListDestination#waitForReplicas} for the guarantee.
     *
     * @param replicas how many replicas must acknowledge, at least 1
     * @param timeout how long Redis waits for them: positive, shorter than {@link #commandTimeout}
     */
    public Builder waitForReplicas(int replicas, Duration timeout) {
      once("waitForReplicas");
      if (replicas < 1) {
        throw new IllegalArgumentException("waitForReplicas needs at least 1 replica, was " + replicas
            + " (leave it out to publish without waiting).");
      }
      this.durability = dev.brook.redis.internal.Durability.of(replicas, timeout);
      return this;
    }

    public RedisBroker build() {
      if (durability.waits() && durability.timeout().compareTo(commandTimeout) >= 0) {
        throw new IllegalStateException("waitForReplicas timeout " + durability.timeout() + " is not shorter than the "
            + "commandTimeout " + commandTimeout + ", so the client would give up on WAIT before Redis answers. Shorten "
            + "the timeout, or raise commandTimeout(...).");
      }
      if (caCertificate != null && !url.regionMatches(true, 0, "rediss://", 0, 9)
          && !url.regionMatches(true, 0, "rediss-cluster://", 0, 17)
          && !url.regionMatches(true, 0, "rediss-sentinel://", 0, 18)) {
        throw new IllegalStateException("caCertificate is set, but url " + RedisUrls.mask(url) + " does not use TLS. "
            + "Use a rediss:// URL, or leave caCertificate out.");
      }
      if (redisClient != null && clientResources != null) {
        throw new IllegalStateException("redisClient and clientResources are both set, but a client brings its own "
            + "resources. Pass one of them: the client, or the resources Brook creates its client on.");
      }
      if (redisClient != null && !clientOptionsSet.isEmpty()) {
        throw new IllegalStateException("redisClient is set, so its ClientOptions apply, but "
            + String.join(", ", clientOptionsSet) + " configure" + (clientOptionsSet.size() == 1 ? "s" : "")
            + " the client Brook creates. Set them on your client's ClientOptions, or leave redisClient out.");
      }
      String masked = RedisUrls.mask(url);
      TransportOptions options = new TransportOptions(clientName, connectTimeout, commandTimeout, requestQueueSize,
          maxMessageSize, caCertificate, clientResources, redisClient, durability);
      if (RedisUrls.isCluster(url)) {
        if (redisClient != null) {
          throw new IllegalStateException("The URL " + masked + " is a Redis Cluster, but redisClient(...) passes a "
              + "single-node RedisClient. Leave redisClient out (Brook creates a RedisClusterClient; "
              + "clientResources(...) shares your resources), or use a redis:// URL.");
        }
        return new RedisBroker(this, new RedisTransport(RedisUrls.parseCluster(url), masked, options), masked);
      }
      RedisURI uri = RedisUrls.parse(url);
      return new RedisBroker(this, new RedisTransport(uri, masked, options), masked);
    }
  }
}
