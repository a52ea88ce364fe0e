/**
 * Testing Brook services: the in-memory {@code TestRedisBroker}, private {@code redis-server}
 * processes ({@code RedisServer}) and their JUnit 5 extension.
 */
module dev.brook.testing {
  requires transitive dev.brook.redis;
  requires transitive org.junit.jupiter.api;
  requires lettuce.core;
  requires io.netty.common;
  // LeakCheckExtension counts threads.
  requires java.management;
  requires jdk.management;

  exports dev.brook.testing;
}
