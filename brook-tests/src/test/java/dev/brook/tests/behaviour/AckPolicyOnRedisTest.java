package dev.brook.tests.behaviour;

import dev.brook.testing.RedisServer;
import dev.brook.testing.WithRedisServer;

@WithRedisServer
class AckPolicyOnRedisTest extends AckPolicyBehaviour {
  AckPolicyOnRedisTest(RedisServer redis) {
    super(Backend.redis(redis));
  }
}
