package dev.brook.redis.internal;

import dev.brook.Destination;
import dev.brook.redis.Backlog;
import dev.brook.redis.ListDestination;
import dev.brook.redis.StreamDestination;
import io.lettuce.core.RedisCommandExecutionException;
import io.lettuce.core.cluster.api.sync.RedisClusterCommands;
import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * Reads a subscription's {@link Backlog} from Redis on the command connection: LLEN for lists
 * (queue, processing list, dead letter), XLEN, XINFO GROUPS and XINFO CONSUMERS for streams. A
 * missing key counts as empty; a missing group as nothing pending and an unknown lag.
 */
final class RedisBacklogs {

  private RedisBacklogs() {}

  static Backlog of(RedisConnections connections, ConsumerNames names, Destination destination, String subscriptionId) {
    connections.connect();
    RedisClusterCommands<byte[], byte[]> redis = connections.syncCommands();
    if (destination instanceof ListDestination list) {
      long processing = -1;
      if (!list.isAtMostOnce()) {
        String consumer = names.name(Backlogs.explicitConsumer(list.consumerName()), list.key(), subscriptionId);
        processing = redis.llen(bytes(Keys.derived(list.name(), "processing:") + consumer));
      }
      long dead = list.deadLetterKey() == null ? -1 : redis.llen(bytes(list.deadLetterKey()));
      return new Backlog(subscriptionId, list.key(), redis.llen(bytes(list.name())), -1, -1, -1, processing, dead);
    }
    if (destination instanceof StreamDestination stream && stream.partitionCount() > 1) {
      // Each partition's figures under the member's consumer name, summed.
      String consumer = names.name(Backlogs.explicitConsumer(stream.consumerName()), stream.key(), subscriptionId);
      Backlog sum = null;
      for (int i = 0; i < stream.partitionCount(); i++) {
        StreamDestination part = stream.partition(i);
        sum = Backlogs.sum(sum, stream(redis, part, consumer, subscriptionId), stream.key());
      }
      return sum;
    }
    if (destination instanceof StreamDestination stream) {
      return stream(redis, stream,
          names.name(Backlogs.explicitConsumer(stream.consumerName()), stream.key(), subscriptionId), subscriptionId);
    }
    return new Backlog(subscriptionId, destination.key(), -1, -1, -1, -1, -1, -1);
  }

  private static Backlog stream(RedisClusterCommands<byte[], byte[]> redis, StreamDestination stream, String consumer,
      String subscriptionId) {
    byte[] key = bytes(stream.name());
    long length = redis.xlen(key);
    String group = stream.groupName();
    if (group == null) {
      return new Backlog(subscriptionId, stream.key(), length, -1, -1, -1, -1, -1);
    }
    long lag = -1;
    long pending = 0;
    long mine = 0;
    try {
      for (Object g : redis.xinfoGroups(key)) {
        List<?> fields = (List<?>) g;
        if (group.equals(text(field(fields, "name")))) {
          pending = number(field(fields, "pending"), 0);
          lag = number(field(fields, "lag"), -1);
        }
      }
      for (Object c : redis.xinfoConsumers(key, bytes(group))) {
        List<?> fields = (List<?>) c;
        if (consumer.equals(text(field(fields, "name")))) {
          mine = number(field(fields, "pending"), 0);
        }
      }
    } catch (RedisCommandExecutionException e) {
      // No such key, or no such group: nothing pending, lag unknown.
      lag = -1;
    }
    long dead = redis.xlen(bytes(stream.deadLetterKey()));
    return new Backlog(subscriptionId, stream.key(), length, lag, pending, mine, -1, dead);
  }

  private static Object field(List<?> fields, String name) {
    for (int i = 0; i + 1 < fields.size(); i += 2) {
      if (name.equals(text(fields.get(i)))) {
        return fields.get(i + 1);
      }
    }
    return null;
  }

  private static String text(Object o) {
    return o instanceof byte[] b ? new String(b, StandardCharsets.UTF_8) : o == null ? null : o.toString();
  }

  private static long number(Object o, long otherwise) {
    if (o instanceof Number n) {
      return n.longValue();
    }
    String t = text(o);
    return t != null && t.matches("-?\\d+") ? Long.parseLong(t) : otherwise;
  }

  private static byte[] bytes(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }
}
