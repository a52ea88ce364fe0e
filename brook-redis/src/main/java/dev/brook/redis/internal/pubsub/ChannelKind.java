package dev.brook.redis.internal.pubsub;

import dev.brook.redis.ChannelDestination;
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
import java.util.concurrent.CompletableFuture;

/**
 * Pub/Sub channels: SUBSCRIBE on the shared hub, PUBLISH on the command connection. At-most-once.
 *
 * <p>On a Redis Cluster every PUBLISH of this broker goes to one node (the cluster connection's
 * default one), not to the master of the channel's slot: Redis passes each node's publishes to the
 * others in the order it took them, so a subscriber anywhere gets one publisher's messages in the
 * order they were sent, across channels, as on a single Redis. Routed by slot, two channels' messages
 * would travel through two nodes and could arrive the other way round.
 */
public final class ChannelKind implements RedisKind<ChannelDestination> {

  private final PubSub pubSub;
  private final RedisProducer producer;
  private final boolean cluster;

  ChannelKind(PubSub pubSub, RedisProducer producer) {
    this.pubSub = pubSub;
    this.producer = producer;
    this.cluster = producer.cluster();
  }

  @Override
  public Class<ChannelDestination> type() {
    return ChannelDestination.class;
  }

  @Override
  public Transport.Consumer consumer(ChannelDestination channel, String subscriptionId, Transport.Sink sink) {
    return PubSub.lazy(() -> pubSub.hub().channelConsumer(channel.name(), sink));
  }

  @Override
  public CompletableFuture<Void> send(ChannelDestination channel, Frame frame) {
    byte[] value = producer.encode(channel, frame);
    // Hand-built and tracked: no Lettuce timer per publish (RedisProducer#tracked).
    return producer.published(channel, producer.send(publishCommand(channel, value)));
  }

  /** A PUBLISH of one message, for a pipeline. */
  @Override
  public AsyncCommand<byte[], byte[], ?> command(ChannelDestination channel, Frame frame) {
    return publish(channel, producer.encode(channel, frame));
  }

  /** A PUBLISH; on a cluster without a key, so that it goes to the default node (see above). */
  private AsyncCommand<byte[], byte[], ?> publish(ChannelDestination channel, byte[] value) {
    return producer.prepared(publishCommand(channel, value));
  }

  private Command<byte[], byte[], Long> publishCommand(ChannelDestination channel, byte[] value) {
    CommandArgs<byte[], byte[]> args = new CommandArgs<>(ByteArrayCodec.INSTANCE);
    if (cluster) {
      args.add(channel.nameBytes());
    } else {
      args.addKey(channel.nameBytes());
    }
    args.addValue(value);
    return new Command<>(CommandType.PUBLISH, new IntegerOutput<>(ByteArrayCodec.INSTANCE), args);
  }
}
