package dev.brook.tests.behaviour;

class AckPolicyInMemoryTest extends AckPolicyBehaviour {
  AckPolicyInMemoryTest() {
    super(Backend.memory());
  }
}
