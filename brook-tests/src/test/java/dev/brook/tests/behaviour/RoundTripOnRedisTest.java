package dev.brook.tests.behaviour;

import dev.brook.testing.RedisServer;
import dev.brook.testing.WithRedisServer;

@WithRedisServer
class RoundTripOnRedisTest extends RoundTripBehaviour {
  RoundTripOnRedisTest(RedisServer redis) {
    super(Backend.redis(redis));
  }
}
