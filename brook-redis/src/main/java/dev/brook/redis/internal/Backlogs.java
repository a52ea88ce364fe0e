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
}
