package dev.brook.tests.behaviour;

class MiddlewareInMemoryTest extends MiddlewareBehaviour {
  MiddlewareInMemoryTest() {
    super(Backend.memory());
  }
}
