package dev.brook.tests.behaviour;

import static dev.brook.redis.Redis.list;
import static dev.brook.redis.Redis.stream;
import static org.assertj.core.api.Assertions.assertThat;

import dev.brook.AckPolicy;
import dev.brook.Subscription;
import dev.brook.redis.RedisBroker;
import dev.brook.tests.Calls;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * What each ack policy does with a message whose handler fails, and with one it handles, on a
 * reliable list and on a stream group: where the message is afterwards.
 */
abstract class AckPolicyBehaviour extends Behaviour {

  AckPolicyBehaviour(Backend backend) {
    super(backend);
  }

  /** Fails the first delivery of every message, handles later ones. */
  private static final class FailsOnce {
    final AtomicInteger calls = new AtomicInteger();

    Object handle(String s) {
      if (calls.incrementAndGet() == 1) {
        throw new IllegalStateException("first attempt of " + s);
      }
      return null;
    }
  }

  @ParameterizedTest
  @EnumSource(AckPolicy.class)
  void aFailingHandlerOnAList(AckPolicy policy) {
    RedisBroker broker = started();
    FailsOnce handler = new FailsOnce();
    Subscription sub = broker.subscriber(list("jobs").consumer("c").deadLetter()).ackPolicy(policy)
        .handle(String.class, (s, ctx) -> handler.handle(s));
    backend.despiteFailures(() -> broker.publish("job", list("jobs")));
    switch (policy) {
      case ACK_FIRST, ACK -> {
        // acknowledged despite the failure: gone (the processing list is empty before the item is taken, too)
        eventually().until(() -> handler.calls.get() == 1);
        eventually().until(() -> backend.list("{jobs}:processing:c").isEmpty());
        assertThat(backend.list("{jobs}:dlq")).isEmpty();
      }
      case REJECT_ON_ERROR -> {
        eventually().until(() -> backend.list("{jobs}:dlq").size() == 1);
        assertThat(backend.list("{jobs}:dlq").get(0).header("x-error")).isEqualTo("java.lang.IllegalStateException: first attempt of job");
        eventually().until(() -> backend.list("{jobs}:processing:c").isEmpty());
      }
      case NACK_ON_ERROR -> {
        // back at the head of the queue after a back-off of 100 ms, delivered again, handled
        backend.pass(java.time.Duration.ofMillis(100));
        eventually().until(() -> handler.calls.get() == 2);
        eventually().until(() -> backend.list("{jobs}:processing:c").isEmpty());
        assertThat(backend.list("{jobs}:dlq")).isEmpty();
      }
      case MANUAL -> {
        // nobody settled it: it stays in the processing list
        eventually().until(() -> handler.calls.get() == 1);
        eventually().until(() -> backend.list("{jobs}:processing:c").size() == 1);
        assertThat(backend.list("{jobs}:dlq")).isEmpty();
      }
    }
    assertThat(backend.list("jobs")).isEmpty();
    assertThat(handler.calls).hasValue(policy == AckPolicy.NACK_ON_ERROR ? 2 : 1);
    assertThat(sub.metrics().failed()).isEqualTo(1);
  }

  @ParameterizedTest
  @EnumSource(AckPolicy.class)
  void aFailingHandlerOnAStreamGroup(AckPolicy policy) {
    RedisBroker broker = started();
    FailsOnce handler = new FailsOnce();
    Subscription sub = broker.subscriber(stream("events").group("g").consumer("c")).ackPolicy(policy)
        .handle(String.class, (s, ctx) -> handler.handle(s));
    backend.despiteFailures(() -> broker.publish("event", stream("events")));
    eventually().until(() -> handler.calls.get() >= 1);
    switch (policy) {
      case ACK_FIRST, ACK -> eventually().until(() -> backend.pending("events", "g").isEmpty());
      case REJECT_ON_ERROR -> {
        eventually().until(() -> backend.stream("{events}:dlq").size() == 1 && backend.pending("events", "g").isEmpty());
        assertThat(backend.stream("{events}:dlq").get(0).header("x-error")).isEqualTo("java.lang.IllegalStateException: first attempt of event");
      }
      // pending; its consumer claims it again once the back-off (100 ms) passed, not after minIdle
      case NACK_ON_ERROR -> {
        backend.pass(Duration.ofSeconds(1));
        eventually().until(() -> handler.calls.get() == 2 && backend.pending("events", "g").isEmpty());
      }
      // pending until someone settles it
      case MANUAL -> eventually().until(() -> List.copyOf(backend.pending("events", "g").values()).equals(List.of(1L)));
    }
    assertThat(handler.calls).hasValue(policy == AckPolicy.NACK_ON_ERROR ? 2 : 1);
    if (policy != AckPolicy.REJECT_ON_ERROR) {
      assertThat(backend.stream("{events}:dlq")).isEmpty();
    }
    assertThat(sub.metrics().failed()).isEqualTo(1);
  }

  @ParameterizedTest
  @EnumSource(AckPolicy.class)
  void aHandledMessageIsAcknowledgedByEveryPolicyButManual(AckPolicy policy) {
    RedisBroker broker = started();
    Calls<String> listCalls = new Calls<>();
    Calls<String> streamCalls = new Calls<>();
    broker.subscriber(list("ok-list").consumer("c")).ackPolicy(policy).handle(String.class, listCalls);
    broker.subscriber(stream("ok-stream").group("g").consumer("c")).ackPolicy(policy).handle(String.class, streamCalls);
    broker.publish("fine", list("ok-list"));
    broker.publish("fine", stream("ok-stream"));
    listCalls.awaitOne();
    streamCalls.awaitOne();
    int left = policy == AckPolicy.MANUAL ? 1 : 0;
    eventually().until(() -> backend.list("{ok-list}:processing:c").size() == left
        && backend.pending("ok-stream", "g").size() == left);
  }

  @Test
  void ackFirstAcknowledgesBeforeTheHandlerRuns() {
    RedisBroker broker = started();
    List<Integer> seenInProcessing = new java.util.concurrent.CopyOnWriteArrayList<>();
    List<Integer> seenPending = new java.util.concurrent.CopyOnWriteArrayList<>();
    broker.subscriber(list("early-list").consumer("c")).ackPolicy(AckPolicy.ACK_FIRST).handle(String.class, (s, ctx) -> {
      Behaviour.eventually().until(() -> backend.list("{early-list}:processing:c").isEmpty());
      seenInProcessing.add(backend.list("{early-list}:processing:c").size());
      return null;
    });
    broker.subscriber(stream("early-stream").group("g").consumer("c")).ackPolicy(AckPolicy.ACK_FIRST).handle(String.class, (s, ctx) -> {
      Behaviour.eventually().until(() -> backend.pending("early-stream", "g").isEmpty());
      seenPending.add(backend.pending("early-stream", "g").size());
      return null;
    });
    broker.publish("x", list("early-list"));
    broker.publish("x", stream("early-stream"));
    eventually().until(() -> seenInProcessing.size() == 1 && seenPending.size() == 1);
    assertThat(seenInProcessing).containsExactly(0);
    assertThat(seenPending).containsExactly(0);
  }
}
