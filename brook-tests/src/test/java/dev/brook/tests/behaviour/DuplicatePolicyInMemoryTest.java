package dev.brook.tests.behaviour;

class DuplicatePolicyInMemoryTest extends DuplicatePolicyBehaviour {
  DuplicatePolicyInMemoryTest() {
    super(Backend.memory());
  }
}
