package dev.brook.tests;

import static dev.brook.redis.Redis.channel;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.brook.DuplicatePolicy;
import dev.brook.DuplicateSubscriptionException;
import dev.brook.Subscription;
import dev.brook.redis.RedisBroker;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;

/**
 * FastStream's notebook bug, pinned: re-running the same registration code on a long-lived broker
 * must leave one subscription, and a message must be handled once, by the newest handler.
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
  void runningRegistrationThreeTimesLeavesOneSubscriptionAndOneCall() throws Exception {
    RedisBroker broker = broker();
    broker.start();
    List<String> calls = new CopyOnWriteArrayList<>();
    Subscription first = registrationSnippet(broker, 1, calls);
    Subscription second = registrationSnippet(broker, 2, calls);
    Subscription third = registrationSnippet(broker, 3, calls);

    assertThat(broker.subscriptions()).hasSize(1).containsExactly(third);
    assertThat(first.state()).isEqualTo(Subscription.State.CLOSED);
    assertThat(second.state()).isEqualTo(Subscription.State.CLOSED);
    assertThat(third.state()).isEqualTo(Subscription.State.RUNNING);
    assertThat(redis.command("PUBSUB", "NUMSUB", "orders")).isEqualTo(List.of("orders", 1L));

    broker.publish("book", channel("orders"));
    await().atMost(Duration.ofSeconds(5)).until(() -> calls.size() >= 1);
    // Give a stacked handler time to show itself before asserting there is none.
    broker.publish("marker", channel("orders"));
    await().atMost(Duration.ofSeconds(5)).until(() -> calls.size() >= 2);
    assertThat(calls).containsExactly("run 3: book", "run 3: marker");
  }

  @Test
  void reRegisteringBeforeStartAlsoLeavesOne() {
    RedisBroker broker = broker();
    List<String> calls = new CopyOnWriteArrayList<>();
    for (int run = 1; run <= 3; run++) {
      registrationSnippet(broker, run, calls);
    }
    broker.start();
    assertThat(broker.subscriptions()).hasSize(1);
    broker.publish("pen", channel("orders"));
    await().atMost(Duration.ofSeconds(5)).until(() -> calls.size() >= 1);
    broker.publish("marker", channel("orders"));
    await().atMost(Duration.ofSeconds(5)).until(() -> calls.size() >= 2);
    assertThat(calls).containsExactly("run 3: pen", "run 3: marker");
  }

  @Test
  void underRejectTheSecondRunThrowsAndNamesTheId() {
    RedisBroker broker = broker(b -> b.duplicatePolicy(DuplicatePolicy.REJECT));
    broker.start();
    List<String> calls = new CopyOnWriteArrayList<>();
    Subscription first = registrationSnippet(broker, 1, calls);
    assertThatThrownBy(() -> registrationSnippet(broker, 2, calls))
        .isInstanceOf(DuplicateSubscriptionException.class)
        .hasMessageStartingWith("A subscription with id 'channel:orders' is already live (registered at "
            + "dev.brook.tests.SeedScenarioTest.registrationSnippet(SeedScenarioTest.java:")
        .hasMessageEndingWith("Close it first, give the new one another id with .id(...), or use DuplicatePolicy.REPLACE.")
        .satisfies(e -> assertThat(((DuplicateSubscriptionException) e).id()).isEqualTo("channel:orders"));
    assertThat(broker.subscriptions()).containsExactly(first);
    assertThat(first.state()).isEqualTo(Subscription.State.RUNNING);
  }

  @Test
  void twoHandlersOnOneChannelOnPurposeNeedTwoIds() {
    RedisBroker broker = broker();
    broker.start();
    Recorder<String> a = new Recorder<>();
    Recorder<String> b = new Recorder<>();
    broker.subscriber(channel("orders")).id("billing").handle(String.class, a);
    broker.subscriber(channel("orders")).id("shipping").handle(String.class, b);
    assertThat(broker.subscriptions()).hasSize(2);
    assertThat(redis.command("PUBSUB", "NUMSUB", "orders")).isEqualTo(List.of("orders", 1L));
    broker.publish("x", channel("orders"));
    assertThat(a.awaitOne().payload()).isEqualTo("x");
    assertThat(b.awaitOne().payload()).isEqualTo("x");
  }
}
