package dev.brook.tests.behaviour;

import static dev.brook.redis.Redis.channel;
import static dev.brook.redis.Redis.list;
import static dev.brook.redis.Redis.stream;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.brook.Destination;
import dev.brook.DuplicatePolicy;
import dev.brook.DuplicateSubscriptionException;
import dev.brook.Subscribe;
import dev.brook.Subscription;
import dev.brook.redis.RedisBroker;
import dev.brook.tests.Calls;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The seed scenario (FastStream's notebook bug, pinned): re-running the same registration code on a
 * long-lived broker leaves one subscription, and a message is handled once, by the newest handler.
 */
abstract class DuplicatePolicyBehaviour extends Behaviour {

  DuplicatePolicyBehaviour(Backend backend) {
    super(backend);
  }

  /** What a notebook cell or JShell snippet does: a new lambda every run. */
  private static Subscription registrationSnippet(RedisBroker broker, Destination destination, int run, List<String> calls) {
    return broker.subscriber(destination).handle(String.class, (order, ctx) -> {
      calls.add("run " + run + ": " + order);
      return null;
    });
  }

  static Stream<Destination> everyKind() {
    return Stream.of(channel("orders"), list("orders").consumer("c"), stream("orders").group("g").consumer("c"));
  }

  @ParameterizedTest
  @MethodSource("everyKind")
  void runningARegistrationThreeTimesLeavesOneSubscriptionAndOneCall(Destination destination) {
    RedisBroker broker = started();
    List<String> calls = new CopyOnWriteArrayList<>();
    Subscription first = registrationSnippet(broker, destination, 1, calls);
    Subscription second = registrationSnippet(broker, destination, 2, calls);
    Subscription third = registrationSnippet(broker, destination, 3, calls);

    assertThat(broker.subscriptions()).containsExactly(third);
    assertThat(first.state()).isEqualTo(Subscription.State.CLOSED);
    assertThat(second.state()).isEqualTo(Subscription.State.CLOSED);
    assertThat(third.state()).isEqualTo(Subscription.State.RUNNING);

    broker.publish("book", destination);
    broker.publish("marker", destination); // a stacked handler would show itself by now
    eventually().until(() -> calls.size() >= 2);
    assertThat(calls).containsExactly("run 3: book", "run 3: marker");
    assertThat(third.metrics().received()).isEqualTo(2);
  }

  @Test
  void reRegisteringBeforeStartAlsoLeavesOne() {
    RedisBroker broker = backend.broker();
    List<String> calls = new CopyOnWriteArrayList<>();
    for (int run = 1; run <= 3; run++) {
      registrationSnippet(broker, channel("orders"), run, calls);
    }
    backend.start(broker);
    assertThat(broker.subscriptions()).hasSize(1);
    broker.publish("pen", channel("orders"));
    broker.publish("marker", channel("orders"));
    eventually().until(() -> calls.size() >= 2);
    assertThat(calls).containsExactly("run 3: pen", "run 3: marker");
  }

  @Test
  void underRejectTheSecondRunThrowsAndNamesTheId() {
    RedisBroker broker = started(b -> b.duplicatePolicy(DuplicatePolicy.REJECT));
    List<String> calls = new CopyOnWriteArrayList<>();
    Subscription first = registrationSnippet(broker, channel("orders"), 1, calls);
    assertThatThrownBy(() -> registrationSnippet(broker, channel("orders"), 2, calls))
        .isInstanceOf(DuplicateSubscriptionException.class)
        .hasMessageStartingWith("A subscription with id 'channel:orders' is already live (registered at "
            + DuplicatePolicyBehaviour.class.getName() + ".registrationSnippet(DuplicatePolicyBehaviour.java:")
        .hasMessageEndingWith("Close it first, give the new one another id with .id(...), or use DuplicatePolicy.REPLACE.")
        .satisfies(e -> assertThat(((DuplicateSubscriptionException) e).id()).isEqualTo("channel:orders"));
    assertThat(broker.subscriptions()).containsExactly(first);
    assertThat(first.state()).isEqualTo(Subscription.State.RUNNING);
    broker.publish("still", channel("orders"));
    eventually().until(() -> calls.size() == 1);
    assertThat(calls).containsExactly("run 1: still");
  }

  @Test
  void twoHandlersOnOneDestinationOnPurposeNeedTwoIds() {
    RedisBroker broker = started();
    Calls<String> a = new Calls<>();
    Calls<String> b = new Calls<>();
    broker.subscriber(channel("orders")).id("billing").handle(String.class, a);
    broker.subscriber(channel("orders")).id("shipping").handle(String.class, b);
    assertThat(broker.subscriptions()).hasSize(2);
    broker.publish("x", channel("orders"));
    assertThat(a.awaitOne().payload()).isEqualTo("x");
    assertThat(b.awaitOne().payload()).isEqualTo("x");
  }

  static class Orders {
    final List<String> calls;
    final String name;

    Orders(String name, List<String> calls) {
      this.name = name;
      this.calls = calls;
    }

    @Subscribe(channel = "orders")
    void onOrder(String order) {
      calls.add(name + ": " + order);
    }
  }

  @Test
  void includingAnotherInstanceReplacesAndTheSameInstanceChangesNothing() {
    RedisBroker broker = started();
    List<String> calls = new CopyOnWriteArrayList<>();
    Orders first = new Orders("first", calls);
    List<Subscription> a = broker.include(first);
    assertThat(broker.include(first)).isEqualTo(a); // the very same subscriptions: nothing replaced
    List<Subscription> b = broker.include(new Orders("second", calls));
    assertThat(broker.subscriptions()).containsExactlyElementsOf(b);
    assertThat(a).allMatch(s -> s.state() == Subscription.State.CLOSED);
    broker.publish("x", channel("orders"));
    broker.publish("y", channel("orders"));
    eventually().until(() -> calls.size() >= 2);
    assertThat(calls).containsExactly("second: x", "second: y");
  }

  @Test
  void underRejectIncludingAgainThrowsOnlyForANewInstance() {
    RedisBroker broker = started(b -> b.duplicatePolicy(DuplicatePolicy.REJECT));
    List<String> calls = new CopyOnWriteArrayList<>();
    Orders first = new Orders("first", calls);
    broker.include(first);
    broker.include(first); // same object: nothing to reject
    assertThatThrownBy(() -> broker.include(new Orders("second", calls))).isInstanceOf(DuplicateSubscriptionException.class)
        .hasMessageStartingWith("A subscription with id '" + Orders.class.getName() + "#onOrder' is already live");
  }
}
