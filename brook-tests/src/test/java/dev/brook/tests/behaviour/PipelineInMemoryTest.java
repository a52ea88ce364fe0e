package dev.brook.tests.behaviour;

class PipelineInMemoryTest extends PipelineBehaviour {
  PipelineInMemoryTest() {
    super(Backend.memory());
  }
}
