package dev.brook.tests.behaviour;

class BatchHeadersInMemoryTest extends BatchHeadersBehaviour {
  BatchHeadersInMemoryTest() {
    super(Backend.memory());
  }
}
