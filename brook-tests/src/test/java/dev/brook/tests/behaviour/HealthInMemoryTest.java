package dev.brook.tests.behaviour;

class HealthInMemoryTest extends HealthBehaviour {
  HealthInMemoryTest() {
    super(Backend.memory());
  }
}
