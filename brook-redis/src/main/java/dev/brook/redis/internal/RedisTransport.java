package dev.brook.redis.internal;

import dev.brook.BrookException;
import dev.brook.Destination;
import dev.brook.spi.Frame;
import dev.brook.spi.Transport;
import dev.brook.redis.ChannelDestination;
import dev.brook.redis.ListDestination;
import dev.brook.redis.StreamDestination;
import dev.brook.redis.PatternDestination;
import io.lettuce.core.ClientOptions;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisCommandTimeoutException;
import io.lettuce.core.RedisConnectionException;
import io.lettuce.core.RedisConnectionStateListener;
import io.lettuce.core.RedisException;
import io.lettuce.core.RedisFuture;
import io.lettuce.core.RedisURI;
import io.lettuce.core.SocketOptions;
import io.lettuce.core.SslOptions;
import io.lettuce.core.TimeoutOptions;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.codec.ByteArrayCodec;
import io.lettuce.core.event.DefaultEventPublisherOptions;
import io.lettuce.core.metrics.CommandLatencyRecorder;
import io.lettuce.core.pubsub.StatefulRedisPubSubConnection;
import io.lettuce.core.resource.ClientResources;
import io.lettuce.core.resource.DefaultClientResources;
import io.lettuce.core.resource.Delay;
import io.lettuce.core.resource.Transports;
import io.netty.resolver.AddressResolverGroup;
import io.netty.resolver.dns.DefaultDnsCache;
import io.netty.resolver.dns.DefaultDnsCnameCache;
import io.netty.resolver.dns.DnsAddressResolverGroup;
import io.netty.resolver.dns.DnsNameResolverBuilder;
import io.netty.resolver.dns.DnsNameResolverChannelStrategy;
import io.netty.util.concurrent.DefaultThreadFactory;
import java.net.ConnectException;
import java.net.SocketAddress;
import java.net.UnknownHostException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLException;
import java.util.concurrent.locks.ReentrantLock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Brook's Redis transport on Lettuce: one command connection for publishing and one shared
 * Pub/Sub connection (opened at the first channel or pattern subscription).
 *
 * <p>Ownership: the transport creates its own {@link ClientResources} (event loops named {@code
 * brook-...}) and {@link RedisClient} and shuts both down in {@link #close()}, so a closed broker
 * leaves no thread, connection or socket behind (its DNS resolver included). Connecting is lazy,
 * idempotent and thread-safe; a failed connect releases what it created.
 *
 * <p>Locking: {@code lock} guards the fields and is never held across I/O. The first {@link
 * #connect()} connects while concurrent callers wait on its future; the Pub/Sub connection is
 * opened the same way; consumers' connections are opened concurrently and registered afterwards.
 * {@link #close()} first stops intake (nothing is registered after it), so a connection that was
 * being opened meanwhile is closed by whoever opened it, who then gets the same "closed" error; and
 * closing shuts the client down, which ends a connect in progress instead of waiting for its timeout.
 *
 * <p>Faults: every connection reconnects on its own (back-off from 10 ms doubling to 1 s, so a
 * Redis that is back is found within about a second). While a connection is down its commands wait
 * in a queue bounded by {@code requestQueueSize}, each at most {@code commandTimeout}; a publish
 * that does not get through in that time, or finds the queue full, fails with a {@link
 * BrookException} naming the destination, the server and the fix; nothing is dropped silently, and
 * a timed-out command is never sent later. The shared Pub/Sub connection and the consumers'
 * dedicated connections are told about reconnects ({@link PubSubHub#reconnected}, the consumers'
 * callbacks), so Pub/Sub gaps are reported and at-least-once consumers look again for messages
 * Redis handed them while the reply was lost.
 */
public final class RedisTransport implements Transport {

  private static final Logger LOG = LoggerFactory.getLogger("dev.brook.redis.Connection");

  private final RedisURI uri;
  private final String masked;
  private final TransportOptions options;
  private final Duration connectTimeout;
  private final Duration commandTimeout;

  /** Guards the fields below; never held across I/O. */
  private final ReentrantLock lock = new ReentrantLock();
  private volatile boolean connected;
  private volatile boolean closed;
  /** The connect in progress or done; null before the first and after a failed one (the next retries). */
  private CompletableFuture<Void> connecting;
  private AddressResolverGroup<?> resolver;
  private ClientResources resources;
  private java.util.Set<Thread> resourceThreads;
  private RedisClient client;
  private volatile StatefulRedisConnection<byte[], byte[]> connection;
  /** The Pub/Sub connection being opened or open; null before and after a failed attempt. */
  private CompletableFuture<PubSubHub> hubOpening;
  private volatile PubSubHub hub;
  /**
   * Connections of List and Stream consumers, which block, with what to run when one reconnects;
   * closed with the transport.
   */
  private final Map<StatefulRedisConnection<byte[], byte[]>, Runnable> dedicated = new ConcurrentHashMap<>();
  private volatile boolean disconnectLogged;
  /** Names of this broker's List and Stream consumers in Redis; released by close. */
  private final ConsumerNames consumerNames = new ConsumerNames();
  /** {@link #timer()}: created at first use, shut down by close. */
  private java.util.concurrent.ScheduledThreadPoolExecutor timer;
  private boolean timerStopped;

  public RedisTransport(RedisURI uri, String maskedUrl, TransportOptions options) {
    this.uri = uri;
    this.masked = maskedUrl;
    this.options = options;
    this.connectTimeout = options.connectTimeout();
    this.commandTimeout = options.commandTimeout();
    uri.setClientName(options.clientName());
    uri.setTimeout(commandTimeout);
  }

  /** Received values larger than this are rejected unread. */
  int maxMessageSize() {
    return options.maxMessageSize();
  }

  /** Replies travel on a Pub/Sub channel of this name. */
  @Override
  public Destination replyChannel(String name) {
    return dev.brook.redis.Redis.channel(name);
  }

  /** The destination an annotation names ({@code @Subscribe(list = "jobs")}). */
  @Override
  public Destination destination(String annotation, java.util.Map<String, String> attributes) {
    return RedisDestinations.of(annotation, attributes);
  }

  @Override
  public String describe() {
    return masked;
  }

  /** For documentation: see {@link RedisDescriptions}. */
  @Override
  public dev.brook.spi.DestinationDescription describe(Destination destination) {
    return RedisDescriptions.describe(destination);
  }

  @Override
  public java.util.Optional<dev.brook.spi.ServerDescription> describeServer() {
    return java.util.Optional.of(RedisDescriptions.server(masked));
  }

  @Override
  public void connect() {
    if (connected) {
      return;
    }
    CompletableFuture<Void> attempt;
    boolean mine;
    lock.lock();
    try {
      if (closed) {
        throw closedError();
      }
      mine = connecting == null;
      if (mine) {
        connecting = new CompletableFuture<>();
      }
      attempt = connecting;
    } finally {
      lock.unlock();
    }
    if (!mine) {
      await(attempt); // the first caller's connect, not the lock: bounded by connectTimeout, ended by close()
      return;
    }
    try {
      open();
      attempt.complete(null);
    } catch (RuntimeException e) {
      lock.lock();
      try {
        if (connecting == attempt) {
          connecting = null;
        }
      } finally {
        lock.unlock();
      }
      attempt.completeExceptionally(e);
      throw e;
    }
  }

  /**
   * Creates the client (no I/O), registers it so {@link #close()} can shut it down, then connects
   * outside the lock.
   */
  private void open() {
    AddressResolverGroup<?> newResolver = newResolver();
    java.util.Set<Thread> threads = ConcurrentHashMap.newKeySet();
    ClientResources newResources = DefaultClientResources.builder()
        .threadFactoryProvider(pool -> {
          java.util.concurrent.ThreadFactory named = new DefaultThreadFactory("brook-" + pool.replace("lettuce-", ""), true);
          return task -> {
            Thread t = named.newThread(task);
            threads.add(t); // joined at release: close returns when they have ended, not just been told to
            return t;
          };
        })
        .ioThreadPoolSize(2)
        .computationThreadPoolSize(1)
        .commandLatencyRecorder(CommandLatencyRecorder.disabled())
        .commandLatencyPublisherOptions(DefaultEventPublisherOptions.disabled())
        // Lettuce's default grows to 30 s: a Redis back after a few seconds would wait that long.
        .reconnectDelay(Delay.exponential(Duration.ofMillis(10), Duration.ofSeconds(1), 2, TimeUnit.MILLISECONDS))
        .nettyCustomizer(new ConsolidatedFlushes())
        .addressResolverGroup(newResolver)
        .build();
    RedisClient newClient = RedisClient.create(newResources);
    ClientOptions.Builder clientOptions = ClientOptions.builder()
        .autoReconnect(true)
        // While reconnecting, commands wait (bounded by requestQueueSize, each at most commandTimeout).
        .disconnectedBehavior(ClientOptions.DisconnectedBehavior.ACCEPT_COMMANDS)
        .requestQueueSize(options.requestQueueSize())
        .socketOptions(SocketOptions.builder().connectTimeout(connectTimeout).keepAlive(true).build())
        .timeoutOptions(TimeoutOptions.enabled(commandTimeout));
    Owned created = new Owned(newResolver, newClient, newResources, threads);
    try {
      if (options.caCertificate() != null) {
        clientOptions.sslOptions(SslOptions.builder().jdkSslProvider().trustManager(options.caCertificate().toFile()).build());
      }
      newClient.setOptions(clientOptions.build());
      newClient.addListener(new ConnectionLog());
    } catch (RuntimeException e) {
      created.release(masked);
      throw e;
    }
    boolean accepted;
    lock.lock();
    try {
      accepted = !closed;
      if (accepted) {
        resolver = newResolver;
        client = newClient;
        resources = newResources;
        resourceThreads = threads;
      }
    } finally {
      lock.unlock();
    }
    if (!accepted) {
      created.release(masked);
      throw closedError();
    }
    StatefulRedisConnection<byte[], byte[]> opened;
    try {
      opened = newClient.connect(ByteArrayCodec.INSTANCE, uri);
    } catch (RuntimeException e) {
      if (closed) {
        throw closedError(); // close() shut the client down under this connect, and released it
      }
      BrookException failure = connectFailure(e, newClient);
      Owned mine = null;
      lock.lock();
      try {
        if (client == newClient) {
          mine = takeClient();
        }
      } finally {
        lock.unlock();
      }
      if (mine != null) {
        mine.release(masked);
      }
      throw failure;
    }
    register(opened, () -> {
      connection = opened;
      connected = true;
    });
  }

  /**
   * Runs {@code publish} under the lock unless the transport was closed meanwhile; then closes the
   * connection just opened (close() did not see it) and throws the "closed" error.
   */
  private void register(io.lettuce.core.api.StatefulConnection<?, ?> opened, Runnable publish) {
    boolean late;
    lock.lock();
    try {
      late = closed;
      if (!late) {
        publish.run();
      }
    } finally {
      lock.unlock();
    }
    if (late) {
      try {
        opened.close();
      } catch (RuntimeException e) {
        LOG.debug("Closing a connection to {} opened during close failed", masked, e);
      }
      throw closedError();
    }
  }

  private IllegalStateException closedError() {
    return new IllegalStateException("Broker " + masked + " is closed; create a new one.");
  }

  /** The client, once connected; throws the "closed" error after close(). */
  private RedisClient connectedClient() {
    connect();
    lock.lock();
    try {
      if (closed || client == null) {
        throw closedError();
      }
      return client;
    } finally {
      lock.unlock();
    }
  }

  /** Waits for another thread's attempt and throws what it threw. */
  private static <T> T await(CompletableFuture<T> attempt) {
    try {
      return attempt.join();
    } catch (CompletionException e) {
      throw e.getCause() instanceof RuntimeException r ? r : e;
    }
  }

  /**
   * Lettuce's default resolver group is one per JVM: it keeps a DNS resolver, with a UDP socket, for
   * each event loop it has seen and closes it when that loop has ended, too late for the close to
   * run, so every broker left sockets behind. This group is the transport's and is closed while its
   * event loops still run. It opens a socket per lookup, closed when the lookup is done, not one per
   * event loop: an IP address or a name in /etc/hosts needs none. Otherwise Lettuce's settings
   * (native transport, caches).
   */
  private static AddressResolverGroup<?> newResolver() {
    return new DnsAddressResolverGroup(new DnsNameResolverBuilder()
        .datagramChannelType(Transports.datagramChannelClass())
        .socketChannelType(Transports.socketChannelClass().asSubclass(io.netty.channel.socket.SocketChannel.class))
        .datagramChannelStrategy(DnsNameResolverChannelStrategy.ChannelPerResolution)
        .cnameCache(new DefaultDnsCnameCache())
        .resolveCache(new DefaultDnsCache()));
  }

  /** Opens the shared Pub/Sub connection once; concurrent callers wait for the first one's. */
  private PubSubHub hub() {
    PubSubHub h = hub;
    if (h != null) {
      return h;
    }
    RedisClient c = connectedClient();
    CompletableFuture<PubSubHub> attempt;
    boolean mine;
    lock.lock();
    try {
      if (closed) {
        throw closedError();
      }
      mine = hubOpening == null;
      if (mine) {
        hubOpening = new CompletableFuture<>();
      }
      attempt = hubOpening;
    } finally {
      lock.unlock();
    }
    if (!mine) {
      return await(attempt);
    }
    try {
      StatefulRedisPubSubConnection<byte[], byte[]> pubsub;
      try {
        pubsub = c.connectPubSub(ByteArrayCodec.INSTANCE, uri);
      } catch (RuntimeException e) {
        throw closed ? closedError() : connectFailure(e, c);
      }
      PubSubHub created = new PubSubHub(pubsub, masked, options.maxMessageSize());
      register(pubsub, () -> hub = created);
      attempt.complete(created);
      return created;
    } catch (RuntimeException e) {
      lock.lock();
      try {
        if (hubOpening == attempt) {
          hubOpening = null;
        }
      } finally {
        lock.unlock();
      }
      attempt.completeExceptionally(e);
      throw e;
    }
  }

  @Override
  public Consumer consumer(Destination destination, String subscriptionId, Sink sink) {
    if (destination instanceof ChannelDestination channel) {
      return lazy(() -> hub().channelConsumer(channel.name(), sink));
    }
    if (destination instanceof PatternDestination pattern) {
      return lazy(() -> hub().patternConsumer(pattern, sink));
    }
    if (destination instanceof ListDestination list) {
      return new ListConsumer(this, list, subscriptionId, sink, commandTimeout);
    }
    if (destination instanceof StreamDestination stream) {
      return new StreamConsumer(this, stream, subscriptionId, sink, commandTimeout);
    }
    throw unsupported(destination, "subscribe to");
  }

  /** Opens the Pub/Sub connection at start, not when the subscription is declared. */
  private static Consumer lazy(java.util.function.Supplier<Consumer> factory) {
    return new Consumer() {
      private Consumer delegate;

      @Override
      public void start() {
        delegate = factory.get();
        delegate.start();
      }

      @Override
      public void stop() {
        if (delegate != null) {
          delegate.stop();
        }
      }
    };
  }

  @Override
  public CompletableFuture<Void> send(Destination destination, Frame frame) {
    if (destination instanceof ChannelDestination channel) {
      byte[] value = encode(destination, frame);
      return published(destination, connection.async().publish(channel.nameBytes(), value));
    }
    if (destination instanceof ListDestination list) {
      byte[] value = encode(destination, frame);
      return published(destination, connection.async().rpush(ListConsumer.bytes(list.name()), value));
    }
    if (destination instanceof StreamDestination stream) {
      return published(destination, xadd(stream, frame));
    }
    if (destination instanceof PatternDestination) {
      throw new IllegalArgumentException("Cannot publish to " + destination.key()
          + ": a pattern is for subscribing. Publish to a channel, e.g. channel(\"logs.error\").");
    }
    throw unsupported(destination, "publish to");
  }

  private RedisFuture<String> xadd(StreamDestination stream, Frame frame) {
    byte[] value = encode(stream, frame);
    io.lettuce.core.XAddArgs args = new io.lettuce.core.XAddArgs();
    if (stream.maxLength() > 0) {
      args.maxlen(stream.maxLength()).approximateTrimming();
    }
    return connection.async().xadd(ListConsumer.bytes(stream.name()), args, java.util.Map.of(StreamInbound.DATA_FIELD, value));
  }

  /** The envelope, refused when a subscriber would refuse it for its size. */
  private byte[] encode(Destination destination, Frame frame) {
    byte[] value = Envelope.encode(frame.headers(), frame.payload());
    if (value.length > options.maxMessageSize()) {
      throw new BrookException("Cannot publish to " + destination.key() + ": the message is " + value.length
          + " bytes, over the maxMessageSize of " + options.maxMessageSize() + " bytes, so Brook's subscribers would reject it. "
          + "Send large data by reference (a key or a URL), or raise RedisBroker.builder().maxMessageSize(...) on every broker that reads it.");
    }
    return value;
  }

  /** Completes when Redis has the message, or fails with a BrookException that says why and what to do. */
  private CompletableFuture<Void> published(Destination destination, RedisFuture<?> sent) {
    return sent.toCompletableFuture().handle((ok, error) -> {
      if (error != null) {
        throw publishFailure(destination, error);
      }
      return null;
    });
  }

  private RuntimeException publishFailure(Destination destination, Throwable error) {
    Throwable e = error instanceof CompletionException && error.getCause() != null ? error.getCause() : error;
    StatefulRedisConnection<byte[], byte[]> c = connection;
    boolean down = c == null || !c.isOpen();
    if (e instanceof RedisCommandTimeoutException) {
      return new BrookException("Could not publish to " + destination.key() + ": " + masked + " did not answer within the "
          + "commandTimeout of " + describe(commandTimeout) + (down
              ? "; the connection is down and Brook keeps reconnecting. The message was not stored unless Redis took it "
                  + "just before the connection dropped. Check that Redis is running there and publish it again"
              : ". Redis may still store the message. Check the load on Redis")
          + "; RedisBroker.builder().commandTimeout(...) sets how long a publish waits.", e);
    }
    if (e instanceof RedisException && String.valueOf(e.getMessage()).startsWith("Request queue size exceeded")) {
      return new BrookException("Could not publish to " + destination.key() + ": " + options.requestQueueSize()
          + " commands already wait for " + masked + " (requestQueueSize)" + (down ? " while the connection is down" : "")
          + ". The message was not sent. Wait for earlier publishes to complete before sending more, or raise "
          + "RedisBroker.builder().requestQueueSize(...).", e);
    }
    if (e instanceof java.io.IOException || e instanceof RedisException && (e.getCause() instanceof java.io.IOException
        || String.valueOf(e.getMessage()).startsWith("Connection closed"))) {
      Throwable why = e instanceof RedisException && e.getCause() != null ? e.getCause() : e;
      return new BrookException("Could not publish to " + destination.key() + ": the connection to " + masked
          + " dropped while the message was on its way (" + why + "). Redis may or may not have stored it: "
          + "publish it again once Redis answers (a retry may store it twice).", e);
    }
    return e instanceof RuntimeException r ? r : new CompletionException(e);
  }

  private static String describe(Duration d) {
    long ms = d.toMillis();
    return ms % 1000 == 0 ? ms / 1000 + " s" : ms + " ms";
  }

  /** One RPUSH for a List; pipelined XADDs for a Stream; pipelined PUBLISHes for a channel. */
  @Override
  public CompletableFuture<Void> sendBatch(Destination destination, java.util.List<Frame> frames) {
    if (frames.isEmpty()) {
      return CompletableFuture.completedFuture(null);
    }
    if (destination instanceof ListDestination list) {
      byte[][] values = new byte[frames.size()][];
      for (int i = 0; i < values.length; i++) {
        values[i] = encode(destination, frames.get(i));
      }
      return published(destination, connection.async().rpush(ListConsumer.bytes(list.name()), values));
    }
    if (destination instanceof StreamDestination stream) {
      // One write for the whole batch: XADDs dispatched together rather than flushed one by one.
      byte[] key = ListConsumer.bytes(stream.name());
      java.util.List<io.lettuce.core.protocol.RedisCommand<byte[], byte[], ?>> commands = new java.util.ArrayList<>(frames.size());
      CompletableFuture<?>[] futures = new CompletableFuture<?>[frames.size()];
      for (int i = 0; i < futures.length; i++) {
        io.lettuce.core.protocol.CommandArgs<byte[], byte[]> args = new io.lettuce.core.protocol.CommandArgs<>(ByteArrayCodec.INSTANCE).addKey(key);
        if (stream.maxLength() > 0) {
          args.add("MAXLEN").add("~").add(stream.maxLength());
        }
        args.add("*").add(StreamInbound.DATA_FIELD).addValue(encode(destination, frames.get(i)));
        io.lettuce.core.protocol.AsyncCommand<byte[], byte[], String> command = new io.lettuce.core.protocol.AsyncCommand<>(
            new io.lettuce.core.protocol.Command<>(io.lettuce.core.protocol.CommandType.XADD,
                new io.lettuce.core.output.StatusOutput<>(ByteArrayCodec.INSTANCE), args));
        commands.add(command);
        futures[i] = command;
      }
      connection.dispatch(commands);
      return CompletableFuture.allOf(futures).handle((ok, error) -> {
        if (error != null) {
          throw publishFailure(destination, error instanceof java.util.concurrent.CompletionException c && c.getCause() != null ? c.getCause() : error);
        }
        return null;
      });
    }
    return Transport.super.sendBatch(destination, frames);
  }

  /** Consumer names in Redis, and the check that this broker's live consumers do not share one. */
  ConsumerNames consumerNames() {
    return consumerNames;
  }

  /**
   * One platform thread ({@code brook-timer}, daemon) for this broker's periodic and delayed work —
   * List heartbeats, the back-off of nacked List items. A platform thread, so CPU-bound handlers
   * that keep every virtual-thread carrier busy cannot delay a heartbeat until its key expires.
   * Tasks must be short and must not block (they send asynchronous commands). Created at first use;
   * {@link #close()} shuts it down.
   */
  synchronized java.util.concurrent.ScheduledExecutorService timer() {
    if (timer == null) {
      if (timerStopped) {
        throw new IllegalStateException("Broker " + masked + " is closed; create a new one.");
      }
      timer = new java.util.concurrent.ScheduledThreadPoolExecutor(1,
          Thread.ofPlatform().name("brook-timer").daemon(true).factory());
      timer.setRemoveOnCancelPolicy(true);
      timer.setExecuteExistingDelayedTasksAfterShutdownPolicy(false);
    }
    return timer;
  }

  private void stopTimer() {
    java.util.concurrent.ScheduledThreadPoolExecutor t;
    synchronized (this) {
      t = timer;
      timer = null;
      timerStopped = true;
    }
    if (t != null) {
      t.shutdownNow();
      try {
        t.awaitTermination(2, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }

  /** The shared command connection's async API (settlement, heartbeats); non-blocking commands only. */
  io.lettuce.core.api.async.RedisAsyncCommands<byte[], byte[]> commands() {
    return connection.async();
  }

  /** The shared command connection's sync API; non-blocking commands only. */
  io.lettuce.core.api.sync.RedisCommands<byte[], byte[]> syncCommands() {
    return connection.sync();
  }

  /**
   * A new connection for one consumer's blocking reads; close it with {@link #closeDedicated}.
   *
   * @param onReconnect runs on a Lettuce I/O thread each time the connection is back after a loss;
   *     it must only set a flag
   */
  StatefulRedisConnection<byte[], byte[]> dedicatedConnection(Runnable onReconnect) {
    RedisClient c = connectedClient();
    StatefulRedisConnection<byte[], byte[]> opened;
    try {
      opened = c.connect(ByteArrayCodec.INSTANCE, uri); // outside the lock: consumers connect concurrently
    } catch (RuntimeException e) {
      throw closed ? closedError() : connectFailure(e, c);
    }
    register(opened, () -> dedicated.put(opened, onReconnect));
    return opened;
  }

  void closeDedicated(StatefulRedisConnection<byte[], byte[]> c) {
    if (dedicated.remove(c) != null) {
      c.closeAsync();
    }
  }

  private static IllegalArgumentException unsupported(Destination destination, String action) {
    return new IllegalArgumentException("RedisBroker cannot " + action + " " + destination.key() + " ("
        + destination.getClass().getName() + "). Use a destination from dev.brook.redis.Redis: channel, pattern, list or stream.");
  }

  /**
   * Once, in order: stops intake (nothing is registered after this; connections opened meanwhile
   * are closed by their openers), flushes the command connection, then closes the connections, the
   * DNS resolver, the client and the resources, all outside the lock.
   */
  @Override
  public void close() {
    lock.lock();
    try {
      if (closed) {
        return;
      }
      closed = true;
      connected = false;
    } finally {
      lock.unlock();
    }
    try {
      closeConnections();
    } finally {
      consumerNames.close();
      stopTimer();
    }
  }

  private void closeConnections() {
    flush();
    List<AutoCloseable> connections = new ArrayList<>();
    Owned owned;
    lock.lock();
    try {
      connections.addAll(dedicated.keySet());
      dedicated.clear();
      if (hub != null) {
        connections.add(hub::close);
      }
      if (connection != null) {
        connections.add(connection);
      }
      hub = null;
      connection = null;
      owned = takeClient();
    } finally {
      lock.unlock();
    }
    for (AutoCloseable c : connections) {
      try {
        c.close();
      } catch (Exception e) {
        LOG.debug("Closing a connection to {} failed", masked, e);
      }
    }
    owned.release(masked);
  }

  /** Takes the client, its resolver and resources out of the fields; call under the lock. */
  private Owned takeClient() {
    Owned owned = new Owned(resolver, client, resources, resourceThreads);
    resolver = null;
    client = null;
    resources = null;
    resourceThreads = null;
    return owned;
  }

  /**
   * Waits (at most a second) until Redis has answered every command sent so far on the command
   * connection — acknowledgements and give-backs of the subscriptions just stopped — by sending a
   * PING behind them: replies come in order. Closing without it could cut them off.
   */
  private void flush() {
    StatefulRedisConnection<byte[], byte[]> c = connection;
    if (c == null || !c.isOpen()) {
      return;
    }
    try {
      c.async().ping().get(Math.min(1_000, commandTimeout.toMillis()), TimeUnit.MILLISECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (Exception e) {
      LOG.debug("Flushing the command connection to {} before closing failed", masked, e);
    }
  }

  /** What one connect created, released in the reverse order of creation. */
  private record Owned(AddressResolverGroup<?> resolver, RedisClient client, ClientResources resources,
      java.util.Set<Thread> threads) {

    void release(String masked) {
      // The resolver first, while the event loops still run its close; the client's shutdown ends them.
      if (resolver != null) {
        try {
          resolver.close();
        } catch (RuntimeException e) {
          LOG.debug("Closing the DNS resolver for {} failed", masked, e);
        }
      }
      try {
        if (client != null) {
          client.shutdown(0, 2, TimeUnit.SECONDS);
        }
      } catch (RuntimeException e) {
        LOG.debug("Shutting down the client for {} failed", masked, e);
      } finally {
        if (resources != null) {
          try {
            resources.shutdown(0, 2, TimeUnit.SECONDS).get(5, TimeUnit.SECONDS);
          } catch (Exception e) {
            if (e instanceof InterruptedException) {
              Thread.currentThread().interrupt();
            }
            LOG.warn("Lettuce resources for {} did not shut down cleanly: {}", masked, e.toString());
          }
        }
        joinAll(threads, masked);
      }
    }

    /** Waits (at most 2 s in all) for the threads of shut-down resources to end. */
    private static void joinAll(java.util.Set<Thread> threads, String masked) {
      if (threads == null) {
        return;
      }
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(2);
      for (Thread t : threads) {
        if (t == Thread.currentThread()) {
          continue;
        }
        long left = deadline - System.nanoTime();
        try {
          if (left <= 0 || !t.join(Duration.ofNanos(left))) {
            LOG.warn("Thread {} of the connection to {} did not end within 2 s of closing.", t.getName(), masked);
          }
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          return;
        }
      }
    }
  }

  private BrookException connectFailure(RuntimeException e, RedisClient c) {
    Throwable root = e;
    Throwable refused = null;
    Throwable unknownHost = null;
    Throwable tls = null;
    while (true) {
      if (root instanceof ConnectException && refused == null) {
        refused = root;
      } else if (root instanceof UnknownHostException && unknownHost == null) {
        unknownHost = root;
      } else if (root instanceof SSLException && tls == null) {
        tls = root;
      }
      if (root.getCause() == null || root.getCause() == root) {
        break;
      }
      root = root.getCause();
    }
    String text = String.valueOf(root.getMessage());
    if (text.contains("DB index is out of range")) {
      return noSuchDatabase(text, c, e);
    }
    if (text.startsWith("WRONGPASS")) {
      return new BrookException("Redis at " + masked + " rejected the credentials (" + text
          + "). Check the user and password in the URL: redis://user:password@host:port.", e);
    }
    if (text.startsWith("NOAUTH")) {
      return new BrookException("Redis at " + masked + " requires authentication (" + text
          + "). Put the user and password in the URL: redis://user:password@host:port.", e);
    }
    if (text.startsWith("NOPERM")) {
      return new BrookException("Redis at " + masked + " refused a command Brook needs to connect (" + text
          + "). Grant the URL's user the commands it uses, e.g. ACL SETUSER <user> +@all ~* &*.", e);
    }
    String reason;
    String fix = "Start redis-server there or pass another URL.";
    if (tls != null) {
      reason = "TLS handshake failed: " + tls.getMessage();
      fix = "Check that the server speaks TLS on that port (rediss://) and that its certificate is signed by a CA you "
          + "trust: RedisBroker.builder().caCertificate(Path) takes the CA's PEM file.";
    } else if (refused != null) {
      reason = "connection refused";
    } else if (unknownHost != null) {
      reason = "unknown host";
      fix = "Check the host name in the URL.";
    } else if (root.getClass().getSimpleName().contains("Timeout") || text.contains("timed out")) {
      reason = "no answer within " + connectTimeout.toMillis() + " ms";
    } else if (!(e instanceof RedisConnectionException)) {
      reason = e.getClass().getSimpleName() + ": " + text;
    } else {
      reason = text;
    }
    return new BrookException("No Redis at " + masked + " (" + reason + "). " + fix, e);
  }

  /**
   * Redis refused the URL's database number: says so with how many databases it has, asked on
   * database 0 ({@code CONFIG GET databases}); without that count when Redis does not tell.
   */
  private BrookException noSuchDatabase(String redisSays, RedisClient c, RuntimeException e) {
    int db = uri.getDatabase();
    String count = null;
    try (StatefulRedisConnection<String, String> probe = c.connect(io.lettuce.core.codec.StringCodec.UTF8,
        RedisURI.builder(uri).withDatabase(0).build())) {
      count = probe.sync().configGet("databases").get("databases");
    } catch (RuntimeException notTold) {
      LOG.debug("Could not ask {} how many databases it has", masked, notTold);
    }
    if (count != null && count.matches("\\d+")) {
      int n = Integer.parseInt(count);
      return new BrookException("Redis at " + masked + " has no database " + db + " (it has " + n + " databases: 0.."
          + (n - 1) + "); use a database number below " + n + " in the URL, or raise `databases` in redis.conf.", e);
    }
    return new BrookException("Redis at " + masked + " has no database " + db + " (Redis says: " + redisSays
        + "); use a lower database number in the URL, or raise `databases` in redis.conf.", e);
  }

  /** What the shared Pub/Sub connection saw: messages, losses and the messages estimated lost with them. */
  public dev.brook.redis.PubSubMetrics pubSubMetrics() {
    PubSubHub h = hub;
    return h == null ? dev.brook.redis.PubSubMetrics.NONE : h.metrics();
  }

  /**
   * One WARN when a connection drops, one INFO when it is back; Lettuce reconnects and
   * resubscribes. Tells the Pub/Sub hub and the consumers about their own connection's losses.
   * Runs on Lettuce I/O threads: only logs and sets flags.
   */
  private final class ConnectionLog implements RedisConnectionStateListener {
    @Override
    public void onRedisConnected(io.lettuce.core.RedisChannelHandler<?, ?> connection, SocketAddress address) {
      PubSubHub h = hub;
      if (h != null && h.owns(connection)) {
        h.reconnected();
      }
      Runnable onReconnect = dedicated.get(connection);
      if (onReconnect != null) {
        onReconnect.run();
      }
      if (disconnectLogged) {
        disconnectLogged = false;
        LOG.info("Reconnected to {}; channels and patterns are subscribed again.", masked);
      }
    }

    @Override
    public void onRedisDisconnected(io.lettuce.core.RedisChannelHandler<?, ?> connection) {
      // Lettuce reports every disconnect with isOpen() false. One Brook closes on purpose (a stopped
      // List/Stream consumer, or everything at close) is no longer registered here when it goes.
      PubSubHub h = hub;
      boolean pubsub = h != null && h.owns(connection);
      boolean ours = pubsub || connection == RedisTransport.this.connection || dedicated.containsKey(connection);
      if (closed || !ours) {
        return;
      }
      if (pubsub) {
        h.disconnected();
      }
      if (!disconnectLogged) {
        disconnectLogged = true;
        LOG.warn("Lost the connection to {}; reconnecting in the background.", masked);
      }
    }
  }

  /**
   * Lettuce flushes every command on its own: one write syscall per publish, which capped
   * pipelined publishing at a fifth of what Redis takes. With this handler first in each channel's
   * pipeline, flushes issued while the event loop is busy (commands queued from other threads,
   * settlements sent from reply callbacks) go out as one write once the loop has run its queued
   * tasks; a lone command still leaves at once, after the task that wrote it. One handler per
   * channel: Netty keeps per-channel state in it.
   */
  private static final class ConsolidatedFlushes implements io.lettuce.core.resource.NettyCustomizer {
    @Override
    public void afterChannelInitialized(io.netty.channel.Channel channel) {
      channel.pipeline().addFirst(new io.netty.handler.flush.FlushConsolidationHandler(
          io.netty.handler.flush.FlushConsolidationHandler.DEFAULT_EXPLICIT_FLUSH_AFTER_FLUSHES, true));
    }
  }
}
