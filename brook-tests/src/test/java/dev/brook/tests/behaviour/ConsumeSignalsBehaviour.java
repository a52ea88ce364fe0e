package dev.brook.tests.behaviour;

import static dev.brook.redis.Redis.channel;
import static dev.brook.redis.Redis.list;
import static dev.brook.redis.Redis.stream;
import static org.assertj.core.api.Assertions.assertThat;

import dev.brook.AckPolicy;
import dev.brook.SkipMessage;
import dev.brook.StopConsume;
import dev.brook.Subscription;
import dev.brook.redis.RedisBroker;
import dev.brook.tests.Calls;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

/**
 * FastStream's {@code SkipMessage} and {@code StopConsume} thrown by a handler: a skipped message
 * stays unsettled (and comes back as unsettled messages do), without an error or a failure count; a
 * handler stopping its own subscription settles its message, never waits for itself, and leaves what
 * it did not take in Redis, in order.
 */
abstract class ConsumeSignalsBehaviour extends Behaviour {

  ConsumeSignalsBehaviour(Backend backend) {
    super(backend);
  }

  private List<String> texts(String key) {
    return backend.list(key).stream().map(Backend.Stored::text).toList();
  }

  @Test
  void aSkippedListMessageStaysInProcessingAndComesBackToTheNextConsumer() {
    RedisBroker broker = started();
    List<String> seen = new CopyOnWriteArrayList<>();
    Subscription sub = broker.subscriber(list("skip").consumer("c").deadLetter()).handle(String.class, (s, ctx) -> {
      seen.add(s);
      if (s.equals("skip me")) {
        throw new SkipMessage();
      }
      return null;
    });
    broker.publishBatch(List.of("a", "skip me", "b"), list("skip"));
    eventually().until(() -> seen.size() == 3);
    eventually().until(() -> texts("{skip}:processing:c").equals(List.of("skip me")));
    assertThat(texts("{skip}:dlq")).isEmpty();
    assertThat(sub.metrics().failed()).isZero();
    assertThat(sub.metrics().decodeErrors()).isZero();
    assertThat(sub.metrics().handled()).isEqualTo(2);
    sub.close();

    Calls<String> again = new Calls<>();
    broker.subscriber(list("skip").consumer("c")).handle(String.class, again);
    assertThat(again.awaitOne().payload()).isEqualTo("skip me");
    eventually().until(() -> backend.list("{skip}:processing:c").isEmpty());
  }

  @Test
  void aSkippedStreamEntryStaysPending() {
    RedisBroker broker = started();
    List<String> seen = new CopyOnWriteArrayList<>();
    Subscription sub = broker.subscriber(stream("skip-s").group("g").consumer("c")).handle(String.class, (s, ctx) -> {
      seen.add(s);
      if (s.equals("skip me")) {
        throw new SkipMessage();
      }
      return null;
    });
    broker.publish("skip me", stream("skip-s"));
    broker.publish("fine", stream("skip-s"));
    eventually().until(() -> seen.size() == 2);
    eventually().until(() -> backend.pending("skip-s", "g").size() == 1);
    assertThat(backend.pending("skip-s", "g").values()).containsExactly(1L);
    assertThat(backend.stream("{skip-s}:dlq")).isEmpty();
    assertThat(sub.metrics().failed()).isZero();
    sub.close();

    Calls<String> again = new Calls<>();
    broker.subscriber(stream("skip-s").group("g").consumer("c")).handle(String.class, again);
    assertThat(again.awaitOne().payload()).isEqualTo("skip me");
    eventually().until(() -> backend.pending("skip-s", "g").isEmpty());
  }

  @Test
  void aMessageAckedBeforeTheSkipStaysAcked() {
    RedisBroker broker = started();
    Calls<String> calls = new Calls<>();
    Subscription sub = broker.subscriber(list("skip-acked").consumer("c")).ackPolicy(AckPolicy.MANUAL)
        .handle(String.class, (s, ctx) -> {
          calls.handle(s, ctx);
          ctx.ack();
          throw new SkipMessage();
        });
    broker.publish("x", list("skip-acked"));
    calls.awaitOne();
    eventually().until(() -> backend.list("{skip-acked}:processing:c").isEmpty());
    assertThat(sub.metrics().failed()).isZero();
  }

  @Test
  void aSkippedChannelMessageIsNoFailureAndTheSubscriptionGoesOn() {
    RedisBroker broker = started();
    Calls<String> calls = new Calls<>();
    Subscription sub = broker.subscriber(channel("skip-ch")).handle(String.class, (s, ctx) -> {
      calls.handle(s, ctx);
      if (s.equals("skip")) {
        throw new SkipMessage();
      }
      return null;
    });
    broker.publish("skip", channel("skip-ch"));
    broker.publish("next", channel("skip-ch"));
    assertThat(calls.await(2)).extracting(Calls.Call::payload).containsExactly("skip", "next");
    eventually().until(() -> sub.metrics().handled() == 1);
    assertThat(sub.metrics().failed()).isZero();
    assertThat(sub.state()).isEqualTo(Subscription.State.RUNNING);
  }

  @Test
  void stopConsumeOnAChannelStopsTheSubscription() {
    RedisBroker broker = started();
    Calls<String> calls = new Calls<>();
    Subscription sub = broker.subscriber(channel("stop-ch")).handle(String.class, (s, ctx) -> {
      calls.handle(s, ctx);
      if (s.equals("stop")) {
        throw new StopConsume();
      }
      return null;
    });
    broker.publish("one", channel("stop-ch"));
    broker.publish("stop", channel("stop-ch"));
    calls.await(2);
    eventually().until(() -> sub.state() == Subscription.State.STOPPED);
    assertThat(sub.metrics().handled()).isEqualTo(2);
    assertThat(sub.metrics().failed()).isZero();
    broker.publish("after", channel("stop-ch"));
    backend.pass(java.time.Duration.ofMillis(100));
    assertThat(calls.payloads()).containsExactly("one", "stop");
    // it can be started again
    sub.start();
    broker.publish("again", channel("stop-ch"));
    eventually().until(() -> calls.payloads().contains("again"));
  }

  @Test
  void stopConsumeAcknowledgesItsMessageAndLeavesTheRestOfTheStreamUnread() {
    RedisBroker broker = started();
    List<String> seen = new CopyOnWriteArrayList<>();
    Subscription sub = broker.subscriber(stream("stop-s").group("g").consumer("c")).handle(String.class, (s, ctx) -> {
      seen.add(s);
      throw new StopConsume();
    });
    broker.publish("first", stream("stop-s"));
    eventually().until(() -> sub.state() == Subscription.State.STOPPED);
    eventually().until(() -> backend.pending("stop-s", "g").isEmpty());
    assertThat(seen).containsExactly("first");
    broker.publish("second", stream("stop-s"));
    broker.publish("third", stream("stop-s"));
    backend.pass(java.time.Duration.ofMillis(100));
    assertThat(seen).containsExactly("first");
    sub.close();

    Calls<String> next = new Calls<>();
    broker.subscriber(stream("stop-s").group("g").consumer("c")).handle(String.class, next);
    assertThat(next.await(2)).extracting(Calls.Call::payload).containsExactly("second", "third");
  }

  @Test
  void stopConsumeWithConcurrencyLeavesWhatWasNotTakenInTheListInOrder() {
    RedisBroker broker = started();
    List<String> all = IntStream.range(0, 30).mapToObj(i -> "m" + i).toList();
    broker.publishBatch(all, list("stop-l"));
    List<String> handled = new CopyOnWriteArrayList<>();
    Subscription sub = broker.subscriber(list("stop-l").consumer("c")).concurrency(3).handle(String.class, (s, ctx) -> {
      handled.add(s);
      if (s.equals("m5")) {
        throw new StopConsume();
      }
      Thread.sleep(5);
      return null;
    });
    eventually().until(() -> sub.state() == Subscription.State.STOPPED);
    eventually().until(() -> backend.list("{stop-l}:processing:c").isEmpty());
    assertThat(handled).contains("m5").doesNotHaveDuplicates();
    List<String> left = new ArrayList<>(all);
    left.removeAll(handled);
    assertThat(texts("stop-l")).containsExactlyElementsOf(left);
    assertThat(left).isNotEmpty();
    assertThat(sub.metrics().failed()).isZero();
    assertThat(sub.metrics().handled()).isEqualTo(handled.size());

    sub.start();
    eventually().until(() -> handled.size() >= all.size());
    assertThat(handled).containsExactlyInAnyOrderElementsOf(all);
  }

  @Test
  void stopConsumeFromSeveralHandlersAtOnceStopsOnce() {
    RedisBroker broker = started();
    broker.publishBatch(IntStream.range(0, 10).mapToObj(i -> "s" + i).toList(), list("stop-all"));
    List<String> handled = new CopyOnWriteArrayList<>();
    Subscription sub = broker.subscriber(list("stop-all").consumer("c")).concurrency(4).handle(String.class, (s, ctx) -> {
      handled.add(s);
      Thread.sleep(5);
      throw new StopConsume();
    });
    eventually().until(() -> sub.state() == Subscription.State.STOPPED);
    eventually().until(() -> backend.list("{stop-all}:processing:c").isEmpty());
    assertThat(handled).isNotEmpty().doesNotHaveDuplicates();
    assertThat(backend.list("stop-all")).hasSize(10 - handled.size());
  }

  @Test
  void stopConsumeWithConcurrencyOnAStreamGroupLosesAndRepeatsNothing() {
    RedisBroker broker = started();
    List<String> all = IntStream.range(0, 30).mapToObj(i -> "e" + i).toList();
    List<String> handled = new CopyOnWriteArrayList<>();
    Subscription sub = broker.subscriber(stream("stop-g").group("g").consumer("c")).concurrency(3)
        .handle(String.class, (s, ctx) -> {
          handled.add(s);
          if (s.equals("e5") && ctx.deliveryCount() == 1) {
            throw new StopConsume();
          }
          Thread.sleep(5);
          return null;
        });
    sub.stop(); // the entries wait in the stream, so the subscription has many at once when it starts
    broker.publishBatch(all, stream("stop-g"));
    sub.start();
    eventually().until(() -> sub.state() == Subscription.State.STOPPED);
    assertThat(handled).contains("e5").doesNotHaveDuplicates();
    assertThat(handled.size()).isLessThan(all.size());
    // what was handled is acknowledged; what was buffered went back pending with its attempt undone
    eventually().until(() -> backend.pending("stop-g", "g").values().stream().allMatch(n -> n == 0L || n == 1L));
    assertThat(backend.stream("{stop-g}:dlq")).isEmpty();

    sub.start();
    eventually().until(() -> handled.size() >= all.size());
    backend.pass(java.time.Duration.ofMillis(200));
    assertThat(handled).containsExactlyInAnyOrderElementsOf(all);
    eventually().until(() -> backend.pending("stop-g", "g").isEmpty());
  }
}
