package dev.brook.tests.behaviour;

class ConsumeSignalsInMemoryTest extends ConsumeSignalsBehaviour {
  ConsumeSignalsInMemoryTest() {
    super(Backend.memory());
  }
}
