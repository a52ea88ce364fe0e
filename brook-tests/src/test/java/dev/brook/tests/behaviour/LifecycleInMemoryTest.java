package dev.brook.tests.behaviour;

class LifecycleInMemoryTest extends LifecycleBehaviour {
  LifecycleInMemoryTest() {
    super(Backend.memory());
  }
}
