package dev.brook.tests.behaviour;

import dev.brook.testing.RedisServer;
import dev.brook.testing.WithRedisServer;

@WithRedisServer
class HealthOnRedisTest extends HealthBehaviour {
  HealthOnRedisTest(RedisServer redis) {
    super(Backend.redis(redis));
  }
}
