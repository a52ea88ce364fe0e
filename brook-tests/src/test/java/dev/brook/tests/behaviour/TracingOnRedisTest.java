package dev.brook.tests.behaviour;

import dev.brook.testing.RedisServer;
import dev.brook.testing.WithRedisServer;

@WithRedisServer
class TracingOnRedisTest extends TracingBehaviour {
  TracingOnRedisTest(RedisServer redis) {
    super(Backend.redis(redis));
  }
}
