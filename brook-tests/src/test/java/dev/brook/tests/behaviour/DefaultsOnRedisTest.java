package dev.brook.tests.behaviour;

import dev.brook.testing.RedisServer;
import dev.brook.testing.WithRedisServer;

@WithRedisServer
class DefaultsOnRedisTest extends DefaultsBehaviour {
  DefaultsOnRedisTest(RedisServer redis) {
    super(Backend.redis(redis));
  }
}
