package dev.brook.tests.behaviour;

class StreamInMemoryTest extends StreamBehaviour {
  StreamInMemoryTest() {
    super(Backend.memory());
  }
}
