package dev.brook.tests.behaviour;

class FastStreamConsumeScenariosInMemoryTest extends FastStreamConsumeScenariosBehaviour {
  FastStreamConsumeScenariosInMemoryTest() {
    super(Backend.memory());
  }
}
