package dev.brook.tests.behaviour;

import dev.brook.testing.RedisServer;
import dev.brook.testing.WithRedisServer;

@WithRedisServer
class FastStreamScenarios2OnRedisTest extends FastStreamScenarios2Behaviour {
  FastStreamScenarios2OnRedisTest(RedisServer redis) {
    super(Backend.redis(redis));
  }
}
