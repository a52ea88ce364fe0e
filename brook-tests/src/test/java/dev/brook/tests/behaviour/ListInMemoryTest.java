package dev.brook.tests.behaviour;

class ListInMemoryTest extends ListBehaviour {
  ListInMemoryTest() {
    super(Backend.memory());
  }
}
