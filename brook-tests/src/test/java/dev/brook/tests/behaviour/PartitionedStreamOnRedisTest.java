package dev.brook.tests.behaviour;

import dev.brook.testing.RedisServer;
import dev.brook.testing.WithRedisServer;

@WithRedisServer
class PartitionedStreamOnRedisTest extends PartitionedStreamBehaviour {
  PartitionedStreamOnRedisTest(RedisServer redis) {
    super(Backend.redis(redis));
  }
}
