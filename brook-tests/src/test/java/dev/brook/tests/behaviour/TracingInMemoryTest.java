package dev.brook.tests.behaviour;

class TracingInMemoryTest extends TracingBehaviour {
  TracingInMemoryTest() {
    super(Backend.memory());
  }
}
