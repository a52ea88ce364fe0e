package dev.brook.tests.behaviour;

import dev.brook.testing.RedisServer;
import dev.brook.testing.WithRedisServer;

@WithRedisServer
class ParserDecoderOnRedisTest extends ParserDecoderBehaviour {
  ParserDecoderOnRedisTest(RedisServer redis) {
    super(Backend.redis(redis));
  }
}
