package dev.brook.tests.behaviour;

import dev.brook.testing.RedisServer;
import dev.brook.testing.WithRedisServer;

@WithRedisServer
class RequestReplyOnRedisTest extends RequestReplyBehaviour {
  RequestReplyOnRedisTest(RedisServer redis) {
    super(Backend.redis(redis));
  }
}
