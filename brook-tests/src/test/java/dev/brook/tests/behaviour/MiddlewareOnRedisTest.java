package dev.brook.tests.behaviour;

import dev.brook.testing.RedisServer;
import dev.brook.testing.WithRedisServer;

@WithRedisServer
class MiddlewareOnRedisTest extends MiddlewareBehaviour {
  MiddlewareOnRedisTest(RedisServer redis) {
    super(Backend.redis(redis));
  }
}
