package dev.brook.tests.behaviour;

class FastStreamScenarios2InMemoryTest extends FastStreamScenarios2Behaviour {
  FastStreamScenarios2InMemoryTest() {
    super(Backend.memory());
  }
}
