package dev.brook.tests;

import static dev.brook.redis.Redis.channel;
import static org.assertj.core.api.Assertions.assertThat;

import dev.brook.Subscription;
import dev.brook.redis.RedisBroker;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;

/**
 * FastStream's notebook bug, pinned, as Redis sees it: re-running the same registration code leaves
 * one SUBSCRIBE. That a message is then handled once, by the newest handler, is in {@code
 * behaviour.DuplicatePolicyBehaviour}, on Redis and in memory.
 */
class SeedScenarioTest extends RedisTestBase {

  /** What a notebook cell or JShell snippet does: a new lambda every run. */
  private static Subscription registrationSnippet(RedisBroker broker, int run, List<String> calls) {
    return broker.subscriber(channel("orders")).handle(String.class, (order, ctx) -> {
      calls.add("run " + run + ": " + order);
      return null;
    });
  }

  @Test
  void runningRegistrationThreeTimesLeavesOneRedisSubscription() {
    RedisBroker broker = broker();
    broker.start();
    List<String> calls = new CopyOnWriteArrayList<>();
    registrationSnippet(broker, 1, calls);
    registrationSnippet(broker, 2, calls);
    registrationSnippet(broker, 3, calls);
    assertThat(broker.subscriptions()).hasSize(1);
    assertThat(redis.command("PUBSUB", "NUMSUB", "orders")).isEqualTo(List.of("orders", 1L));
  }

  @Test
  void twoHandlersOnOneChannelOnPurposeShareOneRedisSubscription() {
    RedisBroker broker = broker();
    broker.start();
    broker.subscriber(channel("orders")).id("billing").handle(String.class, new Calls<>());
    broker.subscriber(channel("orders")).id("shipping").handle(String.class, new Calls<>());
    assertThat(broker.subscriptions()).hasSize(2);
    assertThat(redis.command("PUBSUB", "NUMSUB", "orders")).isEqualTo(List.of("orders", 1L));
  }
}
