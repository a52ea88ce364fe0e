package dev.brook.tests.behaviour;

import dev.brook.testing.RedisServer;
import dev.brook.testing.WithRedisServer;

@WithRedisServer
class PatternOnRedisTest extends PatternBehaviour {
  PatternOnRedisTest(RedisServer redis) {
    super(Backend.redis(redis));
  }
}
