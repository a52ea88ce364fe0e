package dev.brook.redis.internal;

import dev.brook.Destination;
import dev.brook.redis.Redis;
import dev.brook.redis.StreamDestination;

/**
 * Builds Redis destinations from what an annotation names ({@code @Subscribe(stream = "events",
 * group = "g")}), for {@link RedisTransport#destination} and any other transport of Redis
 * destinations (the in-memory one).
 */
public final class RedisDestinations {

  private RedisDestinations() {}

  /** See {@code Transport.destination}. */
  public static Destination of(String kind, String name, String group, String consumer) {
    return switch (kind) {
      case "channel" -> Redis.channel(name);
      case "pattern" -> Redis.pattern(name);
      case "list" -> consumer == null ? Redis.list(name) : Redis.list(name).consumer(consumer);
      case "stream" -> {
        StreamDestination s = Redis.stream(name);
        if (group != null) s = s.group(group);
        if (consumer != null) s = s.consumer(consumer);
        yield s;
      }
      default -> throw new IllegalArgumentException("Redis has no destination kind '" + kind
          + "'; use channel, pattern, list or stream.");
    };
  }
}
