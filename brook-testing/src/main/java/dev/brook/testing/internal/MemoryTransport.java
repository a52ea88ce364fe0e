package dev.brook.testing.internal;

import dev.brook.Destination;
import dev.brook.redis.Redis;
import dev.brook.redis.internal.MemoryRedis;
import dev.brook.redis.internal.RedisDescriptions;
import dev.brook.redis.internal.RedisDestinations;
import dev.brook.redis.internal.RedisKinds;
import dev.brook.redis.internal.jobs.ScheduleRunner;
import dev.brook.redis.internal.list.ListModel;
import dev.brook.redis.internal.pubsub.PubSubModel;
import dev.brook.redis.internal.shard.ShardChannelModel;
import dev.brook.redis.internal.stream.StreamModel;
import dev.brook.spi.DestinationDescription;
import dev.brook.spi.Frame;
import dev.brook.spi.Transport;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.function.BooleanSupplier;

/**
 * Redis' delivery semantics in memory, as a {@link Transport}: what {@code TestRedisBroker} runs a
 * real broker on. Only the network and the server are replaced; the envelope is still encoded and
 * decoded, and the broker's codec, middlewares, ack policies and registry run as they do on Redis.
 *
 * <p>Each kind of destination is modelled in its own package of brook-redis, next to the code it
 * models command for command where a test can see it: {@link PubSubModel} (channels and patterns),
 * {@link ShardChannelModel} (sharded channels), {@link ListModel} (reliable and at-most-once lists), {@link StreamModel} (streams with and
 * without groups). Each model is a {@code RedisKind}, found by the destination's class as {@code
 * RedisTransport} finds its kinds ({@link RedisKinds}); they share one {@link MemoryRedis} (the
 * lock, the keyspace's WRONGTYPE between kinds, the manual clock, the messages in flight, what was
 * published). This class adds what a test needs on top: a synchronous publish waits for the
 * handlers it reached and rethrows their failures.
 *
 * <p>Thread-safe. Time moves only with {@link #advance(Duration)}. One in-memory Redis per instance,
 * unless made {@linkplain #MemoryTransport(MemoryTransport) sharing} another's.
 */
public final class MemoryTransport implements Transport, dev.brook.redis.internal.Backlogs, dev.brook.redis.internal.JobSupport {

  private final MemoryRedis redis;
  private final PubSubModel pubSub;
  private final ShardChannelModel shardChannels;
  private final ListModel lists;
  private final StreamModel streams;
  /** Every kind the in-memory Redis models, in one place. */
  private final RedisKinds kinds;
  private volatile BooleanSupplier waitForHandlers = () -> false;
  /** The schedules running on this in-memory Redis (shared with the transports sharing it), checked when the clock moves. */
  private final java.util.Set<ScheduleRunner> allSchedules;
  /** Those started through this transport: cancelled when its test broker closes. */
  private final java.util.Set<ScheduleRunner> mySchedules = java.util.concurrent.ConcurrentHashMap.newKeySet();
  private volatile boolean jobsClosed;

  /** A transport on a new in-memory Redis of its own. */
  public MemoryTransport() {
    this.redis = new MemoryRedis();
    this.pubSub = redis.add(PubSubModel::new);
    this.shardChannels = redis.add(ShardChannelModel::new);
    this.lists = redis.add(ListModel::new);
    this.streams = redis.add(StreamModel::new);
    this.kinds = new RedisKinds(List.of(pubSub.channels(), pubSub.patterns(), shardChannels, lists, streams));
    this.allSchedules = new java.util.concurrent.CopyOnWriteArraySet<>();
  }

  /**
   * A transport on the same in-memory Redis as {@code shared}: what one publishes the other's
   * consumers receive, as two brokers on one Redis server. Only the synchronous switch is its own.
   */
  public MemoryTransport(MemoryTransport shared) {
    this.redis = shared.redis;
    this.pubSub = shared.pubSub;
    this.shardChannels = shared.shardChannels;
    this.lists = shared.lists;
    this.streams = shared.streams;
    this.kinds = shared.kinds;
    this.allSchedules = shared.allSchedules;
  }

  // ---- the Transport SPI -------------------------------------------------------------------

  @Override
  public void connect() {}

  @Override
  public String describe() {
    return "memory://test";
  }

  @Override
  public void close() {}

  /** Brook's envelope, as on Redis. */
  @Override
  public Frame unwrap(byte[] raw) {
    return dev.brook.redis.internal.Envelope.decode(raw);
  }

  /** The in-memory Redis always answers while the test broker runs on it. */
  @Override
  public boolean ping(Duration timeout) {
    return true;
  }

  /** As {@code RedisBroker.backlog} on Redis, from the models. */
  @Override
  public dev.brook.redis.Backlog backlog(Destination destination, String subscriptionId) {
    kinds.of(destination, "tell the backlog of");
    if (destination instanceof dev.brook.redis.ListDestination list) {
      return lists.backlog(list, subscriptionId);
    }
    if (destination instanceof dev.brook.redis.StreamDestination stream) {
      return streams.backlog(stream, subscriptionId);
    }
    return new dev.brook.redis.Backlog(subscriptionId, destination.key(), -1, -1, -1, -1, -1, -1);
  }

  /** {@code RedisBroker.deadLetters} on the in-memory Redis: the models' dead-letter list or stream. */
  @Override
  public dev.brook.redis.internal.DeadLetterStore deadLetters(Destination destination, boolean stream, String queue,
      String deadLetterKey) {
    return stream ? streams.deadLetters(queue, deadLetterKey) : lists.deadLetters(queue, deadLetterKey);
  }

  /**
   * {@code RedisBroker.schedule} on the in-memory Redis: ticks are claimed in the model (once across
   * the brokers sharing it), on the manual clock; no timer: {@link #advance} looks at every tick it
   * passes, and registering looks once (a tick reached within the last second fires, as on Redis).
   */
  @Override
  public ScheduleRunner.Host scheduleHost() {
    return new ScheduleRunner.Host() {
      @Override
      public Long last(String name) {
        return redis.scheduleLast(name);
      }

      @Override
      public boolean claim(String name, long tick) {
        return redis.claimTick(name, tick);
      }

      @Override
      public java.util.concurrent.ScheduledExecutorService timer() {
        return null;
      }

      @Override
      public boolean isClosed() {
        return jobsClosed;
      }

      @Override
      public long now() {
        return redis.wallClock();
      }

      @Override
      public void started(ScheduleRunner runner) {
        if (jobsClosed) {
          throw new IllegalStateException("The test broker is closed: " + runner.name() + " cannot start on it.");
        }
        mySchedules.add(runner);
        allSchedules.add(runner);
      }

      @Override
      public void cancelled(ScheduleRunner runner) {
        mySchedules.remove(runner);
        allSchedules.remove(runner);
      }
    };
  }

  /** The test broker closes: the schedules started through it stop (the broker then forgets them). */
  public void closeJobs() {
    jobsClosed = true;
    for (ScheduleRunner r : List.copyOf(mySchedules)) {
      r.cancel();
    }
  }

  /** A stream group's lag in the model, as on Redis. */
  @Override
  public java.util.OptionalLong lag(Destination destination, String subscriptionId) {
    if (destination instanceof dev.brook.redis.StreamDestination stream && stream.groupName() != null) {
      long lag = streams.backlog(stream, subscriptionId).lag();
      return lag < 0 ? java.util.OptionalLong.empty() : java.util.OptionalLong.of(lag);
    }
    return java.util.OptionalLong.empty();
  }

  /** Replies travel on a channel, as on Redis; they do not count as messages in flight. */
  @Override
  public Destination replyChannel(String name) {
    redis.replyChannel(name);
    return Redis.channel(name);
  }

  @Override
  public Destination destination(String annotation, Map<String, String> attributes) {
    return RedisDestinations.of(annotation, attributes);
  }

  /** As Redis describes them; there is no server to describe. */
  @Override
  public DestinationDescription describe(Destination destination) {
    return RedisDescriptions.describe(destination);
  }

  @Override
  public Consumer consumer(Destination destination, String subscriptionId, Sink sink) {
    return kinds.consumer(destination, subscriptionId, sink);
  }

  @Override
  public CompletableFuture<Void> send(Destination destination, Frame frame) {
    return sendBatch(destination, List.of(frame));
  }

  /** A publish with options: the model decides (kept until due, dropped as a duplicate, or written now). */
  @Override
  public CompletableFuture<dev.brook.PublishResult> send(Destination destination, Frame frame,
      dev.brook.PublishOptions options) {
    CompletableFuture<dev.brook.PublishResult> sent = kinds.send(destination, frame, options);
    if (sent.isCompletedExceptionally() || !waitForHandlers.getAsBoolean() || onWorkerThread()) {
      return sent;
    }
    Throwable failure;
    try {
      failure = redis.awaitQuiet(Duration.ofSeconds(30));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return CompletableFuture.failedFuture(e);
    }
    rethrow(failure);
    return sent;
  }

  /** Whether a publish from outside Brook's worker threads waits until the handlers it reached are done. */
  public void waitsForHandlers(BooleanSupplier synchronous) {
    this.waitForHandlers = synchronous;
  }

  @Override
  public CompletableFuture<Void> sendBatch(Destination destination, List<Frame> frames) {
    CompletableFuture<Void> sent = kinds.sendBatch(destination, frames);
    if (sent.isCompletedExceptionally()) {
      return sent; // as Redis answers the RPUSH or XADD (WRONGTYPE)
    }
    if (waitForHandlers.getAsBoolean() && !onWorkerThread()) {
      Throwable failure;
      try {
        failure = redis.awaitQuiet(Duration.ofSeconds(30));
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return CompletableFuture.failedFuture(e);
      }
      rethrow(failure);
    }
    return CompletableFuture.completedFuture(null);
  }

  /**
   * Every message in order, each run to one destination as one batch, as Redis takes pipelined
   * commands (a failed one does not stop the others); then, like a synchronous publish, waits once for the handlers they reached.
   */
  @Override
  public CompletableFuture<Void> sendPipeline(List<Destination> destinations, List<Frame> frames) {
    Throwable first = null;
    int n = frames.size();
    for (int start = 0; start < n; ) {
      Destination destination = destinations.get(start);
      int end = start + 1;
      while (end < n && destinations.get(end).equals(destination)) {
        end++; // a run to one destination arrives together, as one RPUSH does on Redis
      }
      CompletableFuture<Void> sent;
      try {
        sent = kinds.sendBatch(destination, frames.subList(start, end));
      } catch (RuntimeException e) {
        sent = CompletableFuture.failedFuture(e);
      }
      if (sent.isCompletedExceptionally() && first == null) {
        first = sent.exceptionNow();
      }
      start = end;
    }
    if (waitForHandlers.getAsBoolean() && !onWorkerThread()) {
      Throwable failure;
      try {
        failure = redis.awaitQuiet(Duration.ofSeconds(30));
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return CompletableFuture.failedFuture(e);
      }
      if (first == null) {
        rethrow(failure);
      }
    }
    return first == null ? CompletableFuture.completedFuture(null) : CompletableFuture.failedFuture(first);
  }

  /**
   * True on Brook's own threads (a handler, a reply worker): there a synchronous publish must not
   * wait for the handlers it reaches, since it would wait for the very handler that publishes.
   */
  public static boolean onWorkerThread() {
    return Thread.currentThread().getName().startsWith("brook-");
  }

  /** Throws a handler's failure to the test: unchecked as it is, checked wrapped. */
  public static void rethrow(Throwable failure) {
    if (failure == null) {
      return;
    }
    if (failure instanceof RuntimeException r) {
      throw r;
    }
    if (failure instanceof Error e) {
      throw e;
    }
    throw new dev.brook.testing.TestRedisBroker.HandlerFailedException(failure);
  }

  // ---- inspection and control (TestRedisBroker) --------------------------------------------

  /** Every message published to a destination key, in order, as the receivers would decode it. */
  public List<Frame> published(String destinationKey) {
    return redis.published(destinationKey);
  }

  /** The items of a list key (a queue, a processing list or a dead letter), head first, as raw values. */
  public List<byte[]> list(String key) {
    return lists.items(key);
  }

  /** Entries of a stream (or dead-letter stream) by id, decoded. */
  public Map<String, Frame> streamEntries(String name) {
    return streams.entries(name);
  }

  /**
   * A raw command, as another client (an operator, a non-Brook producer) would send it to Redis:
   * {@code XGROUP CREATE key group id [MKSTREAM]}, {@code XADD key * field value...}, {@code RPUSH
   * key value...}, {@code PUBLISH channel message}, {@code SPUBLISH shardchannel message}, {@code DEL key...}. Values are stored as they
   * are, not in Brook's envelope. Answers as Redis does; fails for any other command.
   */
  public Object command(String... args) {
    if (args.length == 0) {
      throw new IllegalArgumentException("command needs at least a name");
    }
    String name = args[0].toUpperCase(java.util.Locale.ROOT);
    return switch (name) {
      case "XGROUP" -> {
        if (args.length < 5 || !args[1].equalsIgnoreCase("CREATE")) {
          throw unsupported(args);
        }
        boolean mkstream = args.length > 5 && args[5].equalsIgnoreCase("MKSTREAM");
        streams.createGroup(args[2], args[3], args[4], mkstream);
        yield "OK";
      }
      case "XADD" -> {
        int first = args.length > 2 && args[2].equals("*") ? 3 : 2;
        if (args.length < first + 2 || (args.length - first) % 2 != 0) {
          throw unsupported(args);
        }
        Map<byte[], byte[]> fields = new java.util.LinkedHashMap<>();
        for (int i = first; i < args.length; i += 2) {
          fields.put(utf8(args[i]), utf8(args[i + 1]));
        }
        yield streams.addRaw(args[1], fields);
      }
      case "RPUSH" -> {
        List<byte[]> values = new java.util.ArrayList<>();
        for (int i = 2; i < args.length; i++) {
          values.add(utf8(args[i]));
        }
        yield lists.pushRaw(args[1], values);
      }
      case "PUBLISH" -> {
        if (args.length != 3) {
          throw unsupported(args);
        }
        yield pubSub.publishRaw(args[1], utf8(args[2]));
      }
      case "SPUBLISH" -> {
        if (args.length != 3) {
          throw unsupported(args);
        }
        yield shardChannels.publishRaw(args[1], utf8(args[2]));
      }
      case "DEL" -> {
        long n = 0;
        for (int i = 1; i < args.length; i++) {
          n += streams.delete(args[i]) || lists.delete(args[i]) ? 1 : 0;
        }
        yield n;
      }
      default -> throw unsupported(args);
    };
  }

  private static IllegalArgumentException unsupported(String[] args) {
    return new IllegalArgumentException("The in-memory Redis does not run " + String.join(" ", args) + ": it knows "
        + "XGROUP CREATE key group id [MKSTREAM], XADD key * field value..., RPUSH key value..., PUBLISH channel "
        + "message, SPUBLISH shardchannel message and DEL key.... Run the test on a RedisServer for others.");
  }

  private static byte[] utf8(String s) {
    return s.getBytes(java.nio.charset.StandardCharsets.UTF_8);
  }

  /** Pending entries of a group, oldest first: entry id → delivery count. */
  public Map<String, Long> pending(String stream, String group) {
    return streams.pending(stream, group);
  }

  /**
   * Moves the clock: live stream consumers take over entries idle at least their {@code minIdle},
   * and reliable list consumers whose heartbeat period passed take back abandoned processing lists.
   */
  public void advance(Duration duration) {
    long from = redis.wallClock();
    redis.advance(duration);
    long to = redis.wallClock();
    // Outside the model's lock: a tick's publish is synchronous and waits for the handlers it reaches.
    for (ScheduleRunner r : allSchedules) {
      r.checkThrough(from, to);
    }
  }

  /**
   * Waits until no delivered message is still being processed, leaving handler failures as they
   * are; false when the timeout passed first.
   */
  public boolean awaitIdle(Duration timeout) throws InterruptedException {
    return redis.awaitIdle(timeout);
  }

  /**
   * Waits until every message delivered so far has been processed (transitively), then returns and
   * forgets the handler failures seen meanwhile.
   *
   * @return the first handler failure, or null
   */
  public Throwable awaitQuiet(Duration timeout) throws InterruptedException {
    return redis.awaitQuiet(timeout);
  }

  @Override
  public String toString() {
    return "MemoryTransport[" + describe() + "]";
  }
}
