package dev.brook.tests.behaviour;

class ShardChannelInMemoryTest extends ShardChannelBehaviour {
  ShardChannelInMemoryTest() {
    super(Backend.memory());
  }
}
