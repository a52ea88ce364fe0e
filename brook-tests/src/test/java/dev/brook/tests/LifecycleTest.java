package dev.brook.tests;

import static dev.brook.redis.Redis.channel;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.brook.Subscription;
import dev.brook.Subscription.State;
import dev.brook.redis.RedisBroker;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** The state machine REGISTERED → RUNNING ⇄ STOPPED → CLOSED, and what each step releases. */
class LifecycleTest extends RedisTestBase {

  private Object numsub(String channel) {
    return ((List<?>) redis.command("PUBSUB", "NUMSUB", channel)).get(1);
  }

  @Test
  void statesAndIdempotentStartStop() {
    RedisBroker broker = broker();
    Subscription sub = broker.subscriber(channel("s")).handle(String.class, new Recorder<>());
    assertThat(sub.state()).isEqualTo(State.REGISTERED);
    broker.start();
    assertThat(sub.state()).isEqualTo(State.RUNNING);
    sub.start();
    sub.start();
    assertThat(numsub("s")).isEqualTo(1L);
    sub.stop();
    sub.stop();
    assertThat(sub.state()).isEqualTo(State.STOPPED);
    assertThat(numsub("s")).isEqualTo(0L);
    sub.start();
    assertThat(sub.state()).isEqualTo(State.RUNNING);
    sub.close();
    sub.close();
    assertThat(sub.state()).isEqualTo(State.CLOSED);
    assertThatThrownBy(sub::start)
        .isInstanceOf(IllegalStateException.class)
        .hasMessage("Subscription 'channel:s' is closed and cannot be started again. Register a new one with broker.subscriber(...).");
  }

  @Test
  void aDoubleStartNeverMakesASecondConsumer() {
    RedisBroker broker = broker();
    Recorder<String> recorder = new Recorder<>();
    Subscription sub = broker.subscriber(channel("s")).handle(String.class, recorder);
    broker.start();
    broker.start();
    sub.start();
    broker.publish("once", channel("s"));
    broker.publish("marker", channel("s"));
    recorder.awaitCount(2);
    assertThat(recorder.payloads()).containsExactly("once", "marker");
    assertThat(sub.metrics().received()).isEqualTo(2);
  }

  @Test
  void closeStopsDeliveryUnsubscribesAndUnregisters() {
    RedisBroker broker = broker();
    Recorder<String> recorder = new Recorder<>();
    Recorder<String> other = new Recorder<>();
    Subscription sub = broker.subscriber(channel("c")).handle(String.class, recorder);
    broker.subscriber(channel("keep")).handle(String.class, other);
    broker.start();
    broker.publish("before", channel("c"));
    recorder.awaitOne();

    sub.close();
    assertThat(numsub("c")).isEqualTo(0L);
    assertThat(broker.subscriptions()).extracting(Subscription::id).containsExactly("channel:keep");
    assertThat(broker.subscription("channel:c")).isNull();
    broker.publish("after", channel("c"));
    broker.publish("probe", channel("keep"));
    other.awaitOne();
    assertThat(recorder.payloads()).containsExactly("before");
    sub.close();
  }

  @Test
  void closingOneOfTwoSubscriptionsOnAChannelKeepsTheChannelSubscribed() {
    RedisBroker broker = broker();
    Recorder<String> a = new Recorder<>();
    Recorder<String> b = new Recorder<>();
    Subscription first = broker.subscriber(channel("shared")).id("a").handle(String.class, a);
    broker.subscriber(channel("shared")).id("b").handle(String.class, b);
    broker.start();
    first.close();
    assertThat(numsub("shared")).isEqualTo(1L);
    broker.publish("x", channel("shared"));
    assertThat(b.awaitOne().payload()).isEqualTo("x");
    assertThat(a.calls()).isEmpty();
  }

  @Test
  void brokerStartNeverRestartsWhatTheUserStopped() {
    RedisBroker broker = broker();
    Subscription userStopped = broker.subscriber(channel("u")).handle(String.class, new Recorder<>());
    Subscription brokerStopped = broker.subscriber(channel("b")).handle(String.class, new Recorder<>());
    broker.start();
    userStopped.stop();
    broker.stop();
    assertThat(brokerStopped.state()).isEqualTo(State.STOPPED);
    broker.start();
    assertThat(brokerStopped.state()).isEqualTo(State.RUNNING);
    assertThat(userStopped.state()).isEqualTo(State.STOPPED);
  }

  @Test
  void aSubscriptionAddedToARunningBrokerStartsAtOnce() {
    RedisBroker broker = broker();
    broker.start();
    Recorder<String> recorder = new Recorder<>();
    Subscription sub = broker.subscriber(channel("late")).handle(String.class, recorder);
    assertThat(sub.state()).isEqualTo(State.RUNNING);
    broker.publish("hi", channel("late"));
    assertThat(recorder.awaitOne().payload()).isEqualTo("hi");
  }

  @Test
  void stopLetsTheHandlerInFlightFinish() throws Exception {
    RedisBroker broker = broker();
    CountDownLatch entered = new CountDownLatch(1);
    AtomicInteger finished = new AtomicInteger();
    Subscription sub = broker.subscriber(channel("slow")).handle(String.class, (s, ctx) -> {
      entered.countDown();
      Thread.sleep(300);
      finished.incrementAndGet();
      return null;
    });
    broker.start();
    broker.publish("work", channel("slow"));
    assertThat(entered.await(5, TimeUnit.SECONDS)).isTrue();
    sub.stop();
    assertThat(finished.get()).isEqualTo(1);
    assertThat(sub.metrics().handled()).isEqualTo(1);
  }

  @Test
  void brokerCloseShareOneDeadlineAcrossSubscriptions() throws Exception {
    RedisBroker broker = broker(b -> b.gracefulTimeout(Duration.ofSeconds(1)));
    int n = 20;
    CountDownLatch allEntered = new CountDownLatch(n);
    for (int i = 0; i < n; i++) {
      broker.subscriber(channel("busy" + i)).handle(String.class, (s, ctx) -> {
        allEntered.countDown();
        Thread.sleep(60_000); // ignores nothing: interrupted when the deadline passes
        return null;
      });
    }
    broker.start();
    for (int i = 0; i < n; i++) {
      broker.publish("x", channel("busy" + i));
    }
    assertThat(allEntered.await(10, TimeUnit.SECONDS)).isTrue();
    long t0 = System.nanoTime();
    broker.close();
    Duration took = Duration.ofNanos(System.nanoTime() - t0);
    // One shared 1 s deadline, not 20 × 1 s.
    assertThat(took).isLessThan(Duration.ofSeconds(4));
    assertThat(broker.subscriptions()).isEmpty();
  }

  @Test
  void aHandlerMayCloseItsOwnSubscription() {
    RedisBroker broker = broker();
    Subscription[] self = new Subscription[1];
    AtomicInteger calls = new AtomicInteger();
    self[0] = broker.subscriber(channel("once")).handle(String.class, (s, ctx) -> {
      calls.incrementAndGet();
      self[0].close();
      return null;
    });
    broker.start();
    broker.publish("x", channel("once"));
    await().atMost(Duration.ofSeconds(5)).until(() -> self[0].state() == State.CLOSED);
    assertThat(calls.get()).isEqualTo(1);
    assertThat(broker.subscriptions()).isEmpty();
  }

  @Test
  void handlerExceptionsAreCountedAndTheSubscriptionGoesOn() {
    RedisBroker broker = broker();
    Recorder<String> ok = new Recorder<>();
    Subscription sub = broker.subscriber(channel("f")).handle(String.class, (s, ctx) -> {
      if (s.equals("boom")) {
        throw new IllegalStateException("handler failed on purpose");
      }
      return ok.handle(s, ctx);
    });
    broker.start();
    broker.publish("boom", channel("f"));
    broker.publish("fine", channel("f"));
    assertThat(ok.awaitOne().payload()).isEqualTo("fine");
    assertThat(sub.metrics().failed()).isEqualTo(1);
    assertThat(sub.metrics().handled()).isEqualTo(1);
    assertThat(sub.state()).isEqualTo(State.RUNNING);
  }

  @Test
  void concurrencyRunsHandlersInParallel() throws Exception {
    RedisBroker broker = broker();
    int n = 4;
    CountDownLatch together = new CountDownLatch(n);
    broker.subscriber(channel("par")).concurrency(n).handle(String.class, (s, ctx) -> {
      together.countDown();
      together.await(); // only returns when n handlers are in flight at once
      return null;
    });
    broker.start();
    for (int i = 0; i < n; i++) {
      broker.publish("m" + i, channel("par"));
    }
    assertThat(together.await(10, TimeUnit.SECONDS)).isTrue();
  }
}
