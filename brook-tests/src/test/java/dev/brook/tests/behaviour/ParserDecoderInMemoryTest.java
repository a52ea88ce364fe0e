package dev.brook.tests.behaviour;

class ParserDecoderInMemoryTest extends ParserDecoderBehaviour {
  ParserDecoderInMemoryTest() {
    super(Backend.memory());
  }
}
