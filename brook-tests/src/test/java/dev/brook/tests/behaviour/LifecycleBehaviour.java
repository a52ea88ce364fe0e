package dev.brook.tests.behaviour;

import static dev.brook.redis.Redis.channel;
import static dev.brook.redis.Redis.list;
import static dev.brook.redis.Redis.stream;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import dev.brook.Destination;
import dev.brook.Subscription;
import dev.brook.Subscription.State;
import dev.brook.redis.RedisBroker;
import dev.brook.tests.Calls;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.slf4j.LoggerFactory;

/**
 * REGISTERED → RUNNING ⇄ STOPPED → CLOSED as a user sees it: stopped and closed subscriptions get
 * nothing, subscriptions added or replaced while the broker runs work at once, failures are counted
 * and never stop a subscription.
 */
abstract class LifecycleBehaviour extends Behaviour {

  record Order(long id, String item) {}

  LifecycleBehaviour(Backend backend) {
    super(backend);
  }

  static Stream<Destination> everyKind() {
    return Stream.of(channel("life"), list("life").consumer("c"), list("life").atMostOnce(), stream("life"),
        stream("life").group("g").consumer("c"));
  }

  @Test
  void statesAndIdempotentStartAndStop() {
    RedisBroker broker = backend.broker();
    Calls<String> calls = new Calls<>();
    Subscription sub = broker.subscriber(channel("s")).handle(String.class, calls);
    assertThat(sub.state()).isEqualTo(State.REGISTERED);
    backend.start(broker);
    assertThat(sub.state()).isEqualTo(State.RUNNING);
    sub.start();
    sub.start();
    sub.stop();
    sub.stop();
    assertThat(sub.state()).isEqualTo(State.STOPPED);
    sub.start();
    assertThat(sub.state()).isEqualTo(State.RUNNING);
    broker.publish("once", channel("s"));
    assertThat(calls.awaitOne().payload()).isEqualTo("once");
    sub.close();
    sub.close();
    assertThat(sub.state()).isEqualTo(State.CLOSED);
    assertThatThrownBy(sub::start)
        .isInstanceOf(IllegalStateException.class)
        .hasMessage("Subscription 'channel:s' is closed and cannot be started again. Register a new one with broker.subscriber(...).");
    assertThat(calls.count()).isEqualTo(1);
  }

  @ParameterizedTest
  @MethodSource("everyKind")
  void aDoubleStartNeverMakesASecondConsumer(Destination destination) {
    RedisBroker broker = started();
    Calls<String> calls = new Calls<>();
    Subscription sub = broker.subscriber(destination).handle(String.class, calls);
    broker.start();
    sub.start();
    broker.publish("once", destination);
    broker.publish("marker", destination);
    calls.await(2);
    assertThat(calls.payloads()).containsExactly("once", "marker");
    assertThat(sub.metrics().received()).isEqualTo(2);
  }

  @ParameterizedTest
  @MethodSource("everyKind")
  void stoppedAndClosedSubscriptionsReceiveNothing(Destination destination) {
    RedisBroker broker = started();
    Calls<String> stopped = new Calls<>();
    Calls<String> closed = new Calls<>();
    Calls<String> live = new Calls<>();
    Subscription stoppedSub = broker.subscriber(channel("life")).id("stopped").handle(String.class, stopped);
    Subscription closedSub = broker.subscriber(destination).id("closed").handle(String.class, closed);
    broker.subscriber(channel("life")).id("live").handle(String.class, live);
    stoppedSub.stop();
    closedSub.close();
    assertThat(broker.subscriptions()).extracting(Subscription::id).containsExactlyInAnyOrder("stopped", "live");

    broker.publish("m1", destination);
    broker.publish("m2", channel("life"));
    live.awaitOne(); // the channel message reached the live subscription, not the stopped one
    assertThat(stopped.count()).isZero();
    assertThat(closed.count()).isZero();
    assertThat(stoppedSub.metrics().received()).isZero();
    if (destination.atLeastOnce() || destination.equals(list("life").atMostOnce())) {
      // Nobody took it: it waits in Redis for the next consumer.
      if (destination.key().startsWith("list:")) {
        assertThat(backend.list("life")).extracting(Backend.Stored::text).containsExactly("m1");
      } else {
        assertThat(backend.pending("life", "g")).isEmpty();
        assertThat(backend.stream("life")).extracting(Backend.Stored::text).containsExactly("m1");
      }
    }
  }

  @Test
  void closeUnregistersAndTheNextOnTheChannelKeepsReceiving() {
    RedisBroker broker = started();
    Calls<String> a = new Calls<>();
    Calls<String> b = new Calls<>();
    Subscription first = broker.subscriber(channel("shared")).id("a").handle(String.class, a);
    broker.subscriber(channel("shared")).id("b").handle(String.class, b);
    broker.publish("before", channel("shared"));
    a.awaitOne();
    first.close();
    assertThat(broker.subscription("a")).isNull();
    assertThat(broker.subscriptions()).extracting(Subscription::id).containsExactly("b");
    broker.publish("after", channel("shared"));
    b.await(2);
    assertThat(b.payloads()).containsExactly("before", "after");
    assertThat(a.payloads()).containsExactly("before");
  }

  @Test
  void brokerStartNeverRestartsWhatTheUserStopped() {
    RedisBroker broker = started();
    Calls<String> user = new Calls<>();
    Calls<String> byBroker = new Calls<>();
    Subscription userStopped = broker.subscriber(channel("u")).handle(String.class, user);
    Subscription brokerStopped = broker.subscriber(channel("b")).handle(String.class, byBroker);
    userStopped.stop();
    broker.stop();
    assertThat(brokerStopped.state()).isEqualTo(State.STOPPED);
    broker.start();
    assertThat(brokerStopped.state()).isEqualTo(State.RUNNING);
    assertThat(userStopped.state()).isEqualTo(State.STOPPED);
    broker.publish("lost", channel("u"));
    broker.publish("heard", channel("b"));
    byBroker.awaitOne();
    assertThat(user.count()).isZero();
  }

  @ParameterizedTest
  @MethodSource("everyKind")
  void aSubscriptionAddedToARunningBrokerStartsAtOnce(Destination destination) {
    RedisBroker broker = started();
    Calls<String> calls = new Calls<>();
    Subscription sub = broker.subscriber(destination).handle(String.class, calls);
    assertThat(sub.state()).isEqualTo(State.RUNNING);
    broker.publish("hi", destination);
    assertThat(calls.awaitOne().payload()).isEqualTo("hi");
  }

  @ParameterizedTest
  @MethodSource("everyKind")
  void aSubscriptionReplacedWhileRunningHandsOverToTheNewHandler(Destination destination) {
    RedisBroker broker = started();
    Calls<String> old = new Calls<>();
    Calls<String> replacement = new Calls<>();
    Subscription before = broker.subscriber(destination).handle(String.class, old);
    broker.publish("to the old one", destination);
    old.awaitOne();
    Subscription after = broker.subscriber(destination).handle(String.class, replacement);
    assertThat(before.state()).isEqualTo(State.CLOSED);
    assertThat(after.state()).isEqualTo(State.RUNNING);
    assertThat(broker.subscriptions()).containsExactly(after);
    broker.publish("to the new one", destination);
    assertThat(replacement.awaitOne().payload()).isEqualTo("to the new one");
    assertThat(old.payloads()).containsExactly("to the old one");
  }

  @Test
  void stoppingTheBrokerStopsEverySubscriptionAndStartingResumesThem() {
    RedisBroker broker = started();
    Calls<String> channelCalls = new Calls<>();
    Calls<String> listCalls = new Calls<>();
    broker.subscriber(channel("resume")).handle(String.class, channelCalls);
    broker.subscriber(list("resume").consumer("c")).handle(String.class, listCalls);
    broker.stop();
    assertThat(broker.subscriptions()).allMatch(s -> s.state() == State.STOPPED);
    broker.publish("queued while stopped", list("resume"));
    assertThat(listCalls.count()).isZero();
    broker.start();
    assertThat(listCalls.awaitOne().payload()).isEqualTo("queued while stopped");
    broker.publish("live again", channel("resume"));
    assertThat(channelCalls.awaitOne().payload()).isEqualTo("live again");
  }

  @Test
  void aHandlerMayCloseItsOwnSubscription() {
    RedisBroker broker = started();
    Subscription[] self = new Subscription[1];
    AtomicInteger calls = new AtomicInteger();
    self[0] = broker.subscriber(channel("once")).handle(String.class, (s, ctx) -> {
      calls.incrementAndGet();
      self[0].close();
      return null;
    });
    broker.publish("x", channel("once"));
    eventually().until(() -> self[0].state() == State.CLOSED);
    broker.publish("y", channel("once"));
    assertThat(calls).hasValue(1);
    assertThat(broker.subscriptions()).isEmpty();
  }

  @Test
  void handlerExceptionsAreCountedAndTheSubscriptionGoesOn() {
    RedisBroker broker = started();
    Calls<String> ok = new Calls<>();
    Subscription sub = broker.subscriber(channel("f")).handle(String.class, (s, ctx) -> {
      if (s.equals("boom")) {
        throw new IllegalStateException("handler failed on purpose");
      }
      return ok.handle(s, ctx);
    });
    backend.despiteFailures(() -> broker.publish("boom", channel("f")));
    broker.publish("fine", channel("f"));
    assertThat(ok.awaitOne().payload()).isEqualTo("fine");
    eventually().until(() -> sub.metrics().handled() == 1 && sub.metrics().failed() == 1);
    assertThat(sub.metrics().received()).isEqualTo(2);
    assertThat(sub.state()).isEqualTo(State.RUNNING);
  }

  @Test
  void undecodableMessagesAreLoggedOnceCountedAndSkipped() {
    ListAppender<ILoggingEvent> log = new ListAppender<>();
    log.start();
    Logger logger = (Logger) LoggerFactory.getLogger("dev.brook.Subscription");
    logger.addAppender(log);
    try {
      RedisBroker broker = started();
      Calls<Order> calls = new Calls<>();
      Subscription sub = broker.subscriber(channel("bad")).handle(Order.class, calls);
      for (Object garbage : List.of("this is not json", List.of(1, 2, 3), new byte[0], Map.of("id", "not a number"))) {
        backend.despiteFailures(() -> broker.publish(garbage, channel("bad")));
      }
      broker.publish(new Order(1, "good"), channel("bad"));
      assertThat(calls.awaitOne().payload()).isEqualTo(new Order(1, "good"));
      eventually().until(() -> sub.metrics().decodeErrors() == 4);
      assertThat(sub.metrics().received()).isEqualTo(5);
      assertThat(sub.metrics().handled()).isEqualTo(1);
      assertThat(sub.metrics().failed()).isZero();
      List<String> warnings = log.list.stream().filter(e -> e.getLevel() == Level.WARN).map(ILoggingEvent::getFormattedMessage).toList();
      assertThat(warnings).hasSize(4).allMatch(w -> w.startsWith("Cannot decode message ") && w.endsWith(". Skipped; the subscription goes on."));
      assertThat(warnings.get(0))
          .contains(" from bad (subscription 'channel:bad') into " + Order.class.getName() + ": Unrecognized token 'this'");
      assertThat(sub.state()).isEqualTo(State.RUNNING);
    } finally {
      logger.detachAppender(log);
    }
  }

  @Test
  void stopLetsTheHandlerInFlightFinish() {
    RedisBroker broker = started();
    AtomicInteger finished = new AtomicInteger();
    Subscription sub = broker.subscriber(list("slow").consumer("c")).handle(String.class, (s, ctx) -> {
      Thread.sleep(200); // simulated work
      finished.incrementAndGet();
      return null;
    });
    broker.publishAsync("work", list("slow"));
    eventually().until(() -> sub.metrics().received() == 1);
    sub.stop();
    assertThat(finished).hasValue(1);
    assertThat(sub.metrics().handled()).isEqualTo(1);
    eventually().until(() -> backend.list("{slow}:processing:c").isEmpty() && backend.list("slow").isEmpty());
  }
}
