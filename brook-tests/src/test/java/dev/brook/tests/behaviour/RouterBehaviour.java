package dev.brook.tests.behaviour;

import static dev.brook.redis.Redis.channel;
import static dev.brook.redis.Redis.list;
import static dev.brook.redis.Redis.pattern;
import static dev.brook.redis.Redis.stream;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import dev.brook.DuplicatePolicy;
import dev.brook.Publish;
import dev.brook.Publisher;
import dev.brook.Router;
import dev.brook.Subscribe;
import dev.brook.Subscription;
import dev.brook.redis.RedisBroker;
import dev.brook.tests.Calls;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

/** Routers: a prefix on every name, nesting, publishers, and including twice is including once. */
abstract class RouterBehaviour extends Behaviour {

  record Invoice(long id) {}

  static class PaymentHandlers {
    @Subscribe(channel = "payments")
    @Publish(channel = "paid")
    String onPayment(String payment) {
      return "paid " + payment;
    }
  }

  RouterBehaviour(Backend backend) {
    super(backend);
  }

  @Test
  void everyNameGetsThePrefix() {
    RedisBroker broker = backend.broker();
    Router billing = Router.withPrefix("billing.");
    Calls<Invoice> invoices = new Calls<>();
    Subscription declared = billing.subscriber(channel("invoices")).publishTo(channel("audit")).handle(Invoice.class, (inv, ctx) -> {
      invoices.handle(inv, ctx);
      return "seen " + inv.id();
    });
    billing.include(new PaymentHandlers());
    Publisher notices = billing.publisher(channel("notices"));
    Calls<String> audit = new Calls<>();
    Calls<String> paid = new Calls<>();
    Calls<String> noticesSeen = new Calls<>();
    broker.subscriber(channel("billing.audit")).handle(String.class, audit);
    broker.subscriber(channel("billing.paid")).handle(String.class, paid);
    broker.subscriber(channel("billing.notices")).handle(String.class, noticesSeen);

    List<Subscription> subs = broker.include(billing);
    backend.start(broker);

    assertThat(subs).extracting(Subscription::id)
        .containsExactly("channel:billing.invoices", "billing." + PaymentHandlers.class.getName() + "#onPayment");
    assertThat(declared.id()).isEqualTo("channel:billing.invoices");
    assertThat(declared.state()).isEqualTo(Subscription.State.RUNNING);
    assertThat(declared.publishTo()).containsExactly(channel("billing.audit"));
    broker.publish(new Invoice(9), channel("billing.invoices"));
    broker.publish("p1", channel("billing.payments"));
    notices.publish("hello");
    assertThat(invoices.awaitOne().payload()).isEqualTo(new Invoice(9));
    assertThat(audit.awaitOne().payload()).isEqualTo("seen 9");
    assertThat(paid.awaitOne().payload()).isEqualTo("paid p1");
    assertThat(noticesSeen.awaitOne().payload()).isEqualTo("hello");
    assertThat(notices.destination()).isEqualTo(channel("billing.notices"));
    assertThat(declared.metrics().handled()).isEqualTo(1);
  }

  @Test
  void routersNestOuterPrefixFirstAndPatternsKeepTheirParts() {
    RedisBroker broker = backend.broker();
    Router inner = Router.withPrefix("billing.");
    Calls<String> logs = new Calls<>();
    inner.subscriber(pattern("logs.{level}")).handle(String.class, logs);
    Calls<String> jobs = new Calls<>();
    inner.subscriber(list("jobs")).handle(String.class, jobs);
    Calls<String> events = new Calls<>();
    inner.subscriber(stream("events").group("g")).handle(String.class, events);
    Router outer = Router.withPrefix("v1.").include(inner);

    List<Subscription> subs = broker.include(outer);
    backend.start(broker);

    assertThat(subs).extracting(Subscription::id)
        .containsExactly("pattern:v1.billing.logs.*", "list:v1.billing.jobs", "stream:v1.billing.events/g/" + dev.brook.redis.Redis.defaultConsumerName());
    broker.publish("disk full", channel("v1.billing.logs.error"));
    broker.publish("job", list("v1.billing.jobs"));
    broker.publish("event", stream("v1.billing.events"));
    assertThat(logs.awaitOne().context().path("level")).isEqualTo("error");
    assertThat(jobs.awaitOne().payload()).isEqualTo("job");
    assertThat(events.awaitOne().payload()).isEqualTo("event");
    eventually().until(() -> backend.pending("v1.billing.events", "g").isEmpty());
  }

  @Test
  void includingARouterTwiceIsTheSameAsOnce() {
    ListAppender<ILoggingEvent> log = new ListAppender<>();
    log.start();
    Logger brokerLog = (Logger) LoggerFactory.getLogger("dev.brook.Broker");
    brokerLog.addAppender(log);
    try {
      RedisBroker broker = backend.broker(b -> b.duplicatePolicy(DuplicatePolicy.REJECT));
      Router router = Router.withPrefix("r.");
      Calls<String> calls = new Calls<>();
      router.subscriber(channel("a")).handle(String.class, calls);
      router.include(new PaymentHandlers());
      List<Subscription> first = broker.include(router);
      backend.start(broker);
      List<Subscription> second = broker.include(router);
      assertThat(second).isEqualTo(first);
      assertThat(broker.subscriptions()).hasSize(2).allMatch(s -> s.state() == Subscription.State.RUNNING);
      assertThat(log.list).noneMatch(e -> e.getLevel() == Level.WARN);
      broker.publish("once", channel("r.a"));
      broker.publish("marker", channel("r.a"));
      calls.await(2);
      assertThat(calls.payloads()).containsExactly("once", "marker");
    } finally {
      brokerLog.detachAppender(log);
    }
  }

  @Test
  void aRouterSubscriptionBeforeIncludeAndAPublisherBeforeIncludeSayWhatToDo() {
    Router router = Router.withPrefix("r.");
    Subscription declared = router.subscriber(channel("a")).handle(String.class, new Calls<>());
    Publisher publisher = router.publisher(channel("out"));
    assertThat(declared.state()).isEqualTo(Subscription.State.REGISTERED);
    assertThat(declared.id()).isEqualTo("channel:r.a");
    assertThatThrownBy(declared::stop).isInstanceOf(IllegalStateException.class)
        .hasMessage("Cannot stop subscription 'channel:r.a': it is declared on a router that is not included in a broker yet. "
            + "Call broker.include(router) first.");
    assertThatThrownBy(() -> publisher.publish("x")).isInstanceOf(IllegalStateException.class)
        .hasMessage("The publisher to channel:r.out belongs to a router (prefix 'r.') that is not included in a broker yet. "
            + "Call broker.include(router) before publishing.");
  }

  @Test
  void routersCannotFormACycle() {
    Router a = Router.withPrefix("a.");
    Router b = Router.withPrefix("b.");
    a.include(b);
    assertThatThrownBy(() -> b.include(a)).isInstanceOf(IllegalArgumentException.class)
        .hasMessage("Router 'a.' contains router 'b.' already, so including it here would make a cycle. Routers nest as a tree.");
    assertThatThrownBy(() -> a.include(a)).isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void closingTheRouterSubscriptionClosesTheLiveOneAndIncludingAgainBringsItBack() {
    RedisBroker broker = started();
    Router router = Router.withPrefix("r.");
    Calls<String> calls = new Calls<>();
    Subscription declared = router.subscriber(channel("a")).handle(String.class, calls);
    broker.include(router);
    declared.close();
    assertThat(broker.subscriptions()).isEmpty();
    assertThat(declared.state()).isEqualTo(Subscription.State.CLOSED);
    broker.publish("while closed", channel("r.a"));
    broker.include(router);
    assertThat(broker.subscriptions()).hasSize(1);
    assertThat(declared.state()).isEqualTo(Subscription.State.RUNNING);
    broker.publish("back", channel("r.a"));
    calls.awaitOne();
    assertThat(calls.payloads()).containsExactly("back");
  }

  // ---- dynamic routers: declarations after the include go live (FastStream's dynamic subscribers) ----

  /** A middleware that records the payloads it sees, to show a router's middlewares run for later declarations. */
  static final class Seen implements dev.brook.Middleware {
    final java.util.List<Object> payloads = new java.util.concurrent.CopyOnWriteArrayList<>();

    @Override
    public Object consume(ConsumeChain chain) throws Exception {
      payloads.add(chain.payload());
      return chain.proceed();
    }
  }

  @Test
  void aSubscriberAddedToAnIncludedRouterGoesLiveWithThePrefixAndMiddlewares() {
    RedisBroker broker = backend.broker();
    Router router = Router.withPrefix("dyn.");
    Seen seen = new Seen();
    router.middleware(seen);
    broker.include(router);
    backend.start(broker);

    Calls<String> calls = new Calls<>();
    Subscription late = router.subscriber(channel("late")).handle(String.class, calls);

    assertThat(late.state()).isEqualTo(Subscription.State.RUNNING);
    assertThat(late.id()).isEqualTo("channel:dyn.late");
    assertThat(broker.subscriptions()).extracting(Subscription::id).containsExactly("channel:dyn.late");
    broker.publish("hi", channel("dyn.late"));
    assertThat(calls.awaitOne().payload()).isEqualTo("hi");
    assertThat(seen.payloads).containsExactly("hi");
    late.stop();
    assertThat(late.state()).isEqualTo(Subscription.State.STOPPED);
    late.start();
    assertThat(late.state()).isEqualTo(Subscription.State.RUNNING);
  }

  @Test
  void aSubscriberAddedBeforeTheBrokerStartsStartsWithIt() {
    RedisBroker broker = backend.broker();
    Router router = Router.withPrefix("dyn.");
    broker.include(router);
    Calls<String> calls = new Calls<>();
    Subscription late = router.subscriber(list("jobs")).handle(String.class, calls);
    assertThat(late.state()).isEqualTo(Subscription.State.REGISTERED);
    backend.start(broker);
    assertThat(late.state()).isEqualTo(Subscription.State.RUNNING);
    broker.publish("job", list("dyn.jobs"));
    assertThat(calls.awaitOne().payload()).isEqualTo("job");
  }

  @Test
  void routersHandlersAndPublishersAddedAfterTheIncludeGoLiveAtEveryLevel() {
    RedisBroker broker = backend.broker();
    Router outer = Router.withPrefix("v1.");
    Seen outerSeen = new Seen();
    outer.middleware(outerSeen);
    broker.include(outer);
    backend.start(broker);

    Router inner = Router.withPrefix("billing.");
    Calls<String> invoices = new Calls<>();
    inner.subscriber(channel("invoices")).handle(String.class, invoices);
    outer.include(inner);                                   // a router included into an included router
    inner.include(new PaymentHandlers());                   // then a handler object into the nested one
    Calls<String> paid = new Calls<>();
    broker.subscriber(channel("v1.billing.paid")).handle(String.class, paid);
    Publisher notices = inner.publisher(channel("notices"));
    Calls<String> noticesSeen = new Calls<>();
    inner.subscriber(channel("notices")).handle(String.class, noticesSeen);

    assertThat(broker.subscriptions()).extracting(Subscription::id).containsExactlyInAnyOrder(
        "channel:v1.billing.invoices", "v1.billing." + PaymentHandlers.class.getName() + "#onPayment",
        "channel:v1.billing.paid", "channel:v1.billing.notices");
    broker.publish("i1", channel("v1.billing.invoices"));
    broker.publish("p1", channel("v1.billing.payments"));
    notices.publish("n1");
    assertThat(invoices.awaitOne().payload()).isEqualTo("i1");
    assertThat(paid.awaitOne().payload()).isEqualTo("paid p1");
    assertThat(noticesSeen.awaitOne().payload()).isEqualTo("n1");
    assertThat(notices.destination()).isEqualTo(channel("v1.billing.notices"));
    eventually().until(() -> outerSeen.payloads.size() == 3);
    assertThat(outerSeen.payloads).containsExactlyInAnyOrder("i1", "p1", "n1");
  }

  @Test
  void aRouterSubscriberReDeclaredUnderItsIdReplacesTheLiveOne() {
    RedisBroker broker = backend.broker();
    Router router = Router.withPrefix("r.");
    Calls<String> first = new Calls<>();
    Subscription old = router.subscriber(channel("a")).handle(String.class, first);
    broker.include(router);
    backend.start(broker);

    Calls<String> second = new Calls<>();
    Subscription replacement = router.subscriber(channel("a")).handle(String.class, second);

    assertThat(old.state()).isEqualTo(Subscription.State.CLOSED);
    assertThat(replacement.state()).isEqualTo(Subscription.State.RUNNING);
    assertThat(broker.subscriptions()).hasSize(1);
    broker.publish("x", channel("r.a"));
    assertThat(second.awaitOne().payload()).isEqualTo("x");
    assertThat(first.count()).isZero();
    // The older declaration left the router: including it again changes nothing.
    broker.include(router);
    assertThat(broker.subscriptions()).hasSize(1).allMatch(s -> s.state() == Subscription.State.RUNNING);
    assertThat(router.toString()).isEqualTo("Router['r.', 1 declarations]");
  }

  @Test
  void underRejectARouterSubscriberReDeclaredUnderALiveIdIsRejectedAndNotAdded() {
    RedisBroker broker = backend.broker(b -> b.duplicatePolicy(DuplicatePolicy.REJECT));
    Router router = Router.withPrefix("r.");
    Calls<String> first = new Calls<>();
    Subscription old = router.subscriber(channel("a")).handle(String.class, first);
    broker.include(router);
    backend.start(broker);

    assertThatThrownBy(() -> router.subscriber(channel("a")).handle(String.class, new Calls<>()))
        .isInstanceOf(dev.brook.DuplicateSubscriptionException.class)
        .hasMessageContaining("channel:r.a");
    assertThat(old.state()).isEqualTo(Subscription.State.RUNNING);
    assertThat(router.toString()).isEqualTo("Router['r.', 1 declarations]");
    broker.publish("x", channel("r.a"));
    assertThat(first.awaitOne().payload()).isEqualTo("x");
  }

  @Test
  void aBrokersCloseReleasesTheRouter() {
    RedisBroker broker = backend.broker();
    Router router = Router.withPrefix("r.");
    broker.include(router);
    backend.start(broker);
    Subscription live = router.subscriber(channel("a")).handle(String.class, new Calls<>());
    broker.close();
    assertThat(live.state()).isEqualTo(Subscription.State.CLOSED);

    // Declared after the close: nowhere to go, so it waits for the next include, as before any include.
    Subscription after = router.subscriber(channel("b")).handle(String.class, new Calls<>());
    assertThat(after.state()).isEqualTo(Subscription.State.REGISTERED);
    assertThatThrownBy(after::start).isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("not included in a broker yet");
  }

  /**
   * Declarations racing the broker's start, stop and close: each ends registered once, running with
   * the broker; after the close nothing is live and nothing is left behind (LeakCheckExtension).
   */
  @Test
  void declarationsRacingTheBrokersStartStopAndCloseEndLiveExactlyOnce() throws Exception {
    for (int round = 0; round < 5; round++) {
      RedisBroker broker = backend.broker();
      Router router = Router.withPrefix("race" + round + ".");
      broker.include(router);
      backend.start(broker);
      int n = 40;
      java.util.List<Subscription> declared = new java.util.concurrent.CopyOnWriteArrayList<>();
      java.util.concurrent.CountDownLatch go = new java.util.concurrent.CountDownLatch(1);
      Thread declarer = Thread.ofPlatform().start(() -> {
        try {
          go.await();
        } catch (InterruptedException e) {
          return;
        }
        for (int i = 0; i < n; i++) {
          declared.add(router.subscriber(channel("c" + i)).handle(String.class, new Calls<>()));
        }
      });
      go.countDown();
      broker.stop();
      broker.start();
      broker.stop();
      broker.start();
      declarer.join();
      assertThat(broker.subscriptions()).hasSize(n).allMatch(s -> s.state() == Subscription.State.RUNNING);
      assertThat(declared).allMatch(s -> s.state() == Subscription.State.RUNNING);

      // Racing the close: every declaration is either closed with the broker or never registered.
      java.util.List<Subscription> late = new java.util.concurrent.CopyOnWriteArrayList<>();
      Thread lateDeclarer = Thread.ofPlatform().start(() -> {
        for (int i = 0; i < n; i++) {
          late.add(router.subscriber(channel("d" + i)).handle(String.class, new Calls<>()));
        }
      });
      broker.close();
      lateDeclarer.join();
      assertThat(broker.subscriptions()).isEmpty();
      assertThat(late).hasSize(n).noneMatch(s -> s.state() == Subscription.State.RUNNING
          || s.state() == Subscription.State.STOPPED);
      assertThat(declared).allMatch(s -> s.state() == Subscription.State.CLOSED);
      backend.close();
    }
  }

  /**
   * A router included in two brokers: each registers it, and each later declaration goes to both;
   * once one closes, declarations go to the other only.
   */
  @Test
  void aRouterIncludedInTwoBrokersGoesLiveInBothUntilOneCloses() {
    RedisBroker a = backend.broker();
    RedisBroker b = backend.broker();
    Router router = Router.withPrefix("two.");
    Calls<String> early = new Calls<>();
    router.subscriber(channel("early")).handle(String.class, early);
    a.include(router);
    b.include(router);
    backend.start(a);
    backend.start(b);

    Calls<String> late = new Calls<>();
    router.subscriber(channel("late")).handle(String.class, late);
    assertThat(a.subscriptions()).extracting(Subscription::id).containsExactlyInAnyOrder("channel:two.early", "channel:two.late");
    assertThat(b.subscriptions()).extracting(Subscription::id).containsExactlyInAnyOrder("channel:two.early", "channel:two.late");
    a.publish("x", channel("two.late"));
    late.await(2); // one per broker

    a.close();
    Calls<String> afterClose = new Calls<>();
    Subscription onlyB = router.subscriber(channel("after")).handle(String.class, afterClose);
    assertThat(b.subscriptions()).extracting(Subscription::id).contains("channel:two.after");
    assertThat(onlyB.state()).isEqualTo(Subscription.State.RUNNING);
    b.publish("y", channel("two.after"));
    assertThat(afterClose.awaitOne().payload()).isEqualTo("y");
    assertThat(afterClose.count()).isEqualTo(1);
  }

  /** Declarations racing the include of their router (and of a nested router): none is missed, each is live once. */
  @Test
  void declarationsRacingTheIncludeAreAllRegistered() throws Exception {
    for (int round = 0; round < 5; round++) {
      RedisBroker broker = backend.broker();
      backend.start(broker);
      Router outer = Router.withPrefix("o" + round + ".");
      Router inner = Router.withPrefix("i.");
      int n = 30;
      java.util.concurrent.CountDownLatch go = new java.util.concurrent.CountDownLatch(1);
      Thread declarer = Thread.ofPlatform().start(() -> {
        try {
          go.await();
        } catch (InterruptedException e) {
          return;
        }
        for (int i = 0; i < n; i++) {
          outer.subscriber(channel("a" + i)).handle(String.class, new Calls<>());
          if (i == n / 2) {
            outer.include(inner);
          }
          inner.subscriber(channel("b" + i)).handle(String.class, new Calls<>());
        }
      });
      go.countDown();
      broker.include(outer);
      declarer.join();
      assertThat(broker.subscriptions()).hasSize(2 * n).allMatch(s -> s.state() == Subscription.State.RUNNING);
      backend.close();
    }
  }
}
