package dev.brook.tests.behaviour;

class RequestReplyInMemoryTest extends RequestReplyBehaviour {
  RequestReplyInMemoryTest() {
    super(Backend.memory());
  }
}
