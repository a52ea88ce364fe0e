package dev.brook.redis.internal.pubsub;

import dev.brook.redis.ChannelDestination;
import dev.brook.redis.internal.RedisDescriptions;
import dev.brook.spi.DestinationDescription;
import java.util.List;
import java.util.Map;

/** How documentation describes a Redis Pub/Sub channel. */
public final class ChannelDescription {

  private ChannelDescription() {}

  public static DestinationDescription of(ChannelDestination channel) {
    return new DestinationDescription(RedisDescriptions.PROTOCOL, "channel", channel.name(), List.of(),
        "Redis Pub/Sub channel: at-most-once, every live subscriber gets each message.", null,
        "subscribe", "publish", Map.of("channel", channel.name()));
  }
}
