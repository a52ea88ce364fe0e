package dev.brook.tests.behaviour;

import dev.brook.testing.RedisServer;
import dev.brook.testing.WithRedisServer;

@WithRedisServer
class ListOnRedisTest extends ListBehaviour {
  ListOnRedisTest(RedisServer redis) {
    super(Backend.redis(redis));
  }
}
