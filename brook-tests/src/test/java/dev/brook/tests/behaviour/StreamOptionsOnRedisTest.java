package dev.brook.tests.behaviour;

import dev.brook.testing.RedisServer;
import dev.brook.testing.WithRedisServer;

@WithRedisServer
class StreamOptionsOnRedisTest extends StreamOptionsBehaviour {
  StreamOptionsOnRedisTest(RedisServer redis) {
    super(Backend.redis(redis));
  }
}
