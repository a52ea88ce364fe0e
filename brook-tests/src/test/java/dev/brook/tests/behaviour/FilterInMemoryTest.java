package dev.brook.tests.behaviour;

class FilterInMemoryTest extends FilterBehaviour {
  FilterInMemoryTest() {
    super(Backend.memory());
  }
}
