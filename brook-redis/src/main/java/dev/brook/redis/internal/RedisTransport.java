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
import io.lettuce.core.RedisConnectionException;
import io.lettuce.core.RedisConnectionStateListener;
import io.lettuce.core.RedisURI;
import io.lettuce.core.SocketOptions;
import io.lettuce.core.TimeoutOptions;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.codec.ByteArrayCodec;
import io.lettuce.core.event.DefaultEventPublisherOptions;
import io.lettuce.core.metrics.CommandLatencyRecorder;
import io.lettuce.core.pubsub.StatefulRedisPubSubConnection;
import io.lettuce.core.resource.ClientResources;
import io.lettuce.core.resource.DefaultClientResources;
import io.netty.util.concurrent.DefaultThreadFactory;
import java.net.ConnectException;
import java.net.SocketAddress;
import java.net.UnknownHostException;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
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
 */
public final class RedisTransport implements Transport {

  private static final Logger LOG = LoggerFactory.getLogger("dev.brook.redis.Connection");

  private final RedisURI uri;
  private final String masked;
  private final Duration connectTimeout;
  private final Duration commandTimeout;

  private final ReentrantLock lock = new ReentrantLock();
  private volatile boolean connected;
  private boolean closed;
  private ClientResources resources;
  private RedisClient client;
  private StatefulRedisConnection<byte[], byte[]> connection;
  private PubSubHub hub;
  /** Connections of List and Stream consumers, which block; closed with the transport. */
  private final java.util.Set<StatefulRedisConnection<byte[], byte[]>> dedicated = java.util.concurrent.ConcurrentHashMap.newKeySet();
  private volatile boolean disconnectLogged;

  public RedisTransport(RedisURI uri, String maskedUrl, String clientName, Duration connectTimeout, Duration commandTimeout) {
    this.uri = uri;
    this.masked = maskedUrl;
    this.connectTimeout = connectTimeout;
    this.commandTimeout = commandTimeout;
    uri.setClientName(clientName);
    uri.setTimeout(commandTimeout);
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
          .build();
      client = RedisClient.create(resources);
      client.setOptions(ClientOptions.builder()
          .autoReconnect(true)
          .socketOptions(SocketOptions.builder().connectTimeout(connectTimeout).keepAlive(true).build())
          .timeoutOptions(TimeoutOptions.enabled(commandTimeout))
          .build());
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
        hub = new PubSubHub(pubsub, masked);
      }
      return hub;
    } finally {
      lock.unlock();
    }
  }

  @Override
  public Consumer consumer(Destination destination, Sink sink) {
    if (destination instanceof ChannelDestination channel) {
      return lazy(() -> hub().channelConsumer(channel.name(), sink));
    }
    if (destination instanceof PatternDestination pattern) {
      return lazy(() -> hub().patternConsumer(pattern, sink));
    }
    if (destination instanceof ListDestination list) {
      return new ListConsumer(this, list, sink, commandTimeout);
    }
    if (destination instanceof StreamDestination stream) {
      return new StreamConsumer(this, stream, sink, commandTimeout);
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
      byte[] value = Envelope.encode(frame.headers(), frame.payload());
      return connection.async().publish(channel.nameBytes(), value).toCompletableFuture().thenApply(receivers -> null);
    }
    if (destination instanceof ListDestination list) {
      byte[] value = Envelope.encode(frame.headers(), frame.payload());
      return connection.async().rpush(ListConsumer.bytes(list.name()), value).toCompletableFuture().thenApply(n -> null);
    }
    if (destination instanceof StreamDestination stream) {
      return xadd(stream, frame).thenApply(id -> null);
    }
    if (destination instanceof PatternDestination) {
      throw new IllegalArgumentException("Cannot publish to " + destination.key()
          + ": a pattern is for subscribing. Publish to a channel, e.g. channel(\"logs.error\").");
    }
    throw unsupported(destination, "publish to");
  }

  private CompletableFuture<String> xadd(StreamDestination stream, Frame frame) {
    byte[] value = Envelope.encode(frame.headers(), frame.payload());
    io.lettuce.core.XAddArgs args = new io.lettuce.core.XAddArgs();
    if (stream.maxLength() > 0) {
      args.maxlen(stream.maxLength()).approximateTrimming();
    }
    return connection.async().xadd(ListConsumer.bytes(stream.name()), args, java.util.Map.of(StreamInbound.DATA_FIELD, value))
        .toCompletableFuture();
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
        values[i] = Envelope.encode(frames.get(i).headers(), frames.get(i).payload());
      }
      return connection.async().rpush(ListConsumer.bytes(list.name()), values).toCompletableFuture().thenApply(n -> null);
    }
    return Transport.super.sendBatch(destination, frames);
  }

  /** The shared command connection's async API (settlement, heartbeats); non-blocking commands only. */
  io.lettuce.core.api.async.RedisAsyncCommands<byte[], byte[]> commands() {
    return connection.async();
  }

  /** The shared command connection's sync API; non-blocking commands only. */
  io.lettuce.core.api.sync.RedisCommands<byte[], byte[]> syncCommands() {
    return connection.sync();
  }

  /** A new connection for one consumer's blocking reads; close it with {@link #closeDedicated}. */
  StatefulRedisConnection<byte[], byte[]> dedicatedConnection() {
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
      dedicated.add(c);
    } finally {
      lock.unlock();
    }
    return c;
  }

  void closeDedicated(StatefulRedisConnection<byte[], byte[]> c) {
    if (dedicated.remove(c)) {
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
      release();
    } finally {
      lock.unlock();
    }
  }

  /** Closes connections, then the client, then the resources: the reverse of creation. */
  private void release() {
    try {
      for (StatefulRedisConnection<byte[], byte[]> c : dedicated) {
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
    while (root.getCause() != null && root.getCause() != root) {
      root = root.getCause();
    }
    String text = String.valueOf(root.getMessage());
    String reason;
    String fix = "Start redis-server there or pass another URL.";
    if (root instanceof ConnectException) {
      reason = "connection refused";
    } else if (root instanceof UnknownHostException) {
      reason = "unknown host";
      fix = "Check the host name in the URL.";
    } else if (text.startsWith("WRONGPASS") || text.startsWith("NOAUTH") || text.contains("AUTH")) {
      reason = "authentication failed: " + text;
      fix = "Check the user and password in the URL.";
    } else if (root.getClass().getSimpleName().contains("Timeout") || text.contains("timed out")) {
      reason = "no answer within " + connectTimeout.toMillis() + " ms";
    } else {
      reason = text;
    }
    if (!(e instanceof RedisConnectionException) && reason.equals(text)) {
      reason = e.getClass().getSimpleName() + ": " + text;
    }
    return new BrookException("No Redis at " + masked + " (" + reason + "). " + fix, e);
  }

  /** One WARN when the connection drops, one INFO when it is back; Lettuce reconnects and resubscribes. */
  private final class ConnectionLog implements RedisConnectionStateListener {
    @Override
    public void onRedisConnected(io.lettuce.core.RedisChannelHandler<?, ?> connection, SocketAddress address) {
      if (disconnectLogged) {
        disconnectLogged = false;
        LOG.info("Reconnected to {}; channels and patterns are subscribed again.", masked);
      }
    }

    @Override
    public void onRedisDisconnected(io.lettuce.core.RedisChannelHandler<?, ?> connection) {
      // A connection Brook closes on purpose (a stopped List/Stream consumer) is not open any more.
      if (!closed && connection.isOpen() && !disconnectLogged) {
        disconnectLogged = true;
        LOG.warn("Lost the connection to {}; reconnecting in the background.", masked);
      }
    }
  }
}
