package dev.brook.tests.behaviour;

class ResponseInMemoryTest extends ResponseBehaviour {
  ResponseInMemoryTest() {
    super(Backend.memory());
  }
}
