package dev.brook.redis.internal.stream;

import dev.brook.redis.Redis;
import dev.brook.redis.StreamDestination;
import dev.brook.redis.internal.RedisDescriptions;
import dev.brook.spi.DestinationDescription;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * How documentation describes a Redis Stream, read alone or by a consumer group (the group tells
 * two channels on one stream apart). The process's default consumer name is left out: it differs
 * per run, and documents of two runs must compare equal.
 */
public final class StreamDescription {

  private StreamDescription() {}

  public static DestinationDescription of(StreamDestination stream) {
    String group = stream.groupName();
    Map<String, Object> binding = new LinkedHashMap<>();
    binding.put("stream", stream.name());
    binding.put("delivery", group == null ? "at-most-once" : "at-least-once");
    if (group != null) {
      binding.put("groupName", group);
      if (!stream.consumerName().equals(Redis.defaultConsumerName())) {
        binding.put("consumerName", stream.consumerName());
      }
      binding.put("maxDeliveries", stream.maxDeliveryCount());
      binding.put("deadLetter", stream.deadLetterKey());
    }
    if (stream.partitionCount() > 1) {
      binding.put("partitions", stream.partitionCount());
      binding.put("partitionKeys", stream.partitionKey(0) + " … " + stream.partitionKey(stream.partitionCount() - 1));
      binding.put("partitionBy", "crc16(utf8(header " + dev.brook.Broker.KEY_HEADER + ")) mod " + stream.partitionCount()
          + "; round-robin without the header");
      if (group != null) {
        binding.put("leaseTime", stream.leaseDuration().toString());
      }
    }
    if (stream.maxLength() > 0) {
      binding.put("maxLen", stream.maxLength());
    }
    String partitioned = stream.partitionCount() == 1 ? "" : " Partitioned into " + stream.partitionCount()
        + " streams (" + stream.partitionKey(0) + " … " + stream.partitionKey(stream.partitionCount() - 1)
        + ") by the message key (header " + dev.brook.Broker.KEY_HEADER + "), so one key's messages keep their order"
        + (group == null ? "." : "; the group's members share the partitions through leases in Redis.");
    return new DestinationDescription(RedisDescriptions.PROTOCOL, "stream", stream.name(), List.of(), (group == null
        ? "Redis Stream (XADD, XREAD): every reader sees every entry, at-most-once."
        : "Redis Stream read by the consumer group " + group + " (XREADGROUP): at-least-once, each entry to one consumer of the group.")
        + partitioned,
        group, group == null ? "xread" : "xreadgroup", "xadd", binding);
  }
}
