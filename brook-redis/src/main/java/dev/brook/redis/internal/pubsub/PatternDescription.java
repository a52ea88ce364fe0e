package dev.brook.redis.internal.pubsub;

import dev.brook.redis.PatternDestination;
import dev.brook.redis.internal.RedisDescriptions;
import dev.brook.spi.DestinationDescription;
import java.util.Map;

/**
 * How documentation describes a Redis Pub/Sub pattern: its address is the template the user wrote
 * ({@code logs.{level}}) with its parts as parameters; the glob sent with PSUBSCRIBE is a binding.
 */
public final class PatternDescription {

  private PatternDescription() {}

  public static DestinationDescription of(PatternDestination pattern) {
    return new DestinationDescription(RedisDescriptions.PROTOCOL, "pattern", pattern.template(), pattern.params(),
        "Redis Pub/Sub channels matching the glob " + pattern.name() + " (PSUBSCRIBE): at-most-once, fan-out.", null,
        "psubscribe", "publish", Map.of("pattern", pattern.name()));
  }
}
