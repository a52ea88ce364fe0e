package dev.brook.redis.internal.shard;

import dev.brook.redis.ShardChannelDestination;
import dev.brook.redis.internal.RedisDescriptions;
import dev.brook.spi.DestinationDescription;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * How documentation describes a sharded Pub/Sub channel: bound like a channel, with {@code
 * sharded: true} among the bindings, and read with SSUBSCRIBE, written with SPUBLISH.
 */
public final class ShardChannelDescription {

  private ShardChannelDescription() {}

  public static DestinationDescription of(ShardChannelDestination channel) {
    return new DestinationDescription(RedisDescriptions.PROTOCOL, "shard-channel", channel.name(), List.of(),
        "Redis sharded Pub/Sub channel (Redis 7, SSUBSCRIBE/SPUBLISH): at-most-once, every live subscriber gets each "
            + "message; in a cluster it travels only on the master owning the channel's hash slot.", null,
        "ssubscribe", "spublish", binding(channel));
  }

  private static Map<String, Object> binding(ShardChannelDestination channel) {
    Map<String, Object> binding = new LinkedHashMap<>(); // shown in this order
    binding.put("channel", channel.name());
    binding.put("sharded", true);
    return binding;
  }
}
