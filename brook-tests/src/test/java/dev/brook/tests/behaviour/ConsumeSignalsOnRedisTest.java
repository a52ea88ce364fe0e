package dev.brook.tests.behaviour;

import dev.brook.testing.RedisServer;
import dev.brook.testing.WithRedisServer;

@WithRedisServer
class ConsumeSignalsOnRedisTest extends ConsumeSignalsBehaviour {
  ConsumeSignalsOnRedisTest(RedisServer redis) {
    super(Backend.redis(redis));
  }
}
