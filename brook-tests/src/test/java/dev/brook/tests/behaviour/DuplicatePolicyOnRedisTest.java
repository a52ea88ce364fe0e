package dev.brook.tests.behaviour;

import dev.brook.testing.RedisServer;
import dev.brook.testing.WithRedisServer;

@WithRedisServer
class DuplicatePolicyOnRedisTest extends DuplicatePolicyBehaviour {
  DuplicatePolicyOnRedisTest(RedisServer redis) {
    super(Backend.redis(redis));
  }
}
