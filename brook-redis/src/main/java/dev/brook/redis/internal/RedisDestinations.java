package dev.brook.redis.internal;

import dev.brook.Destination;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import dev.brook.redis.Redis;
import dev.brook.redis.StreamDestination;

/**
 * Builds Redis destinations from what an annotation names ({@code @Subscribe(stream = "events",
 * group = "g")}), for {@link RedisTransport#destination} and any other transport of Redis
 * destinations (the in-memory one).
 */
public final class RedisDestinations {

  private RedisDestinations() {}

  /** See {@code Transport.destination}: the Redis kinds and which options fit which. */
  public static Destination of(String annotation, Map<String, String> attributes) {
    boolean subscribe = annotation.equals("@Subscribe");
    List<String> kinds = new ArrayList<>();
    for (String k : subscribe ? List.of("channel", "pattern", "list", "stream") : List.of("channel", "list", "stream")) {
      if (attributes.containsKey(k)) {
        kinds.add(k);
      }
    }
    String allowed = subscribe ? "channel, pattern, list or stream" : "channel, list or stream; repeat @Publish for more";
    if (kinds.size() != 1) {
      throw new IllegalArgumentException((kinds.isEmpty() ? "names no destination"
          : "names " + kinds.size() + " destinations (" + String.join(", ", kinds) + ")") + ". Set exactly one of " + allowed + ".");
    }
    String kind = kinds.get(0);
    String name = attributes.get(kind);
    String group = attributes.get("group");
    String consumer = attributes.get("consumer");
    if (group != null && !kind.equals("stream")) {
      throw new IllegalArgumentException("sets group = \"" + group + "\" on a " + kind
          + ": consumer groups are for streams. Use stream = \"...\", or leave group out.");
    }
    if (consumer != null && !(kind.equals("list") || group != null)) {
      throw new IllegalArgumentException("sets consumer = \"" + consumer + "\" on a " + kind
          + (kind.equals("stream") ? " without a group" : "") + ": a consumer name is for lists and streams with a group.");
    }
    try {
      return switch (kind) {
        case "channel" -> Redis.channel(name);
        case "pattern" -> Redis.pattern(name);
        case "list" -> consumer == null ? Redis.list(name) : Redis.list(name).consumer(consumer);
        default -> {
          StreamDestination s = Redis.stream(name);
          if (group != null) s = s.group(group);
          if (consumer != null) s = s.consumer(consumer);
          yield s;
        }
      };
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("names a destination the broker cannot use: " + e.getMessage(), e);
    }
  }
}
