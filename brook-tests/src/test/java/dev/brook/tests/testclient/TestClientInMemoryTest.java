package dev.brook.tests.testclient;

import dev.brook.redis.RedisBroker;
import dev.brook.testing.TestRedisBroker;

class TestClientInMemoryTest extends TestClientScenarios {
  @Override
  String url() {
    return "redis://127.0.0.1:1";
  }

  @Override
  TestRedisBroker open(RedisBroker broker) {
    return TestRedisBroker.of(broker);
  }
}
