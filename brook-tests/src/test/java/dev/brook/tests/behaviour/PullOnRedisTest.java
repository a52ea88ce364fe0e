package dev.brook.tests.behaviour;

import dev.brook.testing.RedisServer;
import dev.brook.testing.WithRedisServer;

@WithRedisServer
class PullOnRedisTest extends PullBehaviour {
  PullOnRedisTest(RedisServer redis) {
    super(Backend.redis(redis));
  }
}
