package dev.brook.redis.internal;

import dev.brook.Destination;
import dev.brook.redis.Backlog;

/**
 * A transport that can tell what waits in Redis for a subscription ({@link Backlog}): the Redis
 * transport asks Redis, the test broker's in-memory transport asks its models, and a recording
 * transport asks the one it wraps. {@code RedisBroker.backlog} finds it on the transport the broker
 * runs on now.
 */
public interface Backlogs {

  /** The figures of a subscription with this id reading this destination. */
  Backlog backlog(Destination destination, String subscriptionId);

  /** The consumer name a subscription has in Redis, as {@link ConsumerNames} gives it (explicit or default). */
  static String explicitConsumer(String consumerName) {
    return consumerName.equals(dev.brook.redis.Redis.defaultConsumerName()) ? null : consumerName;
  }

  /**
   * The backlog of a partitioned stream: each figure summed over the partitions ({@code part}
   * added to {@code sum}, null for the first), -1 (unknown, or not for this kind) when it is for any
   * partition; named by the logical stream's key.
   */
  static Backlog sum(Backlog sum, Backlog part, String key) {
    if (sum == null) {
      return new Backlog(part.subscription(), key, part.length(), part.lag(), part.pending(), part.consumerPending(),
          part.processing(), part.deadLetters());
    }
    return new Backlog(sum.subscription(), key, add(sum.length(), part.length()), add(sum.lag(), part.lag()),
        add(sum.pending(), part.pending()), add(sum.consumerPending(), part.consumerPending()),
        add(sum.processing(), part.processing()), add(sum.deadLetters(), part.deadLetters()));
  }

  private static long add(long a, long b) {
    return a < 0 || b < 0 ? -1 : a + b;
  }
}
