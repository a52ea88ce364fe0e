package dev.brook.tests.behaviour;

import static dev.brook.redis.Redis.channel;
import static dev.brook.redis.Redis.list;
import static dev.brook.redis.Redis.pattern;
import static dev.brook.redis.Redis.stream;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.brook.AckPolicy;
import dev.brook.DuplicatePolicy;
import dev.brook.DuplicateSubscriptionException;
import dev.brook.Message;
import dev.brook.PullSubscription;
import dev.brook.Router;
import dev.brook.Subscription;
import dev.brook.redis.RedisBroker;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

/**
 * Pull subscriptions (FastStream's {@code subscriber.get_one()} and {@code async for}): a caller
 * takes messages on each kind of destination; Redis keeps what nobody took; the ack policy decides
 * when a pulled message is settled; it is a subscription like any other (one per id, closed
 * releases).
 */
abstract class PullBehaviour extends Behaviour {

  record Order(long id, String item) {}

  private static final Duration WAIT = Duration.ofSeconds(5);

  PullBehaviour(Backend backend) {
    super(backend);
  }

  private List<String> texts(String key) {
    return backend.list(key).stream().map(Backend.Stored::text).toList();
  }

  @Test
  void getOnAChannelWithHeaders() {
    RedisBroker broker = started();
    PullSubscription<Order> orders = broker.subscriber(channel("p-orders")).pull(Order.class);
    assertThat(broker.subscriptions()).containsExactly(orders);
    assertThat(orders.state()).isEqualTo(Subscription.State.RUNNING);
    broker.publish(new Order(1, "pen"), channel("p-orders"), Map.of("version", "2"));
    Message<Order> m = orders.get(WAIT);
    assertThat(m.payload()).isEqualTo(new Order(1, "pen"));
    assertThat(m.header("version")).isEqualTo("2");
    assertThat(m.channel()).isEqualTo("p-orders");
    assertThat(m.destination()).isEqualTo(channel("p-orders"));
    assertThat(orders.metrics().received()).isEqualTo(1);
  }

  @Test
  void getOnAPatternHasItsPathParts() {
    RedisBroker broker = started();
    PullSubscription<String> logs = broker.subscriber(pattern("p-logs.{level}")).pull(String.class);
    broker.publish("disk full", channel("p-logs.error"));
    Message<String> m = logs.get(WAIT);
    assertThat(m.payload()).isEqualTo("disk full");
    assertThat(m.path("level")).isEqualTo("error");
    assertThat(m.channel()).isEqualTo("p-logs.error");
  }

  @Test
  void getOnAListAcknowledgesWhenTheNextIsPulled() {
    RedisBroker broker = started();
    PullSubscription<String> jobs = broker.subscriber(list("p-jobs").consumer("c")).pull(String.class);
    broker.publishBatch(List.of("a", "b", "c"), list("p-jobs"));
    assertThat(jobs.get(WAIT).payload()).isEqualTo("a");
    // a is with the caller: still in the processing list; b and c wait in Redis (at most one more fetched)
    eventually().until(() -> texts("{p-jobs}:processing:c").contains("a"));
    assertThat(texts("p-jobs").size() + texts("{p-jobs}:processing:c").size()).isEqualTo(3);
    assertThat(jobs.get(WAIT).payload()).isEqualTo("b");
    eventually().until(() -> !texts("{p-jobs}:processing:c").contains("a"));
    assertThat(jobs.get(WAIT).payload()).isEqualTo("c");
    assertThat(jobs.get(Duration.ofMillis(50))).isNull(); // finishes c
    eventually().until(() -> backend.list("{p-jobs}:processing:c").isEmpty());
    assertThat(backend.list("p-jobs")).isEmpty();
    eventually().until(() -> jobs.metrics().handled() == 3);
  }

  @Test
  void getOnAStreamGroup() {
    RedisBroker broker = started();
    PullSubscription<Order> events = broker.subscriber(stream("p-events").group("g").consumer("c")).pull(Order.class);
    broker.publish(new Order(7, "ink"), stream("p-events"));
    Message<Order> m = events.get(WAIT);
    assertThat(m.payload()).isEqualTo(new Order(7, "ink"));
    assertThat(m.deliveryCount()).isEqualTo(1);
    assertThat(backend.pending("p-events", "g")).hasSize(1); // with the caller
    events.close(); // the stop acknowledges what the caller took (REJECT_ON_ERROR acks a done message)
    eventually().until(() -> backend.pending("p-events", "g").isEmpty());
  }

  @Test
  void getReturnsNullAfterTheTimeout() {
    RedisBroker broker = started();
    PullSubscription<String> empty = broker.subscriber(list("p-empty")).pull(String.class);
    long start = System.nanoTime();
    assertThat(empty.get(Duration.ofMillis(200))).isNull();
    assertThat(System.nanoTime() - start).isGreaterThanOrEqualTo(TimeUnit.MILLISECONDS.toNanos(190));
    assertThat(empty.get(Duration.ZERO)).isNull();
  }

  @Test
  void iterationTakesEverythingInOrderAndEndsWhenIdle() {
    RedisBroker broker = started();
    PullSubscription<String> jobs = broker.subscriber(list("p-iter").consumer("c")).pull(String.class);
    List<String> all = IntStream.range(0, 10).mapToObj(i -> "job " + i).toList();
    broker.publishBatch(all, list("p-iter"));
    List<String> seen = new ArrayList<>();
    for (Message<String> m : jobs.messages(Duration.ofMillis(300))) {
      seen.add(m.payload());
    }
    assertThat(seen).containsExactlyElementsOf(all);
    eventually().until(() -> backend.list("{p-iter}:processing:c").isEmpty());

    broker.publishBatch(List.of("x", "y", "z"), list("p-iter"));
    assertThat(jobs.stream(Duration.ofMillis(300)).map(Message::payload).toList()).containsExactly("x", "y", "z");
  }

  @Test
  void manualSettlementByTheCaller() {
    RedisBroker broker = started();
    PullSubscription<String> jobs = broker.subscriber(list("p-manual").consumer("c").deadLetter())
        .ackPolicy(AckPolicy.MANUAL).pull(String.class);
    broker.publish("retry", list("p-manual"));
    Message<String> first = jobs.get(WAIT);
    assertThat(first.payload()).isEqualTo("retry");
    first.nack(); // back at the head after its back-off
    backend.pass(Duration.ofMillis(100));
    Message<String> again = jobs.get(WAIT);
    assertThat(again.payload()).isEqualTo("retry");
    assertThat(again.deliveryCount()).isEqualTo(2);
    again.ack();
    broker.publishBatch(List.of("bad", "ok"), list("p-manual"));
    Message<String> bad = jobs.get(WAIT);
    assertThat(bad.payload()).isEqualTo("bad");
    bad.reject();
    Message<String> ok = jobs.get(WAIT);
    assertThat(ok.payload()).isEqualTo("ok");
    ok.ack();
    ok.nack(); // settled once only
    eventually().until(() -> backend.list("{p-manual}:processing:c").isEmpty());
    assertThat(texts("{p-manual}:dlq")).containsExactly("bad");
    assertThat(backend.list("p-manual")).isEmpty();
  }

  @Test
  void channelMessagesWaitForTheCallerInOrder() {
    RedisBroker broker = started();
    PullSubscription<Integer> numbers = broker.subscriber(channel("p-many")).pull(Integer.class);
    for (int i = 0; i < 20; i++) {
      broker.publish(i, channel("p-many"));
    }
    assertThat(numbers.stream(Duration.ofMillis(300)).map(Message::payload).toList())
        .containsExactlyElementsOf(IntStream.range(0, 20).boxed().toList());
  }

  @Test
  void onAListWhatNobodySettledOrTookComesBackAfterCloseInOrder() {
    RedisBroker broker = started();
    PullSubscription<String> first = broker.subscriber(list("p-back").consumer("c")).ackPolicy(AckPolicy.MANUAL)
        .pull(String.class);
    broker.publishBatch(List.of("a", "b", "c", "d"), list("p-back"));
    assertThat(first.get(WAIT).payload()).isEqualTo("a"); // never settled
    first.close();
    assertThat(first.state()).isEqualTo(Subscription.State.CLOSED);
    assertThat(first.get(WAIT)).isNull();

    PullSubscription<String> second = broker.subscriber(list("p-back").consumer("c")).pull(String.class);
    List<String> seen = second.stream(Duration.ofMillis(300)).map(Message::payload).toList();
    assertThat(seen).containsExactly("a", "b", "c", "d");
    eventually().until(() -> backend.list("{p-back}:processing:c").isEmpty());
  }

  @Test
  void onAStreamAnUnsettledEntryComesBackAfterCloseAndRePull() {
    RedisBroker broker = started();
    PullSubscription<String> first = broker.subscriber(stream("p-sback").group("g").consumer("c"))
        .ackPolicy(AckPolicy.MANUAL).pull(String.class);
    broker.publish("e1", stream("p-sback"));
    broker.publish("e2", stream("p-sback"));
    Message<String> m = first.get(WAIT);
    assertThat(m.payload()).isEqualTo("e1");
    first.close();
    m.ack(); // after the stop: does nothing, the entry comes back
    assertThat(backend.pending("p-sback", "g")).hasSize(1).containsValue(1L);

    PullSubscription<String> second = broker.subscriber(stream("p-sback").group("g").consumer("c")).pull(String.class);
    Message<String> back = second.get(WAIT);
    assertThat(back.payload()).isEqualTo("e1");
    assertThat(back.deliveryCount()).isEqualTo(2);
    assertThat(second.get(WAIT).payload()).isEqualTo("e2");
    assertThat(second.get(Duration.ofMillis(50))).isNull();
    eventually().until(() -> backend.pending("p-sback", "g").isEmpty());
  }

  @Test
  void aMessageThatCannotBeDecodedGoesToTheDeadLetterNotToTheCaller() {
    RedisBroker broker = started();
    PullSubscription<Order> orders = broker.subscriber(list("p-bad").consumer("c").deadLetter()).pull(Order.class);
    backend.despiteFailures(() -> broker.publish("not an order", list("p-bad")));
    broker.publish(new Order(2, "pad"), list("p-bad"));
    assertThat(orders.get(WAIT).payload()).isEqualTo(new Order(2, "pad"));
    assertThat(texts("{p-bad}:dlq")).containsExactly("not an order");
    assertThat(orders.metrics().decodeErrors()).isEqualTo(1);
  }

  @Test
  void aPullIdIsReplacedOrRejectedLikeAnyOther() {
    RedisBroker broker = started();
    PullSubscription<String> one = broker.subscriber(list("p-dup").consumer("c")).id("puller").pull(String.class);
    PullSubscription<String> two = broker.subscriber(list("p-dup").consumer("c")).id("puller").pull(String.class);
    assertThat(one.state()).isEqualTo(Subscription.State.CLOSED);
    assertThat(broker.subscriptions()).containsExactly(two);
    broker.publish("only two", list("p-dup"));
    assertThat(one.get(Duration.ofMillis(50))).isNull();
    assertThat(two.get(WAIT).payload()).isEqualTo("only two");
  }

  @Test
  void underRejectASecondPullOfAnIdThrows() {
    RedisBroker broker = started(b -> b.duplicatePolicy(DuplicatePolicy.REJECT));
    PullSubscription<String> one = broker.subscriber(channel("p-rej")).pull(String.class);
    assertThatThrownBy(() -> broker.subscriber(channel("p-rej")).pull(String.class))
        .isInstanceOf(DuplicateSubscriptionException.class);
    assertThat(broker.subscriptions()).containsExactly(one);
  }

  @Test
  void startsWithTheBrokerAndStopsAndStartsAgain() {
    RedisBroker broker = backend.broker();
    PullSubscription<String> jobs = broker.subscriber(list("p-later").consumer("c")).pull(String.class);
    assertThat(jobs.state()).isEqualTo(Subscription.State.REGISTERED);
    backend.start(broker);
    assertThat(jobs.state()).isEqualTo(Subscription.State.RUNNING);
    broker.publish("one", list("p-later"));
    assertThat(jobs.get(WAIT).payload()).isEqualTo("one");
    jobs.stop();
    assertThat(jobs.get(WAIT)).isNull(); // at once: stopped
    broker.publish("two", list("p-later"));
    assertThat(texts("p-later")).containsExactly("two");
    jobs.start();
    assertThat(jobs.get(WAIT).payload()).isEqualTo("two");
  }

  @Test
  void closeWakesAWaitingCallerAndReleasesEverything() throws Exception {
    RedisBroker broker = started();
    PullSubscription<String> jobs = broker.subscriber(list("p-close").consumer("c")).pull(String.class);
    CompletableFuture<Message<String>> waiting = CompletableFuture.supplyAsync(() -> jobs.get(Duration.ofSeconds(30)));
    Thread.sleep(50);
    long start = System.nanoTime();
    jobs.close();
    assertThat(waiting.get(5, TimeUnit.SECONDS)).isNull();
    assertThat(System.nanoTime() - start).isLessThan(TimeUnit.SECONDS.toNanos(5));
    assertThat(broker.subscriptions()).isEmpty();
  }

  @Test
  void aMessageWaitingForACallerGoesBackAtOnceWhenTheSubscriptionStops() {
    RedisBroker broker = started(b -> b.gracefulTimeout(Duration.ofSeconds(20)));
    PullSubscription<String> jobs = broker.subscriber(list("p-wait").consumer("c")).pull(String.class);
    broker.publishBatch(List.of("w1", "w2"), list("p-wait"));
    eventually().until(() -> jobs.metrics().received() >= 1); // w1 waits in the hand-off
    long start = System.nanoTime();
    jobs.close(); // does not wait the graceful timeout for a caller
    assertThat(System.nanoTime() - start).isLessThan(TimeUnit.SECONDS.toNanos(5));
    eventually().until(() -> texts("p-wait").equals(List.of("w1", "w2")));
    assertThat(backend.list("{p-wait}:processing:c")).isEmpty();
  }

  @Test
  void aRouterCannotDeclareAPull() {
    Router router = Router.withPrefix("r.");
    assertThatThrownBy(() -> router.subscriber(list("x")).pull(String.class))
        .isInstanceOf(UnsupportedOperationException.class).hasMessageContaining("not on a router");
    RedisBroker broker = started();
    assertThatThrownBy(() -> broker.subscriber(list("x")).concurrency(2).pull(String.class))
        .isInstanceOf(IllegalStateException.class).hasMessageContaining("concurrency");
  }

  @Test
  void severalCallersShareTheMessagesEachOnce() throws Exception {
    RedisBroker broker = started();
    PullSubscription<Integer> jobs = broker.subscriber(list("p-shared").consumer("c")).pull(Integer.class);
    List<Integer> all = IntStream.range(0, 40).boxed().toList();
    broker.publishBatch(all, list("p-shared"));
    List<Integer> taken = new java.util.concurrent.CopyOnWriteArrayList<>();
    List<CompletableFuture<Void>> callers = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      callers.add(CompletableFuture.runAsync(() -> {
        for (Message<Integer> m : jobs.messages(Duration.ofMillis(500))) {
          taken.add(m.payload());
        }
      }));
    }
    CompletableFuture.allOf(callers.toArray(new CompletableFuture[0])).get(30, TimeUnit.SECONDS);
    assertThat(taken).containsExactlyInAnyOrderElementsOf(all);
    eventually().until(() -> backend.list("{p-shared}:processing:c").isEmpty());
    assertThat(backend.list("p-shared")).isEmpty();
  }
}
