package dev.brook.tests.behaviour;

import dev.brook.testing.RedisServer;
import dev.brook.testing.WithRedisServer;

@WithRedisServer
class BatchHeadersOnRedisTest extends BatchHeadersBehaviour {
  BatchHeadersOnRedisTest(RedisServer redis) {
    super(Backend.redis(redis));
  }
}
