package dev.brook.tests.behaviour;

class PartitionedStreamInMemoryTest extends PartitionedStreamBehaviour {
  PartitionedStreamInMemoryTest() {
    super(Backend.memory());
  }
}
