package dev.brook.tests.behaviour;

class PatternInMemoryTest extends PatternBehaviour {
  PatternInMemoryTest() {
    super(Backend.memory());
  }
}
