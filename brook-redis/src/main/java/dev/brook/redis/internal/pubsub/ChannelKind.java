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

/** Pub/Sub channels: SUBSCRIBE on the shared hub, PUBLISH on the command connection. At-most-once. */
public final class ChannelKind implements RedisKind<ChannelDestination> {

  private final PubSub pubSub;
  private final RedisProducer producer;

  ChannelKind(PubSub pubSub, RedisProducer producer) {
    this.pubSub = pubSub;
    this.producer = producer;
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
    return producer.published(channel, producer.commands().publish(channel.nameBytes(), value));
  }

  /** A PUBLISH of one message, for a pipeline. */
  @Override
  public AsyncCommand<byte[], byte[], ?> command(ChannelDestination channel, Frame frame) {
    CommandArgs<byte[], byte[]> args = new CommandArgs<>(ByteArrayCodec.INSTANCE).addKey(channel.nameBytes())
        .addValue(producer.encode(channel, frame));
    return new AsyncCommand<>(new Command<>(CommandType.PUBLISH, new IntegerOutput<>(ByteArrayCodec.INSTANCE), args));
  }
}
