package dev.brook.tests.behaviour;

import dev.brook.testing.RedisServer;
import dev.brook.testing.WithRedisServer;

@WithRedisServer
class FastStreamConsumeScenariosOnRedisTest extends FastStreamConsumeScenariosBehaviour {
  FastStreamConsumeScenariosOnRedisTest(RedisServer redis) {
    super(Backend.redis(redis));
  }
}
