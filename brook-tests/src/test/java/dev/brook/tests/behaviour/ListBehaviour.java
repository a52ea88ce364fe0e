package dev.brook.tests.behaviour;

import static dev.brook.redis.Redis.list;
import static dev.brook.redis.Redis.stream;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.brook.AckMessage;
import dev.brook.AckPolicy;
import dev.brook.BrookException;
import dev.brook.MessageContext;
import dev.brook.NackMessage;
import dev.brook.RejectMessage;
import dev.brook.Subscription;
import dev.brook.redis.RedisBroker;
import dev.brook.tests.Calls;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

/** Lists as queues: reliable (processing lists, dead letters, requeue) by default, at-most-once on request. */
abstract class ListBehaviour extends Behaviour {

  record Job(long id) {}

  ListBehaviour(Backend backend) {
    super(backend);
  }

  private List<String> texts(String key) {
    return backend.list(key).stream().map(Backend.Stored::text).toList();
  }

  @Test
  void reliableListsAreFifoAndLeaveNothingInProcessing() {
    RedisBroker broker = started();
    Calls<String> calls = new Calls<>();
    broker.subscriber(list("jobs").consumer("w1")).handle(String.class, calls);
    List<String> jobs = IntStream.range(0, 20).mapToObj(i -> "job " + i).toList();
    for (String job : jobs) {
      broker.publish(job, list("jobs"));
    }
    calls.await(20);
    assertThat(calls.payloads()).containsExactlyElementsOf(jobs);
    eventually().until(() -> backend.list("{jobs}:processing:w1").isEmpty());
    assertThat(backend.list("jobs")).isEmpty();
  }

  @Test
  void publishBatchAppendsInOrderAndWaitsForAConsumer() {
    RedisBroker broker = started();
    broker.publishBatch(List.of("a", "b", "c"), list("q"));
    assertThat(texts("q")).containsExactly("a", "b", "c");
    assertThat(backend.list("q")).extracting(s -> s.header("content-type")).containsOnly("text/plain");
    Calls<String> calls = new Calls<>();
    broker.subscriber(list("q").consumer("late")).handle(String.class, calls);
    calls.await(3);
    assertThat(calls.payloads()).containsExactly("a", "b", "c");
    eventually().until(() -> backend.list("q").isEmpty() && backend.list("{q}:processing:late").isEmpty());
  }

  @Test
  void aRejectedItemGoesToTheDeadLetterWithTheError() {
    RedisBroker broker = started();
    Calls<String> ok = new Calls<>();
    Subscription sub = broker.subscriber(list("dl").consumer("c").deadLetter()).handle(String.class, (s, ctx) -> {
      if (s.equals("poison")) {
        throw new IllegalArgumentException("cannot handle poison");
      }
      return ok.handle(s, ctx);
    });
    backend.despiteFailures(() -> broker.publish("poison", list("dl"), java.util.Map.of("tenant", "acme")));
    broker.publish("fine", list("dl"));
    assertThat(ok.awaitOne().payload()).isEqualTo("fine");
    eventually().until(() -> backend.list("{dl}:dlq").size() == 1);
    Backend.Stored dead = backend.list("{dl}:dlq").get(0);
    assertThat(dead.text()).isEqualTo("poison");
    assertThat(dead.header("x-error")).isEqualTo("java.lang.IllegalArgumentException: cannot handle poison");
    assertThat(dead.header("x-original")).isEqualTo("dl");
    assertThat(dead.header("tenant")).isEqualTo("acme");
    assertThat(dead.header("content-type")).isEqualTo("text/plain");
    eventually().until(() -> backend.list("{dl}:processing:c").isEmpty());
    assertThat(backend.list("dl")).isEmpty();
    assertThat(sub.metrics().rejected()).as("dead-lettered").isEqualTo(1);
    assertThat(sub.metrics().failed()).isEqualTo(1);
    assertThat(sub.metrics().handled()).isEqualTo(1);
  }

  @Test
  void withoutADeadLetterARejectedItemIsDropped() {
    RedisBroker broker = started();
    Calls<String> calls = new Calls<>();
    broker.subscriber(list("drop").consumer("c")).handle(String.class, (s, ctx) -> {
      calls.handle(s, ctx);
      throw new IllegalStateException("no");
    });
    backend.despiteFailures(() -> broker.publish("x", list("drop")));
    calls.awaitOne();
    eventually().until(() -> backend.list("{drop}:processing:c").isEmpty());
    assertThat(backend.list("drop")).isEmpty();
    assertThat(backend.list("{drop}:dlq")).isEmpty();
  }

  @Test
  void anUndecodableItemIsDeadLetteredWithTheReasonAndCounted() {
    RedisBroker broker = started();
    Calls<Job> ok = new Calls<>();
    Subscription sub = broker.subscriber(list("typed").consumer("c").deadLetter()).handle(Job.class, ok);
    backend.despiteFailures(() -> broker.publish("not json", list("typed")));
    broker.publish(new Job(1), list("typed"));
    assertThat(ok.awaitOne().payload()).isEqualTo(new Job(1));
    eventually().until(() -> backend.list("{typed}:dlq").size() == 1);
    assertThat(backend.list("{typed}:dlq").get(0).header("x-error"))
        .startsWith("cannot decode into " + Job.class.getName() + ": Unrecognized token 'not'");
    assertThat(backend.list("{typed}:dlq").get(0).text()).isEqualTo("not json");
    assertThat(sub.metrics().decodeErrors()).isEqualTo(1);
    assertThat(sub.metrics().handled()).isEqualTo(1);
    assertThat(sub.metrics().rejected()).isEqualTo(1);
    eventually().until(() -> backend.list("{typed}:processing:c").isEmpty());
  }

  @Test
  void aNackedItemGoesBackToTheHeadAndComesBack() {
    RedisBroker broker = started();
    AtomicInteger attempts = new AtomicInteger();
    List<Long> deliveries = new CopyOnWriteArrayList<>();
    Calls<String> done = new Calls<>();
    broker.subscriber(list("retry").consumer("c")).ackPolicy(AckPolicy.NACK_ON_ERROR).handle(String.class, (s, ctx) -> {
      deliveries.add(ctx.deliveryCount());
      if (attempts.incrementAndGet() < 3) {
        throw new IllegalStateException("not yet");
      }
      return done.handle(s, ctx);
    });
    backend.despiteFailures(() -> broker.publish("stubborn", list("retry")));
    backend.despiteFailures(() -> backend.pass(Duration.ofMillis(100))); // the first back-off
    backend.despiteFailures(() -> backend.pass(Duration.ofMillis(200))); // the second, doubled
    assertThat(done.awaitOne().payload()).isEqualTo("stubborn");
    assertThat(attempts).hasValue(3);
    assertThat(deliveries).containsExactly(1L, 2L, 3L);
    assertThat(done.awaitOne().context().headers()).containsEntry("x-deliveries", "2");
    eventually().until(() -> backend.list("retry").isEmpty() && backend.list("{retry}:processing:c").isEmpty());
  }

  @Test
  void anItemNackedOnItsLastDeliveryGoesToTheDeadLetterWithItsCountAndError() {
    RedisBroker broker = started();
    List<Long> deliveries = new CopyOnWriteArrayList<>();
    Subscription sub = broker.subscriber(list("doomed").consumer("c").deadLetter().maxDeliveries(3))
        .ackPolicy(AckPolicy.NACK_ON_ERROR)
        .handle(String.class, (s, ctx) -> {
          deliveries.add(ctx.deliveryCount());
          throw new IllegalStateException("fails on delivery " + ctx.deliveryCount());
        });
    backend.despiteFailures(() -> broker.publish("always fails", list("doomed"), java.util.Map.of("tenant", "acme")));
    backend.despiteFailures(() -> backend.pass(Duration.ofMillis(100))); // back-offs: 100 ms, then doubling
    backend.despiteFailures(() -> backend.pass(Duration.ofMillis(200)));
    eventually().until(() -> backend.list("{doomed}:dlq").size() == 1);
    assertThat(deliveries).containsExactly(1L, 2L, 3L);
    Backend.Stored dead = backend.list("{doomed}:dlq").get(0);
    assertThat(dead.text()).isEqualTo("always fails");
    assertThat(dead.header("x-error")).isEqualTo("nacked 3 times (maxDeliveries 3); last error: "
        + "java.lang.IllegalStateException: fails on delivery 3");
    assertThat(dead.header("x-delivery-count")).isEqualTo("3");
    assertThat(sub.metrics().rejected()).as("the exhausted nack counts as dead-lettered").isEqualTo(1);
    assertThat(dead.header("x-original")).isEqualTo("doomed");
    assertThat(dead.header("tenant")).isEqualTo("acme");
    assertThat(dead.headers()).doesNotContainKey("x-deliveries"); // moved back to the queue, it starts afresh
    eventually().until(() -> backend.list("{doomed}:processing:c").isEmpty());
    assertThat(backend.list("doomed")).isEmpty();
  }

  @Test
  void aNackedItemComesBackAfterItsBackOffWhileOthersGoOn() {
    RedisBroker broker = started();
    Calls<String> calls = new Calls<>();
    broker.subscriber(list("later").consumer("c")).ackPolicy(AckPolicy.NACK_ON_ERROR).handle(String.class, (s, ctx) -> {
      calls.handle(s, ctx);
      if (s.equals("a") && ctx.deliveryCount() == 1) {
        throw new IllegalStateException("not yet");
      }
      return null;
    });
    backend.despiteFailures(() -> broker.publishBatch(List.of("a", "b"), list("later")));
    calls.await(2);
    assertThat(calls.payloads()).containsExactly("a", "b");
    backend.pass(Duration.ofMillis(100));
    calls.await(3);
    assertThat(calls.payloads()).containsExactly("a", "b", "a");
    eventually().until(() -> backend.list("{later}:processing:c").isEmpty() && backend.list("later").isEmpty());
  }

  @Test
  void anIdleBatchConsumerGetsItemsPushedTogetherInOneBatch() {
    RedisBroker broker = started();
    List<List<String>> batches = new CopyOnWriteArrayList<>();
    broker.subscriber(list("idle").consumer("c")).batch(100).handle(String.class, (List<String> items, MessageContext ctx) -> {
      batches.add(List.copyOf(items));
      return null;
    });
    broker.publishBatch(List.of("1", "hi"), list("idle")); // one RPUSH
    eventually().until(() -> batches.stream().mapToInt(List::size).sum() == 2);
    assertThat(batches).containsExactly(List.of("1", "hi"));
  }

  @Test
  void manualSettlementWithTheContextAndUnsettledItemsStayInProcessing() {
    RedisBroker broker = started();
    Calls<String> calls = new Calls<>();
    broker.subscriber(list("manual").consumer("m1").deadLetter()).ackPolicy(AckPolicy.MANUAL).handle(String.class, (s, ctx) -> {
      calls.handle(s, ctx);
      switch (s) {
        case "ack" -> ctx.ack();
        case "reject" -> ctx.reject();
        case "nack" -> {
          if (calls.payloads().stream().filter("nack"::equals).count() == 1) { // the first time
            ctx.nack();
          } else {
            ctx.ack();
          }
        }
        default -> { } // left unsettled
      }
      return null;
    });
    broker.publishBatch(List.of("ack", "reject", "keep", "nack"), list("manual"));
    backend.pass(Duration.ofMillis(100)); // the nacked one comes back after its back-off
    calls.await(5);
    eventually().until(() -> backend.list("{manual}:processing:m1").size() == 1);
    assertThat(texts("{manual}:processing:m1")).containsExactly("keep");
    assertThat(texts("{manual}:dlq")).containsExactly("reject");
    assertThat(backend.list("{manual}:dlq").get(0).header("x-error")).isEqualTo("rejected by the handler");
    assertThat(backend.list("manual")).isEmpty();
    assertThat(calls.payloads()).containsExactly("ack", "reject", "keep", "nack", "nack");
  }

  @Test
  void handlerSignalsOverrideThePolicy() {
    RedisBroker broker = started();
    AtomicInteger nacks = new AtomicInteger();
    Calls<String> after = new Calls<>();
    broker.subscriber(list("sig").consumer("c").deadLetter()).ackPolicy(AckPolicy.NACK_ON_ERROR).handle(String.class, (s, ctx) -> {
      switch (s) {
        case "reject-me" -> throw new RejectMessage("not wanted");
        case "ack-me" -> throw new AckMessage();
        case "nack-me" -> {
          if (nacks.incrementAndGet() == 1) {
            throw new NackMessage();
          }
        }
        default -> { }
      }
      return after.handle(s, ctx);
    });
    broker.publishBatch(List.of("reject-me", "ack-me", "nack-me"), list("sig"));
    backend.pass(Duration.ofMillis(100)); // the nacked one comes back after its back-off
    assertThat(after.awaitOne().payload()).isEqualTo("nack-me");
    eventually().until(() -> backend.list("{sig}:dlq").size() == 1 && backend.list("{sig}:processing:c").isEmpty());
    assertThat(backend.list("{sig}:dlq").get(0).header("x-error")).isEqualTo("not wanted");
    assertThat(texts("{sig}:dlq")).containsExactly("reject-me");
    assertThat(backend.list("sig")).isEmpty();
    assertThat(nacks).hasValue(2);
  }

  @Test
  void anAtMostOnceListPopsAndForgets() {
    RedisBroker broker = started();
    Calls<String> calls = new Calls<>();
    broker.subscriber(list("amo").atMostOnce().consumer("c").deadLetter()).handle(String.class, (s, ctx) -> {
      calls.handle(s, ctx);
      throw new IllegalStateException("lost on purpose");
    });
    backend.despiteFailures(() -> broker.publishBatch(List.of("1", "2", "3"), list("amo")));
    calls.await(3);
    assertThat(calls.payloads()).containsExactly("1", "2", "3");
    assertThat(backend.list("amo")).isEmpty();
    assertThat(backend.list("{amo}:processing:c")).isEmpty();
    assertThat(backend.list("{amo}:dlq")).isEmpty();
  }

  @Test
  void batchesHoldAtMostTheirSizeAndAreAcknowledgedTogether() {
    RedisBroker broker = started();
    List<Integer> sizes = new CopyOnWriteArrayList<>();
    Set<String> all = ConcurrentHashMap.newKeySet();
    broker.subscriber(list("batch").consumer("b")).batch(10).handle(String.class, (List<String> items, MessageContext ctx) -> {
      sizes.add(items.size());
      all.addAll(items);
      return null;
    });
    broker.publishBatch(IntStream.range(0, 95).mapToObj(i -> "b" + i).toList(), list("batch"));
    eventually().until(() -> all.size() == 95);
    assertThat(sizes).allMatch(s -> s >= 1 && s <= 10);
    assertThat(sizes.stream().mapToInt(Integer::intValue).sum()).isEqualTo(95);
    eventually().until(() -> backend.list("{batch}:processing:b").isEmpty());

    sizes.clear();
    broker.publish("alone", list("batch")); // a lone item is a batch of one, without waiting for more
    eventually().until(() -> all.contains("alone"));
    assertThat(sizes).containsExactly(1);
  }

  @Test
  void concurrencyRunsThatManyHandlersAtOnce() throws Exception {
    RedisBroker broker = started();
    CountDownLatch together = new CountDownLatch(4);
    Calls<String> calls = new Calls<>();
    broker.subscriber(list("par")).concurrency(4).handle(String.class, (s, ctx) -> {
      together.countDown();
      if (!together.await(10, TimeUnit.SECONDS)) { // returns only when four handlers run at once
        throw new IllegalStateException("fewer than 4 handlers ran at once");
      }
      return calls.handle(s, ctx);
    });
    broker.publishBatch(List.of("1", "2", "3", "4"), list("par"));
    calls.await(4);
    assertThat(calls.payloads()).containsExactlyInAnyOrder("1", "2", "3", "4");
  }

  @Test
  void aRestartedConsumerGetsWhatItsProcessingListHoldsFirst() {
    RedisBroker broker = started();
    List<String> firstRun = new CopyOnWriteArrayList<>();
    Subscription first = broker.subscriber(list("own").consumer("c1")).ackPolicy(AckPolicy.MANUAL).handle(String.class, (s, ctx) -> {
      firstRun.add(s); // never settled
      return null;
    });
    broker.publishBatch(List.of("p1", "p2"), list("own"));
    eventually().until(() -> firstRun.size() == 2);
    first.close();
    assertThat(texts("{own}:processing:c1")).containsExactly("p1", "p2");

    Calls<String> again = new Calls<>();
    broker.subscriber(list("own").consumer("c1")).handle(String.class, again);
    again.await(2);
    assertThat(again.payloads()).containsExactly("p1", "p2");
    eventually().until(() -> backend.list("{own}:processing:c1").isEmpty());
  }

  @Test
  void whatAStoppedConsumerLeftUnsettledGoesToTheNextConsumerThatStarts() {
    RedisBroker broker = started();
    List<String> firstRun = new CopyOnWriteArrayList<>();
    Subscription gone = broker.subscriber(list("handover").consumer("gone")).ackPolicy(AckPolicy.MANUAL)
        .handle(String.class, (s, ctx) -> {
          firstRun.add(s); // never settled
          return null;
        });
    broker.publishBatch(List.of("h1", "h2"), list("handover"));
    eventually().until(() -> firstRun.size() == 2);
    gone.close();
    assertThat(texts("{handover}:processing:gone")).containsExactly("h1", "h2");

    Calls<String> next = new Calls<>();
    broker.subscriber(list("handover").consumer("next")).handle(String.class, next);
    next.await(2);
    assertThat(next.payloads()).containsExactly("h1", "h2");
    eventually().until(() -> backend.list("{handover}:processing:gone").isEmpty()
        && backend.list("{handover}:processing:next").isEmpty());
  }

  @Test
  void aStoppedSubscriptionLeavesNewItemsInTheQueueUntilItStartsAgain() {
    RedisBroker broker = started();
    Calls<String> calls = new Calls<>();
    Subscription sub = broker.subscriber(list("paused").consumer("c")).handle(String.class, calls);
    sub.stop();
    broker.publishBatch(List.of("x", "y"), list("paused"));
    assertThat(texts("paused")).containsExactly("x", "y");
    assertThat(calls.count()).isZero();
    sub.start();
    calls.await(2);
    assertThat(calls.payloads()).containsExactly("x", "y");
    eventually().until(() -> backend.list("paused").isEmpty() && backend.list("{paused}:processing:c").isEmpty());
  }

  @Test
  void aListAndAStreamCannotShareAName() {
    RedisBroker broker = started();
    broker.publish("item", list("shared-name"));
    assertThatThrownBy(() -> broker.publish("entry", stream("shared-name")))
        .isInstanceOf(BrookException.class)
        .hasMessageStartingWith("Publishing to stream:shared-name on ")
        .hasMessageEndingWith(" failed: WRONGTYPE Operation against a key holding the wrong kind of value");
    broker.publish("entry", stream("other-name"));
    assertThatThrownBy(() -> broker.publishBatch(List.of("a", "b"), list("other-name")))
        .hasMessageEndingWith(" failed: WRONGTYPE Operation against a key holding the wrong kind of value");
    assertThat(texts("shared-name")).containsExactly("item");
    assertThat(backend.stream("other-name")).extracting(Backend.Stored::text).containsExactly("entry");
  }

  @Test
  void aLongErrorIsClippedInTheDeadLetter() {
    RedisBroker broker = started();
    String longMessage = "x".repeat(3000);
    broker.subscriber(list("long").consumer("c").deadLetter()).handle(String.class, (s, ctx) -> {
      throw new IllegalStateException(longMessage);
    });
    backend.despiteFailures(() -> broker.publish("m", list("long")));
    eventually().until(() -> backend.list("{long}:dlq").size() == 1);
    String error = backend.list("{long}:dlq").get(0).header("x-error");
    assertThat(error).hasSize(2001).startsWith("java.lang.IllegalStateException: xxx").endsWith("x…");
  }

  @Test
  void aSubscriptionTakesNoMoreThanItsBufferHoldsAndRedisKeepsTheRest() {
    RedisBroker broker = started(b -> b.bufferSize(2));
    List<Integer> waitingInRedis = new CopyOnWriteArrayList<>();
    Calls<String> calls = new Calls<>();
    broker.subscriber(list("backlog").consumer("c")).handle(String.class, (s, ctx) -> {
      if (s.equals("0")) {
        waitingInRedis.add(backend.list("backlog").size());
      }
      return calls.handle(s, ctx);
    });
    broker.publishBatch(IntStream.range(0, 10).mapToObj(Integer::toString).toList(), list("backlog"));
    calls.await(10);
    assertThat(calls.payloads()).containsExactlyElementsOf(IntStream.range(0, 10).mapToObj(Integer::toString).toList());
    assertThat(waitingInRedis).singleElement().asInstanceOf(org.assertj.core.api.InstanceOfAssertFactories.INTEGER)
        .isGreaterThanOrEqualTo(5); // the rest of the backlog was still in the list, not in the JVM
    eventually().until(() -> backend.list("{backlog}:processing:c").isEmpty());
  }
}
