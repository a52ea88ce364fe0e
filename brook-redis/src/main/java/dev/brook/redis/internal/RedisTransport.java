package dev.brook.redis.internal;

import dev.brook.BrookException;
import dev.brook.Destination;
import dev.brook.internal.Frame;
import dev.brook.internal.Transport;
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
import io.netty.util.concurrent.DefaultThreadFactory;
import java.net.ConnectException;
import java.net.SocketAddress;
import java.net.UnknownHostException;
import java.time.Duration;
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
 * leaves no thread or connection behind. Connecting is lazy, idempotent and thread-safe; a failed
 * connect releases what it created.
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

  private final ReentrantLock lock = new ReentrantLock();
  private volatile boolean connected;
  private boolean closed;
  private ClientResources resources;
  private RedisClient client;
  private volatile StatefulRedisConnection<byte[], byte[]> connection;
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
  public Destination destination(String kind, String name, String group, String consumer) {
    return RedisDestinations.of(kind, name, group, consumer);
  }

  @Override
  public String describe() {
    return masked;
  }

  @Override
  public void connect() {
    if (connected) {
      return;
    }
    lock.lock();
    try {
      if (connected) {
        return;
      }
      if (closed) {
        throw new IllegalStateException("Broker " + masked + " is closed; create a new one.");
      }
      resources = DefaultClientResources.builder()
          .threadFactoryProvider(pool -> new DefaultThreadFactory("brook-" + pool.replace("lettuce-", ""), true))
          .ioThreadPoolSize(2)
          .computationThreadPoolSize(1)
          .commandLatencyRecorder(CommandLatencyRecorder.disabled())
          .commandLatencyPublisherOptions(DefaultEventPublisherOptions.disabled())
          // Lettuce's default grows to 30 s: a Redis back after a few seconds would wait that long.
          .reconnectDelay(Delay.exponential(Duration.ofMillis(10), Duration.ofSeconds(1), 2, TimeUnit.MILLISECONDS))
          .nettyCustomizer(new ConsolidatedFlushes())
          .build();
      client = RedisClient.create(resources);
      ClientOptions.Builder clientOptions = ClientOptions.builder()
          .autoReconnect(true)
          // While reconnecting, commands wait (bounded by requestQueueSize, each at most commandTimeout).
          .disconnectedBehavior(ClientOptions.DisconnectedBehavior.ACCEPT_COMMANDS)
          .requestQueueSize(options.requestQueueSize())
          .socketOptions(SocketOptions.builder().connectTimeout(connectTimeout).keepAlive(true).build())
          .timeoutOptions(TimeoutOptions.enabled(commandTimeout));
      if (options.caCertificate() != null) {
        clientOptions.sslOptions(SslOptions.builder().jdkSslProvider().trustManager(options.caCertificate().toFile()).build());
      }
      client.setOptions(clientOptions.build());
      client.addListener(new ConnectionLog());
      try {
        connection = client.connect(ByteArrayCodec.INSTANCE, uri);
      } catch (RuntimeException e) {
        release();
        throw connectFailure(e);
      }
      connected = true;
    } finally {
      lock.unlock();
    }
  }

  private PubSubHub hub() {
    lock.lock();
    try {
      if (hub == null) {
        StatefulRedisPubSubConnection<byte[], byte[]> pubsub;
        try {
          pubsub = client.connectPubSub(ByteArrayCodec.INSTANCE, uri);
        } catch (RuntimeException e) {
          throw connectFailure(e);
        }
        hub = new PubSubHub(pubsub, masked, options.maxMessageSize());
      }
      return hub;
    } finally {
      lock.unlock();
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
    connect();
    StatefulRedisConnection<byte[], byte[]> c;
    lock.lock();
    try {
      if (closed) {
        throw new IllegalStateException("Broker " + masked + " is closed; create a new one.");
      }
      try {
        c = client.connect(ByteArrayCodec.INSTANCE, uri);
      } catch (RuntimeException e) {
        throw connectFailure(e);
      }
      dedicated.put(c, onReconnect);
    } finally {
      lock.unlock();
    }
    return c;
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

  @Override
  public void close() {
    lock.lock();
    try {
      closed = true;
      connected = false;
      flush();
      release();
    } finally {
      lock.unlock();
      consumerNames.close();
      stopTimer();
    }
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

  /** Closes connections, then the client, then the resources: the reverse of creation. */
  private void release() {
    try {
      for (StatefulRedisConnection<byte[], byte[]> c : dedicated.keySet()) {
        c.close();
      }
      dedicated.clear();
      if (hub != null) {
        hub.close();
      }
      if (connection != null) {
        connection.close();
      }
    } catch (RuntimeException e) {
      LOG.debug("Closing connections to {} failed", masked, e);
    } finally {
      hub = null;
      connection = null;
      if (client != null) {
        client.shutdown(0, 2, TimeUnit.SECONDS);
        client = null;
      }
      if (resources != null) {
        try {
          resources.shutdown(0, 2, TimeUnit.SECONDS).get(5, TimeUnit.SECONDS);
        } catch (Exception e) {
          if (e instanceof InterruptedException) {
            Thread.currentThread().interrupt();
          }
          LOG.warn("Lettuce resources for {} did not shut down cleanly: {}", masked, e.toString());
        }
        resources = null;
      }
    }
  }

  private BrookException connectFailure(RuntimeException e) {
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
