package dev.brook.redis.internal;

/**
 * What one transport's destination kinds share: its connections, its producer steps, the names of
 * its consumers in Redis and its clock.
 */
public record RedisContext(RedisConnections connections, RedisProducer producer, ConsumerNames consumerNames,
    Timing timing) {

  public TransportOptions options() {
    return connections.options();
  }
}
