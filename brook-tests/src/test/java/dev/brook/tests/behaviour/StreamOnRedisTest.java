package dev.brook.tests.behaviour;

import dev.brook.testing.RedisServer;
import dev.brook.testing.WithRedisServer;

@WithRedisServer
class StreamOnRedisTest extends StreamBehaviour {
  StreamOnRedisTest(RedisServer redis) {
    super(Backend.redis(redis));
  }
}
