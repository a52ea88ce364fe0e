package dev.brook.tests.behaviour;

import static dev.brook.redis.Redis.stream;
import static org.assertj.core.api.Assertions.assertThat;

import dev.brook.AckPolicy;
import dev.brook.MessageContext;
import dev.brook.Subscription;
import dev.brook.redis.RedisBroker;
import dev.brook.redis.StreamDestination;
import dev.brook.tests.Calls;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

/** Streams with consumer groups (pending entries, reclaim, dead letters) and without (from now, at-most-once). */
abstract class StreamBehaviour extends Behaviour {

  StreamBehaviour(Backend backend) {
    super(backend);
  }

  private List<String> texts(List<Backend.Stored> values) {
    return values.stream().map(Backend.Stored::text).toList();
  }

  @Test
  void aGroupGetsEveryEntryInOrderAndAcknowledgesIt() {
    RedisBroker broker = started();
    Calls<String> calls = new Calls<>();
    Subscription sub = broker.subscriber(stream("events").group("g").consumer("c1")).handle(String.class, calls);
    assertThat(sub.id()).isEqualTo("stream:events/g/c1");
    List<String> events = IntStream.range(0, 10).mapToObj(i -> "e" + i).toList();
    for (String e : events) {
      broker.publish(e, stream("events"));
    }
    calls.await(10);
    assertThat(calls.payloads()).containsExactlyElementsOf(events);
    assertThat(calls.all().get(0).context().messageId()).matches("\\d+-\\d+");
    assertThat(calls.all()).allMatch(c -> c.context().deliveryCount() == 1);
    eventually().until(() -> backend.pending("events", "g").isEmpty());
    assertThat(texts(backend.stream("events"))).containsExactlyElementsOf(events); // acknowledged, not deleted
  }

  @Test
  void rejectOnErrorSendsTheEntryToTheDeadLetterStreamAtOnce() {
    RedisBroker broker = started();
    broker.subscriber(stream("r").group("g").consumer("c")).handle(String.class, (s, ctx) -> {
      throw new IllegalArgumentException("bad " + s);
    });
    backend.despiteFailures(() -> broker.publish("x", stream("r"), Map.of("tenant", "acme")));
    eventually().until(() -> backend.stream("{r}:dlq").size() == 1);
    eventually().until(() -> backend.pending("r", "g").isEmpty());
    Backend.Stored dead = backend.stream("{r}:dlq").get(0);
    assertThat(dead.text()).isEqualTo("x");
    assertThat(dead.header("tenant")).isEqualTo("acme");
    assertThat(dead.header("x-error")).isEqualTo("java.lang.IllegalArgumentException: bad x");
    assertThat(dead.header("x-original")).isEqualTo("r");
    assertThat(dead.header("x-original-id")).matches("\\d+-\\d+");
    assertThat(dead.header("x-group")).isEqualTo("g");
    assertThat(dead.header("x-delivery-count")).isEqualTo("1");
    assertThat(texts(backend.stream("r"))).containsExactly("x");
  }

  @Test
  void nackOnErrorRetriesPromptlyUntilMaxDeliveriesThenDeadLetters() {
    RedisBroker broker = started();
    AtomicInteger poisonAttempts = new AtomicInteger();
    List<Long> counts = new CopyOnWriteArrayList<>();
    Calls<String> ok = new Calls<>();
    // minIdle far away: a retry must not wait for it (it is for taking over a dead consumer's entries).
    StreamDestination dest = stream("orders").group("g").consumer("c1").minIdle(Duration.ofMinutes(10)).maxDeliveries(3);
    Subscription sub = broker.subscriber(dest).ackPolicy(AckPolicy.NACK_ON_ERROR).handle(String.class, (s, ctx) -> {
      if (s.equals("poison")) {
        poisonAttempts.incrementAndGet();
        counts.add(ctx.deliveryCount());
        throw new IllegalStateException("poison #" + ctx.deliveryCount());
      }
      return ok.handle(s, ctx);
    });
    backend.despiteFailures(() -> broker.publish("poison", stream("orders")));
    broker.publish("good", stream("orders"));
    assertThat(ok.awaitOne().payload()).isEqualTo("good");
    eventually().until(() -> poisonAttempts.get() >= 1);

    for (int i = 0; i < 2; i++) { // the back-offs (100 ms, 200 ms) pass: attempts 2 and 3, then the dead letter
      backend.despiteFailures(() -> backend.pass(Duration.ofSeconds(1)));
    }
    eventually().until(() -> backend.stream("{orders}:dlq").size() == 1);
    assertThat(poisonAttempts).hasValue(3);
    assertThat(counts).containsExactly(1L, 2L, 3L);
    Backend.Stored dead = backend.stream("{orders}:dlq").get(0);
    assertThat(dead.text()).isEqualTo("poison");
    assertThat(dead.header("x-original")).isEqualTo("orders");
    assertThat(dead.header("x-group")).isEqualTo("g");
    assertThat(dead.header("x-delivery-count")).isEqualTo("3");
    assertThat(sub.metrics().rejected()).as("the exhausted nack counts as dead-lettered").isEqualTo(1);
    assertThat(dead.header("x-error"))
        .isEqualTo("failed 3 times (maxDeliveries 3); last error: java.lang.IllegalStateException: poison #3");
    eventually().until(() -> backend.pending("orders", "g").isEmpty());
    backend.pass(Duration.ofSeconds(1));
    assertThat(poisonAttempts).hasValue(3);
    broker.publish("still flowing", stream("orders"));
    assertThat(ok.await(2).get(1).payload()).isEqualTo("still flowing");
  }

  @Test
  void aRestartedConsumerGetsItsOwnPendingEntriesFirst() {
    RedisBroker broker = started();
    List<String> firstRun = new CopyOnWriteArrayList<>();
    Subscription sub = broker.subscriber(stream("own").group("g").consumer("c1")).ackPolicy(AckPolicy.MANUAL)
        .handle(String.class, (s, ctx) -> {
          firstRun.add(s); // never acknowledged
          return null;
        });
    broker.publishBatch(List.of("p1", "p2"), stream("own"));
    eventually().until(() -> firstRun.size() == 2);
    sub.close();
    assertThat(backend.pending("own", "g")).hasSize(2).containsValues(1L, 1L);

    Calls<String> again = new Calls<>();
    broker.subscriber(stream("own").group("g").consumer("c1")).handle(String.class, again);
    again.await(2);
    assertThat(again.payloads()).containsExactly("p1", "p2");
    assertThat(again.all()).allMatch(c -> c.context().deliveryCount() == 2);
    eventually().until(() -> backend.pending("own", "g").isEmpty());
  }

  @Test
  void ownPendingEntriesOverMaxDeliveriesGoToTheDeadLetterAtRestart() {
    RedisBroker broker = started();
    StreamDestination dest = stream("tired").group("g").consumer("c1").maxDeliveries(1);
    List<String> firstRun = new CopyOnWriteArrayList<>();
    Subscription sub = broker.subscriber(dest).ackPolicy(AckPolicy.MANUAL).handle(String.class, (s, ctx) -> {
      firstRun.add(s); // never acknowledged
      return null;
    });
    broker.publish("once", stream("tired"));
    eventually().until(() -> firstRun.size() == 1);
    sub.close();

    Calls<String> again = new Calls<>();
    broker.subscriber(dest).handle(String.class, again);
    eventually().until(() -> backend.stream("{tired}:dlq").size() == 1);
    // It had its one attempt (the handler never settled it): no second one.
    assertThat(backend.stream("{tired}:dlq").get(0).header("x-error")).isEqualTo("delivered 1 time without being settled (maxDeliveries 1)");
    assertThat(backend.stream("{tired}:dlq").get(0).header("x-delivery-count")).isEqualTo("1");
    eventually().until(() -> backend.pending("tired", "g").isEmpty());
    assertThat(again.count()).isZero();
  }

  @Test
  void idleEntriesOfAGoneConsumerAreClaimedWhileNewOnesKeepFlowing() {
    RedisBroker broker = started();
    List<String> ghost = new CopyOnWriteArrayList<>();
    Subscription gone = broker.subscriber(stream("claim").group("g").consumer("ghost")).ackPolicy(AckPolicy.MANUAL)
        .handle(String.class, (s, ctx) -> {
          ghost.add(s); // read, never acknowledged
          return null;
        });
    broker.publishBatch(List.of("orphan1", "orphan2"), stream("claim"));
    eventually().until(() -> ghost.size() == 2);
    gone.close();

    Calls<String> live = new Calls<>();
    broker.subscriber(stream("claim").group("g").consumer("live").minIdle(Duration.ofSeconds(1))).handle(String.class, live);
    broker.publish("fresh", stream("claim"));
    assertThat(live.awaitOne().payload()).isEqualTo("fresh"); // not held up by the orphans
    backend.pass(Duration.ofMillis(1200));
    live.await(3);
    assertThat(live.payloads()).containsExactly("fresh", "orphan1", "orphan2");
    assertThat(live.all().get(1).context().deliveryCount()).isEqualTo(2);
    eventually().until(() -> backend.pending("claim", "g").isEmpty());
  }

  @Test
  void startFromTheBeginningReadsTheHistoryAndAnExistingGroupKeepsItsPosition() {
    RedisBroker broker = started();
    broker.publishBatch(List.of("old1", "old2"), stream("hist"));

    Calls<String> fromStart = new Calls<>();
    Subscription first = broker.subscriber(stream("hist").group("g").consumer("a").startFrom(StreamDestination.BEGINNING))
        .handle(String.class, fromStart);
    fromStart.await(2);
    assertThat(fromStart.payloads()).containsExactly("old1", "old2");
    first.close();

    broker.publish("new1", stream("hist"));
    Calls<String> resumed = new Calls<>();
    broker.subscriber(stream("hist").group("g").consumer("b").startFrom(StreamDestination.BEGINNING)).handle(String.class, resumed);
    resumed.awaitOne();

    Calls<String> onlyNew = new Calls<>();
    broker.subscriber(stream("hist").group("fresh").consumer("c")).handle(String.class, onlyNew);
    broker.publish("new2", stream("hist"));
    onlyNew.awaitOne();
    resumed.await(2);
    assertThat(resumed.payloads()).containsExactly("new1", "new2");
    assertThat(onlyNew.payloads()).containsExactly("new2");
  }

  @Test
  void withoutAGroupAReaderGetsWhatIsAddedFromNowOrTheHistoryWhenAsked() {
    RedisBroker broker = started();
    broker.publish("before", stream("plain"));
    Calls<String> fromNow = new Calls<>();
    Subscription sub = broker.subscriber(stream("plain")).handle(String.class, fromNow);
    assertThat(sub.id()).isEqualTo("stream:plain");
    Calls<String> history = new Calls<>();
    broker.subscriber(stream("plain").startFrom(StreamDestination.BEGINNING)).id("history").handle(String.class, history);
    broker.publish("after", stream("plain"));
    fromNow.awaitOne();
    history.await(2);
    assertThat(fromNow.payloads()).containsExactly("after");
    assertThat(history.payloads()).containsExactly("before", "after");
  }

  @Test
  void twoReadersWithoutAGroupEachGetEveryEntry() {
    RedisBroker broker = started();
    Calls<String> a = new Calls<>();
    Calls<String> b = new Calls<>();
    broker.subscriber(stream("fan")).id("a").handle(String.class, a);
    broker.subscriber(stream("fan")).id("b").handle(String.class, b);
    broker.publishBatch(List.of("1", "2"), stream("fan"));
    a.await(2);
    b.await(2);
    assertThat(a.payloads()).containsExactly("1", "2");
    assertThat(b.payloads()).containsExactly("1", "2");
  }

  @Test
  void consumersOfOneGroupShareTheEntries() {
    RedisBroker broker = started();
    Set<String> seen = ConcurrentHashMap.newKeySet();
    AtomicInteger total = new AtomicInteger();
    for (String consumer : List.of("c1", "c2")) {
      broker.subscriber(stream("shared").group("g").consumer(consumer)).handle(String.class, (s, ctx) -> {
        seen.add(s);
        total.incrementAndGet();
        return null;
      });
    }
    broker.publishBatch(IntStream.range(0, 50).mapToObj(i -> "m" + i).toList(), stream("shared"));
    eventually().until(() -> seen.size() == 50);
    assertThat(total).hasValue(50);
    eventually().until(() -> backend.pending("shared", "g").isEmpty());
  }

  @Test
  void manualSettlementWithTheContext() {
    RedisBroker broker = started();
    broker.subscriber(stream("man").group("g").consumer("c")).ackPolicy(AckPolicy.MANUAL).handle(String.class, (s, ctx) -> {
      switch (s) {
        case "ack" -> ctx.ack();
        case "reject" -> ctx.reject();
        default -> ctx.nack();
      }
      return null;
    });
    broker.publishBatch(List.of("ack", "reject", "nack"), stream("man"));
    eventually().until(() -> backend.stream("{man}:dlq").size() == 1 && backend.pending("man", "g").size() == 1);
    assertThat(backend.stream("{man}:dlq").get(0).header("x-error")).isEqualTo("rejected by the handler");
    assertThat(texts(backend.stream("{man}:dlq"))).containsExactly("reject");
    assertThat(backend.pending("man", "g").values()).containsExactly(1L);
  }

  @Test
  void deleteOnAckRemovesHandledEntries() {
    RedisBroker broker = started();
    Calls<String> calls = new Calls<>();
    broker.subscriber(stream("del").group("g").consumer("c").deleteOnAck()).handle(String.class, calls);
    broker.publishBatch(List.of("a", "b"), stream("del"));
    calls.await(2);
    eventually().until(() -> backend.stream("del").isEmpty() && backend.pending("del", "g").isEmpty());
  }

  @Test
  void maxLenTrimsTheStreamApproximately() {
    RedisBroker broker = started();
    for (int i = 0; i < 500; i++) {
      broker.publish("x" + i, stream("trim").maxLen(100));
    }
    assertThat(backend.stream("trim").size()).isBetween(100, 300);
    assertThat(backend.stream("trim").getLast().text()).isEqualTo("x499");
  }

  @Test
  void batchesAreAcknowledgedTogether() {
    RedisBroker broker = started();
    List<Integer> sizes = new CopyOnWriteArrayList<>();
    Set<String> all = ConcurrentHashMap.newKeySet();
    broker.subscriber(stream("sb").group("g").consumer("c")).batch(20).handle(String.class, (List<String> items, MessageContext ctx) -> {
      sizes.add(items.size());
      all.addAll(items);
      return null;
    });
    broker.publishBatch(IntStream.range(0, 150).mapToObj(i -> "s" + i).toList(), stream("sb"));
    eventually().until(() -> all.size() == 150);
    assertThat(sizes).allMatch(s -> s >= 1 && s <= 20);
    eventually().until(() -> backend.pending("sb", "g").isEmpty());
  }

  @Test
  void entriesAddedWhileAGroupConsumerIsStoppedAreReadWhenItStarts() {
    RedisBroker broker = started();
    Calls<String> calls = new Calls<>();
    Subscription sub = broker.subscriber(stream("paused").group("g").consumer("c")).handle(String.class, calls);
    sub.stop();
    broker.publishBatch(List.of("while", "stopped"), stream("paused"));
    assertThat(backend.pending("paused", "g")).isEmpty();
    assertThat(calls.count()).isZero();
    sub.start();
    calls.await(2);
    assertThat(calls.payloads()).containsExactly("while", "stopped");
    eventually().until(() -> backend.pending("paused", "g").isEmpty());
  }

  @Test
  void anEntryItsHandlerStillHoldsIsNotDeliveredTwiceWhenMinIdlePasses() {
    RedisBroker broker = started();
    Calls<String> calls = new Calls<>();
    broker.subscriber(stream("slow").group("g").consumer("c").minIdle(Duration.ofMillis(200))).handle(String.class, (s, ctx) -> {
      if (s.equals("slow")) {
        backend.pass(Duration.ofMillis(600)); // minIdle passes while this handler works
      }
      return calls.handle(s, ctx);
    });
    broker.publish("slow", stream("slow"));
    calls.awaitOne();
    broker.publish("marker", stream("slow"));
    calls.await(2);
    assertThat(calls.payloads()).containsExactly("slow", "marker");
    eventually().until(() -> backend.pending("slow", "g").isEmpty());
  }

  @Test
  void aGroupConsumerReadsNoMoreThanItsBufferHolds() {
    RedisBroker broker = started(b -> b.bufferSize(2));
    List<Integer> pendingAtFirst = new CopyOnWriteArrayList<>();
    Calls<String> calls = new Calls<>();
    broker.subscriber(stream("backlog").group("g").consumer("c")).handle(String.class, (s, ctx) -> {
      if (s.equals("0")) {
        pendingAtFirst.add(backend.pending("backlog", "g").size());
      }
      return calls.handle(s, ctx);
    });
    broker.publishBatch(IntStream.range(0, 10).mapToObj(Integer::toString).toList(), stream("backlog"));
    calls.await(10);
    assertThat(calls.payloads()).containsExactlyElementsOf(IntStream.range(0, 10).mapToObj(Integer::toString).toList());
    assertThat(pendingAtFirst).singleElement().asInstanceOf(org.assertj.core.api.InstanceOfAssertFactories.INTEGER)
        .isLessThanOrEqualTo(5); // read as room allowed, not all at once
    eventually().until(() -> backend.pending("backlog", "g").isEmpty());
  }
}
