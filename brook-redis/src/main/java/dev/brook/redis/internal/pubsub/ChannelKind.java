package dev.brook.redis.internal.pubsub;

import dev.brook.redis.ChannelDestination;
import dev.brook.redis.internal.RedisKind;
import dev.brook.redis.internal.RedisProducer;
import dev.brook.spi.Frame;
import dev.brook.spi.Transport;
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
}
