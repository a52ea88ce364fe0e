/**
 * Brook on Redis through Lettuce: {@code RedisBroker} and the Redis destinations ({@code
 * dev.brook.redis}); the transport behind them is internal, open only to Brook's test broker and
 * CLI.
 */
module dev.brook.redis {
  requires transitive dev.brook.core;
  requires lettuce.core;
  requires io.netty.common;
  requires io.netty.transport;
  requires io.netty.handler;
  requires io.netty.resolver;
  requires io.netty.resolver.dns;

  exports dev.brook.redis;
  exports dev.brook.redis.internal to dev.brook.testing, dev.brook.cli;
}
