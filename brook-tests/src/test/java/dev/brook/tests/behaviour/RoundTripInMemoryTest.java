package dev.brook.tests.behaviour;

class RoundTripInMemoryTest extends RoundTripBehaviour {
  RoundTripInMemoryTest() {
    super(Backend.memory());
  }
}
