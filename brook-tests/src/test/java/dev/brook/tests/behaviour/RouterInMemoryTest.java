package dev.brook.tests.behaviour;

class RouterInMemoryTest extends RouterBehaviour {
  RouterInMemoryTest() {
    super(Backend.memory());
  }
}
