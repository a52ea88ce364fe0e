package dev.brook.tests.behaviour;

import dev.brook.testing.RedisServer;
import dev.brook.testing.WithRedisServer;

@WithRedisServer
class LifecycleOnRedisTest extends LifecycleBehaviour {
  LifecycleOnRedisTest(RedisServer redis) {
    super(Backend.redis(redis));
  }
}
