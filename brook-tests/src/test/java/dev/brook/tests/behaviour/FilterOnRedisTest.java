package dev.brook.tests.behaviour;

import dev.brook.testing.RedisServer;
import dev.brook.testing.WithRedisServer;

@WithRedisServer
class FilterOnRedisTest extends FilterBehaviour {
  FilterOnRedisTest(RedisServer redis) {
    super(Backend.redis(redis));
  }
}
