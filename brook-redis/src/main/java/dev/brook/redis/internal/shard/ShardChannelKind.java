package dev.brook.redis.internal.shard;

import dev.brook.redis.PubSubMetrics;
import dev.brook.redis.ShardChannelDestination;
import dev.brook.redis.internal.OpenOnce;
import dev.brook.redis.internal.RedisConnections;
import dev.brook.redis.internal.RedisContext;
import dev.brook.redis.internal.RedisKind;
import dev.brook.redis.internal.RedisProducer;
import dev.brook.spi.Frame;
import dev.brook.spi.Transport;
import io.lettuce.core.codec.ByteArrayCodec;
import io.lettuce.core.output.IntegerOutput;
import io.lettuce.core.protocol.AsyncCommand;
import io.lettuce.core.protocol.Command;
import io.lettuce.core.protocol.CommandArgs;
import io.lettuce.core.protocol.CommandType;
import io.lettuce.core.pubsub.StatefulRedisPubSubConnection;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * Sharded Pub/Sub channels (Redis 7): SSUBSCRIBE on this kind's own {@link ShardHub}, opened by the
 * first shard channel subscription to start; SPUBLISH on the command connection (on a cluster
 * routed, like a key, to the master owning the channel's slot). At-most-once. The transport's
 * connections own the hub's connection and close it; on a cluster the hub's check runs on the
 * transport's timer until then.
 */
public final class ShardChannelKind implements RedisKind<ShardChannelDestination> {

  private final RedisContext context;
  private final RedisProducer producer;
  private final OpenOnce<ShardHub> hub = new OpenOnce<>();

  public ShardChannelKind(RedisContext context) {
    this.context = context;
    this.producer = context.producer();
  }

  @Override
  public Class<ShardChannelDestination> type() {
    return ShardChannelDestination.class;
  }

  @Override
  public Transport.Consumer consumer(ShardChannelDestination channel, String subscriptionId, Transport.Sink sink) {
    // The connection opens at start, not when the subscription is declared.
    return new Transport.Consumer() {
      private volatile Transport.Consumer delegate;

      @Override
      public void start() {
        delegate = hub().consumer(channel.name(), sink);
        delegate.start();
      }

      @Override
      public void stop() {
        if (delegate != null) {
          delegate.stop();
        }
      }

      @Override
      public String problem() {
        Transport.Consumer d = delegate;
        return d == null ? null : d.problem();
      }
    };
  }

  @Override
  public CompletableFuture<Void> send(ShardChannelDestination channel, Frame frame) {
    byte[] value = producer.encode(channel, frame);
    return producer.published(channel, producer.commands().spublish(channel.nameBytes(), value));
  }

  /** An SPUBLISH of one message, for a pipeline. */
  @Override
  public AsyncCommand<byte[], byte[], ?> command(ShardChannelDestination channel, Frame frame) {
    CommandArgs<byte[], byte[]> args = new CommandArgs<>(ByteArrayCodec.INSTANCE).addKey(channel.nameBytes())
        .addValue(producer.encode(channel, frame));
    return new AsyncCommand<>(new Command<>(CommandType.SPUBLISH, new IntegerOutput<>(ByteArrayCodec.INSTANCE), args));
  }

  /** What the sharded Pub/Sub connection saw; every counter zero before it opened. */
  public PubSubMetrics metrics() {
    ShardHub h = hub.peek();
    return h == null ? PubSubMetrics.NONE : h.metrics();
  }

  /**
   * {@code PUBSUB SHARDNUMSUB} of {@code channels} on one node, sent on the command connection's
   * connection to it (Redis counts only its own subscribers): by channel name.
   */
  @SuppressWarnings("unchecked")
  private java.util.concurrent.CompletionStage<java.util.Map<String, Long>> subscriberCounts(String nodeId,
      java.util.List<byte[]> channels) {
    if (!(context.connections().commandConnection() instanceof io.lettuce.core.cluster.api.StatefulRedisClusterConnection<?, ?> cc)) {
      return CompletableFuture.failedFuture(new IllegalStateException("not a cluster"));
    }
    return ((io.lettuce.core.cluster.api.StatefulRedisClusterConnection<byte[], byte[]>) cc).getConnectionAsync(nodeId)
        .thenCompose(node -> node.async().pubsubShardNumsub(channels.toArray(byte[][]::new)))
        .thenApply(counts -> {
          java.util.Map<String, Long> byName = new java.util.HashMap<>();
          counts.forEach((k, v) -> byName.put(new String(k, java.nio.charset.StandardCharsets.UTF_8), v));
          return byName;
        });
  }

  /** Opens the sharded Pub/Sub connection once; concurrent callers wait for the first one's. */
  ShardHub hub() {
    RedisConnections connections = context.connections();
    return hub.get(connections, () -> {
      StatefulRedisPubSubConnection<byte[], byte[]> connection = connections.connectPubSub();
      ShardHub created = new ShardHub(connection,
          (nodeId, channels) -> subscriberCounts(nodeId, channels),
          connections.masked(), context.options().maxMessageSize(), context.timing(),
          () -> connections.isClosed() ? connections.closedError() : null);
      created.nodeDown(connections::nodeConnectionDown);
      connections.adopt(connection, created); // closes it and throws when the transport closed meanwhile
      if (created.clustered()) {
        java.util.concurrent.ScheduledExecutorService timer = connections.timer();
        ScheduledFuture<?> unused = timer.scheduleWithFixedDelay(created::check,
            ShardHub.CHECK_PERIOD.toMillis(), ShardHub.CHECK_PERIOD.toMillis(), TimeUnit.MILLISECONDS);
        created.checkOn(timer);
      }
      return created;
    });
  }

  /** The hub once opened, else null; for tests and diagnostics. */
  ShardHub openHub() {
    return hub.peek();
  }
}
