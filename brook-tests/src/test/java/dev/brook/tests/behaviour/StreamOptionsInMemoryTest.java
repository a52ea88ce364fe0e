package dev.brook.tests.behaviour;

class StreamOptionsInMemoryTest extends StreamOptionsBehaviour {
  StreamOptionsInMemoryTest() {
    super(Backend.memory());
  }
}
