package dev.brook.tests.behaviour;

class PullInMemoryTest extends PullBehaviour {
  PullInMemoryTest() {
    super(Backend.memory());
  }
}
