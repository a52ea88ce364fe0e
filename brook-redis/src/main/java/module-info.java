/**
 * Brook on Redis through Lettuce: {@code RedisBroker} and the Redis destinations ({@code
 * dev.brook.redis}); the transport behind them is internal, open only to Brook's test broker.
 * Lettuce is part of the API only where a caller hands Brook its own {@code ClientResources} or
 * {@code RedisClient}.
 */
module dev.brook.redis {
  requires transitive dev.brook.core;
  requires transitive lettuce.core;
  // Lettuce's event bus (cluster topology changes) is a Flux.
  requires reactor.core;
  requires io.netty.common;
  requires io.netty.transport;
  requires io.netty.handler;
  requires io.netty.resolver;
  requires io.netty.resolver.dns;

  exports dev.brook.redis;
  exports dev.brook.redis.internal to dev.brook.testing, dev.brook.console;
  // The in-memory test broker models each kind next to its consumer.
  exports dev.brook.redis.internal.pubsub to dev.brook.testing;
  exports dev.brook.redis.internal.shard to dev.brook.testing;
  exports dev.brook.redis.internal.list to dev.brook.testing;
  exports dev.brook.redis.internal.stream to dev.brook.testing;
  exports dev.brook.redis.internal.jobs to dev.brook.testing;
}
