package dev.brook.tests.behaviour;

import dev.brook.testing.RedisServer;
import dev.brook.testing.WithRedisServer;

@WithRedisServer
class RouterOnRedisTest extends RouterBehaviour {
  RouterOnRedisTest(RedisServer redis) {
    super(Backend.redis(redis));
  }
}
