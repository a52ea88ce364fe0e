package dev.brook.tests.behaviour;

class DefaultsInMemoryTest extends DefaultsBehaviour {
  DefaultsInMemoryTest() {
    super(Backend.memory());
  }
}
