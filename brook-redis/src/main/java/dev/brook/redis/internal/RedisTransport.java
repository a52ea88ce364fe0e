package dev.brook.redis.internal;

import dev.brook.Destination;
import dev.brook.redis.PubSubMetrics;
import dev.brook.redis.Redis;
import dev.brook.redis.internal.list.ListKind;
import dev.brook.redis.internal.pubsub.PubSub;
import dev.brook.redis.internal.shard.ShardChannelKind;
import dev.brook.redis.internal.stream.StreamKind;
import dev.brook.spi.Frame;
import dev.brook.spi.Transport;
import io.lettuce.core.RedisURI;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;

/**
 * Brook's Redis transport on Lettuce. It only delegates, by role:
 *
 * <ul>
 *   <li>{@link RedisConnections}: the client and its resources, the command connection, the
 *       connections the kinds open, reconnects, the platform timer;
 *   <li>{@link RedisProducer}: the envelope, its size check and what a failed publish means;
 *   <li>the destination kinds ({@link RedisKind}: Pub/Sub channels and patterns, sharded channels, Lists, Streams),
 *       each in its own package, found by the destination's class ({@link RedisKinds});
 *   <li>{@link RedisErrors}: Redis' error texts as typed exceptions.
 * </ul>
 *
 * <p>Ownership: {@link #close()} closes every connection and, unless the user passed them, the
 * client and its resources, so a closed broker leaves no thread, connection or socket behind.
 * Connecting is lazy, idempotent and thread-safe. Faults (reconnects, bounded queues, command
 * timeouts, lost replies) are described where they are handled: {@link RedisConnections}, {@link
 * RedisProducer} and the consumers.
 */
public final class RedisTransport implements Transport, Backlogs, JobSupport {

  private final RedisConnections connections;
  /** Names of this broker's List and Stream consumers in Redis; released by close. */
  private final ConsumerNames consumerNames = new ConsumerNames();
  private final PubSub pubSub;
  private final ShardChannelKind shardChannels;
  private final RedisKinds kinds;
  private final RedisProducer producer;
  private volatile Announcer announcer;

  public RedisTransport(RedisURI uri, String maskedUrl, TransportOptions options) {
    this(uri, maskedUrl, options, Timing.SYSTEM);
  }

  /** A transport for a Redis Cluster: the seed nodes of a {@code redis-cluster://} URL. */
  public RedisTransport(List<RedisURI> clusterSeeds, String maskedUrl, TransportOptions options) {
    this(new RedisConnections(clusterSeeds, maskedUrl, options), Timing.SYSTEM);
  }

  /** @param timing the clock of scheduled work (back-offs, retries, reclaim); a test may pass a manual one */
  public RedisTransport(RedisURI uri, String maskedUrl, TransportOptions options, Timing timing) {
    this(new RedisConnections(uri, maskedUrl, options), timing);
  }

  private RedisTransport(RedisConnections connections, Timing timing) {
    this.connections = connections;
    this.producer = new RedisProducer(connections);
    RedisContext context = new RedisContext(connections, producer, consumerNames, timing);
    this.pubSub = new PubSub(context);
    this.shardChannels = new ShardChannelKind(context);
    // Every kind this transport serves, in one place.
    this.kinds = new RedisKinds(List.of(pubSub.channels(), pubSub.patterns(), shardChannels, new ListKind(context, shardChannels),
        new StreamKind(context, shardChannels)));
  }

  /** The shard channels' kind (its hub, for diagnostics and tests). */
  public ShardChannelKind shardChannels() {
    return shardChannels;
  }

  /** The connection lifecycle. */
  /** Dead letters in Redis, on the command connection. */
  @Override
  public DeadLetterStore deadLetters(dev.brook.Destination destination, boolean stream, String queue, String deadLetterKey) {
    return new RedisDeadLetterStore(connections().syncCommands(), stream, queue, deadLetterKey);
  }

  /** Schedules claim their ticks in Redis and wake on the broker's timer. */
  @Override
  public dev.brook.redis.internal.jobs.ScheduleRunner.Host scheduleHost() {
    return dev.brook.redis.internal.jobs.ScheduleRunner.redis(connections(), schedules);
  }

  /** The schedules running on this transport: closed (and their tick in flight waited for) before the connections. */
  private final java.util.Set<dev.brook.redis.internal.jobs.ScheduleRunner> schedules =
      java.util.concurrent.ConcurrentHashMap.newKeySet();

  public RedisConnections connections() {
    return connections;
  }

  @Override
  public Frame unwrap(byte[] raw) {
    return Envelope.decode(raw);
  }

  @Override
  public boolean ping(java.time.Duration timeout) {
    return connections.ping(timeout);
  }

  /**
   * Connects first when the broker never did (so a health check before {@code start()} tells
   * whether Redis is reachable), then times a PING on the command connection.
   */
  @Override
  public dev.brook.Health.Server health(java.time.Duration timeout) {
    if (!connections.isConnected()) {
      try {
        connections.connect();
      } catch (RuntimeException e) {
        return new dev.brook.Health.Server(connections.masked(), false, null, connections.reconnecting());
      }
    }
    long start = System.nanoTime();
    boolean reachable = connections.ping(timeout);
    return new dev.brook.Health.Server(connections.masked(), reachable,
        reachable ? java.time.Duration.ofNanos(System.nanoTime() - start) : null, connections.reconnecting());
  }

  /** A stream group's lag (XINFO GROUPS); empty for other destinations or when Redis cannot tell. */
  @Override
  public java.util.OptionalLong lag(Destination destination, String subscriptionId) {
    if (!(destination instanceof dev.brook.redis.StreamDestination s) || s.groupName() == null) {
      return java.util.OptionalLong.empty();
    }
    long lag = RedisBacklogs.of(connections, consumerNames, destination, subscriptionId).lag();
    return lag < 0 ? java.util.OptionalLong.empty() : java.util.OptionalLong.of(lag);
  }

  @Override
  public dev.brook.redis.Backlog backlog(Destination destination, String subscriptionId) {
    kinds.of(destination, "tell the backlog of");
    try {
      return RedisBacklogs.of(connections, consumerNames, destination, subscriptionId);
    } catch (dev.brook.BrookException | IllegalStateException e) {
      throw e; // already names the server (unreachable at connect, or closed)
    } catch (RuntimeException e) {
      Throwable t = RedisErrors.translate(e);
      throw new dev.brook.BrookException("Cannot read the backlog of subscription '" + subscriptionId + "' ("
          + destination.key() + ") from " + connections.masked() + ": " + (t.getMessage() != null ? t.getMessage() : t)
          + ". Check that Redis is reachable (broker.health()).", e);
    }
  }

  /** Replies travel on a Pub/Sub channel of this name. */
  @Override
  public Destination replyChannel(String name) {
    return Redis.channel(name);
  }

  /** The destination an annotation names ({@code @Subscribe(list = "jobs")}). */
  @Override
  public Destination destination(String annotation, Map<String, String> attributes) {
    return RedisDestinations.of(annotation, attributes);
  }

  @Override
  public String describe() {
    return connections.masked();
  }

  /** For documentation: see {@link RedisDescriptions}. */
  @Override
  public dev.brook.spi.DestinationDescription describe(Destination destination) {
    return RedisDescriptions.describe(destination);
  }

  @Override
  public java.util.Optional<dev.brook.spi.ServerDescription> describeServer() {
    return java.util.Optional.of(RedisDescriptions.server(connections.masked()));
  }

  @Override
  public void connect() {
    connections.connect();
    Announcer a = announcer;
    if (a != null) {
      a.start();
    }
  }

  /** Announces the broker in Redis from its first connect on (see {@link Announcer}); set once, before any connect. */
  public Announcer announce(String app, dev.brook.Broker broker) {
    Announcer a = new Announcer(connections, app);
    a.broker(broker);
    this.announcer = a;
    return a;
  }

  /** The announcer, or null when the broker does not announce itself. */
  public Announcer announcer() {
    return announcer;
  }

  @Override
  public Consumer consumer(Destination destination, String subscriptionId, Sink sink) {
    return kinds.consumer(destination, subscriptionId, sink);
  }

  @Override
  public CompletableFuture<Void> send(Destination destination, Frame frame) {
    return kinds.send(destination, frame);
  }

  /** One RPUSH for a List; pipelined XADDs for a Stream; pipelined PUBLISHes for a channel. */
  @Override
  public CompletableFuture<dev.brook.PublishResult> send(Destination destination, Frame frame,
      dev.brook.PublishOptions options) {
    return kinds.send(destination, frame, options);
  }

  @Override
  public CompletableFuture<Void> sendBatch(Destination destination, List<Frame> frames) {
    if (frames.isEmpty()) {
      return CompletableFuture.completedFuture(null);
    }
    return kinds.sendBatch(destination, frames);
  }

  /**
   * One write for the whole pipeline: each kind builds its commands by hand ({@link
   * RedisKind#commands}: RPUSH, XADD, PUBLISH; a run of messages to one List is one RPUSH) and all
   * are dispatched together on the command connection, as a Stream batch is. Messages whose kind
   * builds none are sent with {@code sendBatch} first. Encoding (and its size check) happens before
   * anything is sent, so a message too large fails the pipeline with nothing sent.
   */
  @Override
  public CompletableFuture<Void> sendPipeline(List<Destination> destinations, List<Frame> frames) {
    Destination previous = null;
    for (Destination d : destinations) {
      if (d != previous && kinds.durability(d) != null) {
        return sendDurablePipeline(destinations, frames);
      }
      previous = d;
    }
    int n = frames.size();
    List<io.lettuce.core.protocol.RedisCommand<byte[], byte[], ?>> commands = new java.util.ArrayList<>(n);
    List<CompletableFuture<?>> futures = new java.util.ArrayList<>(n);
    List<Runnable> alone = new java.util.ArrayList<>();
    for (int start = 0; start < n; ) {
      Destination destination = destinations.get(start);
      int end = start + 1;
      while (end < n && destinations.get(end).equals(destination)) {
        end++;
      }
      List<Frame> run = frames.subList(start, end);
      List<io.lettuce.core.protocol.AsyncCommand<byte[], byte[], ?>> built = kinds.commands(destination, run);
      if (built == null) {
        alone.add(() -> futures.add(kinds.sendBatch(destination, run)));
      } else {
        for (io.lettuce.core.protocol.AsyncCommand<byte[], byte[], ?> command : built) {
          commands.add(command);
          futures.add(producer.published(destination, command));
        }
      }
      start = end;
    }
    alone.forEach(Runnable::run);
    if (!commands.isEmpty()) {
      producer.dispatch(commands); // in writes the request queue can take
    }
    return CompletableFuture.allOf(futures.toArray(CompletableFuture<?>[]::new));
  }

  /**
   * A pipeline with a durable destination in it ({@code waitForReplicas}): all its messages go, in
   * order, on the connection for durable publishes, with one WAIT after them
   * ({@link RedisProducer#sendDurable}); the others complete at their reply, the durable ones when
   * the replicas have them. Kinds that build no commands are sent on their own first, as above.
   */
  private CompletableFuture<Void> sendDurablePipeline(List<Destination> destinations, List<Frame> frames) {
    int n = frames.size();
    List<RedisProducer.DurableWrite> writes = new java.util.ArrayList<>();
    List<CompletableFuture<?>> futures = new java.util.ArrayList<>();
    for (int start = 0; start < n; ) {
      Destination destination = destinations.get(start);
      int end = start + 1;
      while (end < n && destinations.get(end).equals(destination)) {
        end++;
      }
      List<Frame> run = frames.subList(start, end);
      Durability d = kinds.durability(destination);
      List<RedisProducer.DurableWrite> built = kinds.durableWrites(destination, run, d == null ? Durability.NONE : d);
      if (built == null) {
        futures.add(kinds.sendBatch(destination, run));
      } else {
        writes.addAll(built);
      }
      start = end;
    }
    futures.addAll(producer.sendDurable(writes));
    return CompletableFuture.allOf(futures.toArray(CompletableFuture<?>[]::new));
  }

  /**
   * What the Pub/Sub connections saw: messages, losses and the messages estimated lost with them —
   * the shared one of channels and patterns, plus the sharded one of shard channels when it is open.
   */
  public PubSubMetrics pubSubMetrics() {
    PubSubMetrics plain = pubSub.metrics();
    PubSubMetrics sharded = shardChannels.metrics();
    if (sharded == PubSubMetrics.NONE) {
      return plain;
    }
    return new PubSubSnapshot(plain.received() + sharded.received(), plain.disconnects() + sharded.disconnects(),
        plain.downtime().plus(sharded.downtime()), plain.estimatedLost() + sharded.estimatedLost());
  }

  /** Times one of the broker's connections dropped while open (each reconnects on its own). */
  public long connectionLosses() {
    return connections.losses();
  }

  /** Closes the connections (after a flush), the client, its resources and the timer; releases the consumer names. */
  @Override
  public void close() {
    try {
      for (dev.brook.redis.internal.jobs.ScheduleRunner r : java.util.List.copyOf(schedules)) {
        r.close();
      }
      Announcer a = announcer;
      if (a != null) {
        a.close();
      }
      connections.close();
    } finally {
      consumerNames.close();
    }
  }
}
