package dev.brook.redis.internal.list;

import dev.brook.redis.ListDestination;
import dev.brook.redis.Redis;
import dev.brook.redis.internal.RedisDescriptions;
import dev.brook.spi.DestinationDescription;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * How documentation describes a Redis List used as a queue. The process's default consumer name is
 * left out: it differs per run, and documents of two runs must compare equal.
 */
public final class ListDescription {

  private ListDescription() {}

  public static DestinationDescription of(ListDestination list) {
    boolean atMostOnce = list.isAtMostOnce();
    Map<String, Object> binding = new LinkedHashMap<>();
    binding.put("list", list.name());
    binding.put("delivery", atMostOnce ? "at-most-once" : "at-least-once");
    if (!atMostOnce && !list.consumerName().equals(Redis.defaultConsumerName())) {
      binding.put("consumerName", list.consumerName());
    }
    if (list.deadLetterKey() != null) {
      binding.put("deadLetter", list.deadLetterKey());
    }
    return new DestinationDescription(RedisDescriptions.PROTOCOL, "list", list.name(), List.of(), atMostOnce
        ? "Redis List used as a queue (RPUSH, BLPOP): each message goes to one consumer, at-most-once."
        : "Redis List used as a reliable queue (RPUSH, BLMOVE into a processing list): each message goes to one consumer, at-least-once.",
        null, atMostOnce ? "blpop" : "blmove", "rpush", binding);
  }
}
