package dev.brook.tests.behaviour;

import static org.awaitility.Awaitility.await;

import dev.brook.redis.RedisBroker;
import java.time.Duration;
import java.util.function.Consumer;
import org.awaitility.core.ConditionFactory;
import org.junit.jupiter.api.AfterEach;

/**
 * The base of every behaviour suite: each abstract subclass states behaviours once, and two
 * concrete classes run it — {@code …OnRedisTest} on a private redis-server, {@code …InMemoryTest}
 * on {@code TestRedisBroker} — as FastStream's {@code tests/brokers/base/*.py} do. A difference in
 * outcome between the two is a bug in the in-memory model.
 *
 * <p>Rules for the tests: build and start brokers through {@link #backend}; read Redis' state only
 * through it; wait with {@link #eventually()} (the in-memory backend is synchronous, so its
 * conditions hold at once, Redis' within a moment); run what makes handlers fail on purpose inside
 * {@link Backend#despiteFailures}; several brokers of one test share one in-memory Redis (as they would share a server).
 */
abstract class Behaviour {

  protected final Backend backend;

  Behaviour(Backend backend) {
    this.backend = backend;
  }

  @AfterEach
  void closeBackend() throws Exception {
    backend.close();
  }

  /** A started broker with default options. */
  protected RedisBroker started() {
    return backend.started();
  }

  protected RedisBroker started(Consumer<RedisBroker.Builder> options) {
    return backend.started(options);
  }

  /** Awaitility, polling from the first moment: instant in memory, as quick as Redis allows on it. */
  static ConditionFactory eventually() {
    return await().atMost(Duration.ofSeconds(10)).pollDelay(Duration.ZERO).pollInterval(Duration.ofMillis(10));
  }
}
