package dev.brook.tests.behaviour;

import dev.brook.testing.RedisServer;
import dev.brook.testing.WithRedisServer;

@WithRedisServer
class ResponseOnRedisTest extends ResponseBehaviour {
  ResponseOnRedisTest(RedisServer redis) {
    super(Backend.redis(redis));
  }
}
