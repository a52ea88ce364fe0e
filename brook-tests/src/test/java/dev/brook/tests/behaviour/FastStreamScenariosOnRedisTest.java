package dev.brook.tests.behaviour;

import dev.brook.testing.RedisServer;
import dev.brook.testing.WithRedisServer;

@WithRedisServer
class FastStreamScenariosOnRedisTest extends FastStreamScenariosBehaviour {
  FastStreamScenariosOnRedisTest(RedisServer redis) {
    super(Backend.redis(redis));
  }
}
