package dev.brook.tests.behaviour;

import dev.brook.testing.RedisServer;
import dev.brook.testing.WithRedisServer;

@WithRedisServer
class PipelineOnRedisTest extends PipelineBehaviour {
  PipelineOnRedisTest(RedisServer redis) {
    super(Backend.redis(redis));
  }
}
