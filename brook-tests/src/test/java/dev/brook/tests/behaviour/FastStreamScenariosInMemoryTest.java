package dev.brook.tests.behaviour;

class FastStreamScenariosInMemoryTest extends FastStreamScenariosBehaviour {
  FastStreamScenariosInMemoryTest() {
    super(Backend.memory());
  }
}
