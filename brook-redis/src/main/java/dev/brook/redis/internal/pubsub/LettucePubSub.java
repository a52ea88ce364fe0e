package dev.brook.redis.internal.pubsub;

import dev.brook.redis.internal.RedisConnections;
import io.lettuce.core.pubsub.RedisPubSubAdapter;
import io.lettuce.core.pubsub.StatefulRedisPubSubConnection;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;

/**
 * {@link PubSubConnection} on Lettuce's Pub/Sub connection: for Redis Cluster (where {@link PubSubProbe}
 * needs it, see {@link #lettuce()}), Sentinel, a Lettuce client the user passed, and the A/B benchmark
 * switch {@code -Dbrook.pubsub.reader=lettuce}. Lettuce reconnects and subscribes again; the transport
 * tells this of the losses ({@link RedisConnections.Events}, it is adopted with this as its events).
 */
final class LettucePubSub extends RedisPubSubAdapter<byte[], byte[]> implements PubSubConnection, RedisConnections.Events {

  private final StatefulRedisPubSubConnection<byte[], byte[]> connection;
  private volatile Listener listener;

  LettucePubSub(StatefulRedisPubSubConnection<byte[], byte[]> connection) {
    this.connection = connection;
    connection.addListener(this);
  }

  @Override
  public void listen(Listener l) {
    this.listener = l;
  }

  /** The Lettuce connection, for what only the cluster path does with it (the deaf-connection repair). */
  StatefulRedisPubSubConnection<byte[], byte[]> lettuce() {
    return connection;
  }

  @Override
  public CompletableFuture<Void> subscribe(byte[] channel) {
    return connection.async().subscribe(channel).toCompletableFuture();
  }

  @Override
  public CompletableFuture<Void> unsubscribe(byte[] channel) {
    return connection.async().unsubscribe(channel).toCompletableFuture();
  }

  @Override
  public CompletableFuture<Void> psubscribe(byte[] pattern) {
    return connection.async().psubscribe(pattern).toCompletableFuture();
  }

  @Override
  public CompletableFuture<Void> punsubscribe(byte[] pattern) {
    return connection.async().punsubscribe(pattern).toCompletableFuture();
  }

  @Override
  public Duration timeout() {
    return connection.getTimeout();
  }

  @Override
  public boolean isOpen() {
    return connection.isOpen();
  }

  @Override
  public void close() {
    connection.close();
  }

  @Override
  public void message(byte[] channel, byte[] message) {
    listener.message(channel, message);
  }

  @Override
  public void message(byte[] pattern, byte[] channel, byte[] message) {
    listener.message(pattern, channel, message);
  }

  @Override
  public void disconnected() {
    Listener l = listener;
    if (l != null) {
      l.disconnected();
    }
  }

  @Override
  public void reconnected() {
    Listener l = listener;
    if (l != null) {
      l.reconnected();
    }
  }
}
