package dev.brook.tests.behaviour;

import static dev.brook.redis.Redis.channel;
import static dev.brook.redis.Redis.list;
import static dev.brook.redis.Redis.stream;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.brook.AckPolicy;
import dev.brook.DuplicatePolicy;
import dev.brook.DuplicateSubscriptionException;
import dev.brook.Message;
import dev.brook.MessageContext;
import dev.brook.PullSubscription;
import dev.brook.SkipMessage;
import dev.brook.StopConsume;
import dev.brook.Subscription;
import dev.brook.redis.RedisBroker;
import dev.brook.tests.Calls;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

/**
 * FastStream's own consuming tests ({@code tests/brokers/base/consume.py} and {@code
 * tests/brokers/redis/test_consume.py}) for pull subscriptions, filters, {@code StopConsume} and
 * batch headers, translated to Brook's API (each method is named after the test it mirrors), then
 * probes of the same features under races and failures (stop/close racing a waiting {@code get},
 * {@code StopConsume} with a backlog, a throwing filter predicate).
 */
abstract class FastStreamConsumeScenariosBehaviour extends Behaviour {

  /** FastStream's {@code {"msg": "hello"}}. */
  record Msg(String msg) {}

  private static final Duration WAIT = Duration.ofSeconds(5);

  FastStreamConsumeScenariosBehaviour(Backend backend) {
    super(backend);
  }

  private List<String> texts(String key) {
    return backend.list(key).stream().map(Backend.Stored::text).toList();
  }

  /** A get waiting in another thread while the test thread publishes (FastStream's two tasks). */
  private static <T> Message<T> getWhilePublishing(PullSubscription<T> sub, Runnable publish) throws Exception {
    CompletableFuture<Message<T>> got = CompletableFuture.supplyAsync(() -> sub.get(WAIT));
    Thread.sleep(20);
    publish.run();
    return got.get(10, TimeUnit.SECONDS);
  }

  // ---- tests/brokers/base/consume.py ---------------------------------------------------------

  /** FastStream {@code tests/brokers/base/consume.py::BrokerRealConsumeTestcase::test_get_one} (a channel). */
  @Test
  void test_get_one() throws Exception {
    RedisBroker broker = started();
    PullSubscription<String> sub = broker.subscriber(channel("fsc-get")).pull(String.class);
    Message<String> m = getWhilePublishing(sub, () -> broker.publish("test_message", channel("fsc-get")));
    assertThat(m).isNotNull();
    assertThat(m.payload()).isEqualTo("test_message");
  }

  /** FastStream {@code tests/brokers/base/consume.py::BrokerRealConsumeTestcase::test_get_one_timeout}. */
  @Test
  void test_get_one_timeout() {
    RedisBroker broker = started();
    PullSubscription<String> sub = broker.subscriber(channel("fsc-get-t")).pull(String.class);
    assertThat(sub.get(Duration.ofNanos(1))).isNull();
  }

  /**
   * FastStream {@code tests/brokers/base/consume.py::BrokerConsumeTestcase::test_get_one_conflicts_with_handler}:
   * FastStream refuses {@code get_one} on a subscriber with a handler. In Brook a handler and a pull
   * are two declarations of one id; under the default {@code REPLACE} the pull replaces the handler
   * (closed, never two consumers of one id at once).
   */
  @Test
  void test_get_one_conflicts_with_handler() {
    RedisBroker broker = started();
    Calls<String> handler = new Calls<>();
    Subscription withHandler = broker.subscriber(list("fsc-conflict").consumer("c")).id("t").handle(String.class, handler);
    PullSubscription<String> pull = broker.subscriber(list("fsc-conflict").consumer("c")).id("t").pull(String.class);
    assertThat(withHandler.state()).isEqualTo(Subscription.State.CLOSED);
    assertThat(broker.subscriptions()).containsExactly(pull);
    broker.publish("only the pull", list("fsc-conflict"));
    assertThat(pull.get(WAIT).payload()).isEqualTo("only the pull");
    assertThat(handler.count()).isZero();
  }

  /**
   * FastStream {@code tests/brokers/base/consume.py::BrokerConsumeTestcase::test_get_one_conflicts_with_handler},
   * under {@code DuplicatePolicy.REJECT}: the pull is refused (FastStream's {@code AssertionError}) and
   * the handler keeps consuming.
   */
  @Test
  void test_get_one_conflicts_with_handler_reject() {
    RedisBroker broker = started(b -> b.duplicatePolicy(DuplicatePolicy.REJECT));
    Calls<String> handler = new Calls<>();
    Subscription withHandler = broker.subscriber(channel("fsc-conflict-r")).handle(String.class, handler);
    assertThatThrownBy(() -> broker.subscriber(channel("fsc-conflict-r")).pull(String.class))
        .isInstanceOf(DuplicateSubscriptionException.class);
    assertThat(broker.subscriptions()).containsExactly(withHandler);
    broker.publish("still handled", channel("fsc-conflict-r"));
    assertThat(handler.awaitOne().payload()).isEqualTo("still handled");
  }

  /** FastStream {@code tests/brokers/base/consume.py::BrokerRealConsumeTestcase::test_iteration} (a channel). */
  @Test
  void test_iteration() throws Exception {
    RedisBroker broker = started();
    PullSubscription<String> sub = broker.subscriber(channel("fsc-iter")).pull(String.class);
    List<String> expected = List.of("test_message_1", "test_message_2");
    CompletableFuture<List<String>> consumed = CompletableFuture.supplyAsync(() -> {
      List<String> seen = new ArrayList<>();
      for (Message<String> m : sub.messages(WAIT)) {
        seen.add(m.payload());
        if (seen.size() >= expected.size()) {
          break;
        }
      }
      return seen;
    });
    Thread.sleep(20);
    expected.forEach(s -> broker.publish(s, channel("fsc-iter")));
    assertThat(consumed.get(10, TimeUnit.SECONDS)).containsExactlyElementsOf(expected);
  }

  /**
   * FastStream {@code tests/brokers/base/consume.py::BrokerConsumeTestcase::test_consume_with_filter}:
   * a filter on the content type takes the JSON message, the handler without a filter the text.
   */
  @Test
  void test_consume_with_filter() {
    RedisBroker broker = started();
    Calls<Msg> json = new Calls<>();
    Calls<String> rest = new Calls<>();
    broker.subscriber(channel("fsc-filter"))
        .filter(ctx -> "application/json".equals(ctx.header("content-type")), Msg.class, json)
        .handle(String.class, rest);
    broker.publish(new Msg("hello"), channel("fsc-filter"));
    broker.publish("hello", channel("fsc-filter"));
    assertThat(json.awaitOne().payload()).isEqualTo(new Msg("hello"));
    assertThat(rest.awaitOne().payload()).isEqualTo("hello");
    assertThat(json.count()).isEqualTo(1);
    assertThat(rest.count()).isEqualTo(1);
  }

  /** FastStream {@code tests/brokers/base/consume.py::BrokerRealConsumeTestcase::test_stop_consume_exc}. */
  @Test
  void test_stop_consume_exc() {
    RedisBroker broker = started();
    Calls<String> calls = new Calls<>();
    Subscription sub = broker.subscriber(channel("fsc-stop")).handle(String.class, (s, ctx) -> {
      calls.handle(s, ctx);
      throw new StopConsume();
    });
    broker.publish("hello", channel("fsc-stop"));
    calls.awaitOne();
    eventually().until(() -> sub.state() == Subscription.State.STOPPED);
    broker.publish("hello", channel("fsc-stop"));
    backend.pass(Duration.ofMillis(300));
    assertThat(calls.count()).isEqualTo(1);
  }

  // ---- tests/brokers/redis/test_consume.py ---------------------------------------------------

  /** FastStream {@code tests/brokers/redis/test_consume.py::TestConsumeList::test_get_one}. */
  @Test
  void test_get_one_list() throws Exception {
    RedisBroker broker = started();
    PullSubscription<String> sub = broker.subscriber(list("fsc-get-l")).pull(String.class);
    Message<String> m = getWhilePublishing(sub, () -> broker.publish("test_message", list("fsc-get-l")));
    assertThat(m.payload()).isEqualTo("test_message");
  }

  /** FastStream {@code tests/brokers/redis/test_consume.py::TestConsumeList::test_get_one_timeout}. */
  @Test
  void test_get_one_timeout_list() {
    RedisBroker broker = started();
    PullSubscription<String> sub = broker.subscriber(list("fsc-get-lt")).pull(String.class);
    assertThat(sub.get(Duration.ofNanos(1))).isNull();
  }

  /** FastStream {@code tests/brokers/redis/test_consume.py::TestConsumeList::test_iterator} (published first, then iterated). */
  @Test
  void test_iterator_list() {
    RedisBroker broker = started();
    PullSubscription<String> sub = broker.subscriber(list("fsc-iter-l")).pull(String.class);
    List<String> expected = List.of("test_message_1", "test_message_2");
    expected.forEach(s -> broker.publish(s, list("fsc-iter-l")));
    List<String> seen = new ArrayList<>();
    for (Message<String> m : sub.messages(WAIT)) {
      seen.add(m.payload());
      if (seen.size() >= expected.size()) {
        break;
      }
    }
    assertThat(seen).containsExactlyElementsOf(expected);
  }

  /** FastStream {@code tests/brokers/redis/test_consume.py::TestConsumeStream::test_get_one} (a stream without group). */
  @Test
  void test_get_one_stream() throws Exception {
    RedisBroker broker = started();
    PullSubscription<String> sub = broker.subscriber(stream("fsc-get-s")).pull(String.class);
    Message<String> m = getWhilePublishing(sub, () -> broker.publish("test_message", stream("fsc-get-s")));
    assertThat(m.payload()).isEqualTo("test_message");
  }

  /** FastStream {@code tests/brokers/redis/test_consume.py::TestConsumeStream::test_get_one_timeout}. */
  @Test
  void test_get_one_timeout_stream() {
    RedisBroker broker = started();
    PullSubscription<String> sub = broker.subscriber(stream("fsc-get-st")).pull(String.class);
    assertThat(sub.get(Duration.ofNanos(1))).isNull();
  }

  /** FastStream {@code tests/brokers/redis/test_consume.py::TestConsumeStream::test_iterator}. */
  @Test
  void test_iterator_stream() throws Exception {
    RedisBroker broker = started();
    PullSubscription<String> sub = broker.subscriber(stream("fsc-iter-s")).pull(String.class);
    List<String> expected = List.of("test_message_1", "test_message_2");
    CompletableFuture<List<String>> consumed = CompletableFuture.supplyAsync(
        () -> sub.stream(WAIT).limit(expected.size()).map(Message::payload).toList());
    Thread.sleep(100);
    expected.forEach(s -> broker.publish(s, stream("fsc-iter-s")));
    assertThat(consumed.get(10, TimeUnit.SECONDS)).containsExactlyElementsOf(expected);
  }

  /** FastStream {@code tests/brokers/redis/test_consume.py::TestConsumeList::test_consume_list_batch_headers}. */
  @Test
  void test_consume_list_batch_headers() {
    assertBatchHeaders(list("fsc-bh-l"));
  }

  /** FastStream {@code tests/brokers/redis/test_consume.py::TestConsumeStream::test_consume_stream_batch_headers}. */
  @Test
  void test_consume_stream_batch_headers() {
    assertBatchHeaders(stream("fsc-bh-s"));
  }

  private void assertBatchHeaders(dev.brook.Destination destination) {
    RedisBroker broker = started();
    List<Boolean> checks = new CopyOnWriteArrayList<>();
    broker.subscriber(destination).batch(10).handle(String.class, (List<String> items, MessageContext ctx) -> {
      checks.add(!ctx.headers().isEmpty()
          && ctx.headers().get("correlation_id") != null
          && ctx.headers().get("correlation_id").equals(ctx.batchHeaders().get(0).get("correlation_id"))
          && "1".equals(ctx.headers().get("custom")));
      return null;
    });
    broker.publish("", destination, Map.of("custom", "1"));
    eventually().until(() -> checks.size() == 1);
    assertThat(checks).containsExactly(true);
  }

  // ---- probes: races and failures ------------------------------------------------------------

  /**
   * Callers waiting in {@code get} while another thread stops the pull subscription, on a reliable
   * List: every message is either handed out exactly once or still in Redis (and handed out once
   * after a restart), none lost, none twice.
   */
  @Test
  void pullGetRacingWithStopLosesNothingOnAList() throws Exception {
    RedisBroker broker = started();
    PullSubscription<Integer> sub = broker.subscriber(list("fsc-race-l").consumer("c").deadLetter()).pull(Integer.class);
    assertNoLossWhileStopping(broker, sub, list("fsc-race-l"), false);
    eventually().until(() -> backend.list("{fsc-race-l}:processing:c").isEmpty());
    assertThat(backend.list("fsc-race-l")).isEmpty();
    assertThat(backend.list("{fsc-race-l}:dlq")).isEmpty();
  }

  /** As {@link #pullGetRacingWithStopLosesNothingOnAList} on a Stream group. */
  @Test
  void pullGetRacingWithStopLosesNothingOnAStreamGroup() throws Exception {
    RedisBroker broker = started();
    PullSubscription<Integer> sub = broker.subscriber(stream("fsc-race-s").group("g").consumer("c")).pull(Integer.class);
    assertNoLossWhileStopping(broker, sub, stream("fsc-race-s"), false);
    eventually().until(() -> backend.pending("fsc-race-s", "g").isEmpty());
    assertThat(backend.stream("{fsc-race-s}:dlq")).isEmpty();
  }

  /** As {@link #pullGetRacingWithStopLosesNothingOnAList}, closing instead of stopping; a new pull takes the rest. */
  @Test
  void pullGetRacingWithCloseLosesNothingOnAList() throws Exception {
    RedisBroker broker = started();
    PullSubscription<Integer> sub = broker.subscriber(list("fsc-race-c").consumer("c")).pull(Integer.class);
    assertNoLossWhileStopping(broker, sub, list("fsc-race-c"), true);
    eventually().until(() -> backend.list("{fsc-race-c}:processing:c").isEmpty());
    assertThat(backend.list("fsc-race-c")).isEmpty();
  }

  private void assertNoLossWhileStopping(RedisBroker broker, PullSubscription<Integer> sub, dev.brook.Destination dest,
      boolean close) throws Exception {
    int n = 300;
    List<Integer> all = IntStream.range(0, n).boxed().toList();
    broker.publishBatch(all, dest);
    List<Integer> taken = new CopyOnWriteArrayList<>();
    AtomicBoolean stopped = new AtomicBoolean();
    List<CompletableFuture<Void>> callers = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      callers.add(CompletableFuture.runAsync(() -> {
        while (true) {
          Message<Integer> m = sub.get(Duration.ofMillis(500));
          if (m == null) {
            if (stopped.get()) {
              return;
            }
            continue;
          }
          taken.add(m.payload());
          try {
            Thread.sleep(2); // the caller works on it: the stop comes while messages remain
          } catch (InterruptedException e) {
            throw new IllegalStateException(e);
          }
        }
      }));
    }
    eventually().until(() -> taken.size() >= 50);
    if (close) {
      sub.close();
    } else {
      sub.stop();
    }
    stopped.set(true);
    CompletableFuture.allOf(callers.toArray(new CompletableFuture[0])).get(30, TimeUnit.SECONDS);
    int before = taken.size();
    assertThat(before).isLessThan(n); // the stop came before the end
    assertThat(taken).doesNotHaveDuplicates();

    PullSubscription<Integer> rest = sub;
    if (close) {
      rest = broker.subscriber(dest).pull(Integer.class);
    } else {
      sub.start();
    }
    for (Message<Integer> m : rest.messages(Duration.ofMillis(500))) {
      taken.add(m.payload());
    }
    assertThat(taken).hasSize(n).containsExactlyInAnyOrderElementsOf(all);
  }

  /**
   * Callers pulling while the subscription is stopped and started again and again: on a reliable
   * List every message is handed out exactly once in the end.
   */
  @Test
  void pullGetRacingWithRepeatedStopStartHandsOutEachMessageOnce() throws Exception {
    RedisBroker broker = started();
    PullSubscription<Integer> sub = broker.subscriber(list("fsc-cycle").consumer("c")).pull(Integer.class);
    int n = 200;
    List<Integer> all = IntStream.range(0, n).boxed().toList();
    broker.publishBatch(all, list("fsc-cycle"));
    List<Integer> taken = new CopyOnWriteArrayList<>();
    AtomicBoolean done = new AtomicBoolean();
    List<CompletableFuture<Void>> callers = new ArrayList<>();
    for (int i = 0; i < 2; i++) {
      callers.add(CompletableFuture.runAsync(() -> {
        while (!done.get()) {
          Message<Integer> m = sub.get(Duration.ofMillis(20));
          if (m != null) {
            taken.add(m.payload());
          }
        }
      }));
    }
    for (int i = 0; i < 10 && taken.size() < n; i++) {
      int seen = taken.size();
      eventually().until(() -> taken.size() > seen || taken.size() >= n);
      sub.stop();
      sub.start();
    }
    eventually().until(() -> taken.size() >= n);
    done.set(true);
    CompletableFuture.allOf(callers.toArray(new CompletableFuture[0])).get(30, TimeUnit.SECONDS);
    assertThat(taken).hasSize(n).containsExactlyInAnyOrderElementsOf(all);
    sub.stop();
    eventually().until(() -> backend.list("{fsc-cycle}:processing:c").isEmpty());
    assertThat(backend.list("fsc-cycle")).isEmpty();
  }

  /**
   * A caller interrupted while it waits gets null with its flag set, and the subscription goes on:
   * a message published after it is handed to the next get, none lost.
   */
  @Test
  void anInterruptedGetLosesNoMessage() throws Exception {
    RedisBroker broker = started();
    PullSubscription<String> sub = broker.subscriber(list("fsc-intr").consumer("c")).pull(String.class);
    CompletableFuture<Boolean> interrupted = new CompletableFuture<>();
    Thread waiter = Thread.ofPlatform().start(() -> {
      Message<String> m = sub.get(Duration.ofSeconds(30));
      interrupted.complete(m == null && Thread.currentThread().isInterrupted());
    });
    Thread.sleep(50);
    waiter.interrupt();
    assertThat(interrupted.get(5, TimeUnit.SECONDS)).isTrue();
    waiter.join(5000);
    broker.publish("kept", list("fsc-intr"));
    assertThat(sub.get(WAIT).payload()).isEqualTo("kept");
    assertThat(sub.get(Duration.ofMillis(50))).isNull();
    eventually().until(() -> backend.list("{fsc-intr}:processing:c").isEmpty());
    assertThat(backend.list("fsc-intr")).isEmpty();
  }

  /**
   * Pulling from a reliable List or a Stream group fetches the next message as soon as the previous
   * one is settled: no poll interval per message (it was up to 100 ms on Redis, a settlement's
   * confirmation waking the consumer before it stopped counting as outstanding).
   */
  @Test
  void pullingFromAReliableListDoesNotWaitAPollIntervalPerMessage() {
    RedisBroker broker = started();
    for (dev.brook.Destination d : List.of(list("fsc-fast").consumer("c"), stream("fsc-fast-s").group("g").consumer("c"))) {
      PullSubscription<Integer> sub = broker.subscriber(d).pull(Integer.class);
      broker.publishBatch(IntStream.range(0, 200).boxed().toList(), d);
      long start = System.nanoTime();
      int n = 0;
      while (n < 200 && sub.get(WAIT) != null) {
        n++;
      }
      long millis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
      assertThat(n).isEqualTo(200);
      assertThat(millis).as("pulling 200 messages from %s", d).isLessThan(3_000);
      sub.close();
    }
  }

  /**
   * Under MANUAL a caller may pull several messages and settle them afterwards, in any order: each
   * settlement reaches Redis (pulling the next one leaves the previous one unsettled, not lost).
   */
  @Test
  void underManualMessagesPulledFirstAndSettledLaterAreSettled() {
    RedisBroker broker = started();
    PullSubscription<String> sub = broker.subscriber(list("fsc-later").consumer("c").deadLetter())
        .ackPolicy(AckPolicy.MANUAL).pull(String.class);
    broker.publishBatch(List.of("a", "b", "c"), list("fsc-later"));
    Message<String> a = sub.get(WAIT);
    Message<String> b = sub.get(WAIT);
    Message<String> c = sub.get(WAIT);
    assertThat(List.of(a.payload(), b.payload(), c.payload())).containsExactly("a", "b", "c");
    c.ack();
    a.reject();
    b.ack();
    eventually().until(() -> backend.list("{fsc-later}:processing:c").isEmpty());
    assertThat(texts("{fsc-later}:dlq")).containsExactly("a");
    assertThat(backend.list("fsc-later")).isEmpty();
  }

  /** {@code StopConsume} from a filter's handler stops the filtered subscription, its message acknowledged. */
  @Test
  void stopConsumeFromAFilteredHandlerStopsTheSubscription() {
    RedisBroker broker = started();
    List<String> seen = new CopyOnWriteArrayList<>();
    java.util.concurrent.CountDownLatch started = new java.util.concurrent.CountDownLatch(1);
    Subscription sub = broker.subscriber(list("fsc-fstop").consumer("c"))
        .filter(ctx -> "stop".equals(ctx.header("cmd")), String.class, (s, ctx) -> {
          seen.add(s);
          throw new StopConsume();
        })
        .handle(String.class, (s, ctx) -> {
          seen.add(s);
          started.await(5, TimeUnit.SECONDS); // the StopConsume comes after start() returned
          return null;
        });
    sub.stop();
    broker.publish("one", list("fsc-fstop"));
    broker.publish("halt", list("fsc-fstop"), Map.of("cmd", "stop"));
    broker.publish("later", list("fsc-fstop"));
    sub.start();
    started.countDown();
    eventually().until(() -> sub.state() == Subscription.State.STOPPED);
    eventually().until(() -> backend.list("{fsc-fstop}:processing:c").isEmpty());
    assertThat(seen).containsExactly("one", "halt");
    assertThat(texts("fsc-fstop")).containsExactly("later");
  }

  /**
   * An iterator whose {@code hasNext()} fetched a message the caller never took with {@code next()}
   * (it left the loop): the message is not acknowledged for nobody; a later {@code get} hands it out.
   * It used to be acknowledged by that get, lost on a reliable List or Stream group.
   */
  @Test
  void aMessageAnAbandonedIteratorPeekedAtIsNotLost() {
    RedisBroker broker = started();
    for (dev.brook.Destination d : List.of(list("fsc-peek").consumer("c"), stream("fsc-peek-s").group("g").consumer("c"))) {
      PullSubscription<String> sub = broker.subscriber(d).pull(String.class);
      broker.publishBatch(List.of("a", "b", "c"), d);
      java.util.Iterator<Message<String>> it = sub.messages(WAIT).iterator();
      assertThat(it.next().payload()).isEqualTo("a");
      assertThat(it.hasNext()).isTrue(); // b, never taken with next()
      assertThat(sub.get(WAIT).payload()).isEqualTo("b");
      assertThat(sub.get(WAIT).payload()).isEqualTo("c");
      assertThat(sub.get(Duration.ofMillis(50))).isNull();
      // the iterator goes on with what comes next, never handing out b twice
      broker.publish("d", d);
      assertThat(it.next().payload()).isEqualTo("d");
      sub.close();
    }
    eventually().until(() -> backend.list("{fsc-peek}:processing:c").isEmpty() && backend.pending("fsc-peek-s", "g").isEmpty());
    assertThat(backend.list("fsc-peek")).isEmpty();
  }

  /**
   * {@code StopConsume} thrown while {@code start()} still holds the id's lifecycle lock (the stop
   * has to wait for it): the worker handles nothing after the message that asked to stop; the rest
   * goes back to the List in order. It used to go on handling the buffered messages until the
   * deferred stop ran.
   */
  @Test
  void stopConsumeDuringStartHandlesNothingAfterIt() {
    RedisBroker broker = started();
    for (int round = 0; round < 5; round++) {
      String q = "fsc-stop-start-" + round;
      List<String> all = IntStream.range(0, 20).mapToObj(i -> "m" + i).toList();
      List<String> handled = new CopyOnWriteArrayList<>();
      Subscription sub = broker.subscriber(list(q).consumer("c").deadLetter()).handle(String.class, (s, ctx) -> {
        handled.add(s);
        if (s.equals("m1")) {
          throw new StopConsume();
        }
        return null;
      });
      sub.stop();
      broker.publishBatch(all, list(q));
      sub.start();
      eventually().until(() -> sub.state() == Subscription.State.STOPPED);
      eventually().until(() -> backend.list("{" + q + "}:processing:c").isEmpty());
      assertThat(handled).containsExactly("m0", "m1");
      assertThat(texts(q)).containsExactlyElementsOf(all.subList(2, 20));
      assertThat(backend.list("{" + q + "}:dlq")).isEmpty();
      sub.close();
    }
  }

  /**
   * {@code StopConsume} thrown while the next messages of a reliable List are already fetched: the
   * subscription stops; what it had not handled goes back to the List in order, none lost, none
   * dead-lettered; started again it takes them in order.
   */
  @Test
  void stopConsumeWithABufferedBacklogKeepsTheOrderAndLosesNothing() {
    RedisBroker broker = started();
    List<String> all = IntStream.range(0, 20).mapToObj(i -> "m" + i).toList();
    List<String> handled = new CopyOnWriteArrayList<>();
    java.util.concurrent.CountDownLatch started = new java.util.concurrent.CountDownLatch(1);
    Subscription sub = broker.subscriber(list("fsc-stop-buf").consumer("c").deadLetter()).handle(String.class, (s, ctx) -> {
      handled.add(s);
      if (s.equals("m0")) {
        // StopConsume after start() returned; during start() see stopConsumeDuringStartHandlesNothingAfterIt.
        started.await(5, TimeUnit.SECONDS);
      }
      if (s.equals("m3") && ctx.deliveryCount() == 1) {
        throw new StopConsume();
      }
      return null;
    });
    sub.stop(); // a backlog waits, so the consumer fetches ahead when it starts
    broker.publishBatch(all, list("fsc-stop-buf"));
    sub.start();
    started.countDown();
    eventually().until(() -> sub.state() == Subscription.State.STOPPED);
    eventually().until(() -> backend.list("{fsc-stop-buf}:processing:c").isEmpty());
    assertThat(handled).containsExactly("m0", "m1", "m2", "m3");
    assertThat(texts("fsc-stop-buf")).containsExactlyElementsOf(all.subList(4, 20));
    assertThat(backend.list("{fsc-stop-buf}:dlq")).isEmpty();
    assertThat(sub.metrics().failed()).isZero();

    sub.start();
    eventually().until(() -> handled.size() == 20);
    assertThat(handled).containsExactlyElementsOf(all);
    eventually().until(() -> backend.list("{fsc-stop-buf}:processing:c").isEmpty());
    assertThat(backend.list("fsc-stop-buf")).isEmpty();
  }

  /**
   * A filter predicate that throws is the handler failing: a clear error (the predicate's
   * exception in the dead letter's {@code x-error}), settled by the policy (REJECT_ON_ERROR: dead
   * letter), and the consumer goes on with the next message.
   */
  @Test
  void aThrowingFilterPredicateIsAFailureSettledByThePolicy() {
    RedisBroker broker = started();
    Calls<String> ok = new Calls<>();
    List<Throwable> errors = new CopyOnWriteArrayList<>();
    Subscription sub = broker.subscriber(list("fsc-fthrow").consumer("c").deadLetter())
        .middleware(new dev.brook.Middleware() {
          @Override
          public Object consume(ConsumeChain chain) throws Exception {
            try {
              return chain.proceed();
            } catch (Exception e) {
              errors.add(e);
              throw e;
            }
          }
        })
        .filter(ctx -> {
          if (ctx.header("boom") != null) {
            throw new IllegalStateException("predicate exploded");
          }
          return true;
        }, String.class, ok)
        .register();
    backend.despiteFailures(() -> broker.publish("bad", list("fsc-fthrow"), Map.of("boom", "1")));
    broker.publish("good", list("fsc-fthrow"));
    assertThat(ok.awaitOne().payload()).isEqualTo("good");
    eventually().until(() -> backend.list("{fsc-fthrow}:dlq").size() == 1);
    assertThat(texts("{fsc-fthrow}:dlq")).containsExactly("bad");
    assertThat(backend.list("{fsc-fthrow}:dlq").get(0).header("x-error")).contains("predicate exploded");
    eventually().until(() -> backend.list("{fsc-fthrow}:processing:c").isEmpty());
    assertThat(sub.metrics().failed()).isEqualTo(1);
    assertThat(sub.state()).isEqualTo(Subscription.State.RUNNING);
    // the error as the middlewares (and the log) see it: the predicate's own, naming the filter
    assertThat(errors).singleElement().satisfies(e -> {
      assertThat(e).isInstanceOf(IllegalStateException.class).hasMessage("predicate exploded");
      assertThat(e.getSuppressed()).extracting(Throwable::getMessage)
          .containsExactly("thrown by the predicate of filter 1 of subscription 'list:fsc-fthrow'");
    });
  }

  /** As {@link #aThrowingFilterPredicateIsAFailureSettledByThePolicy} under NACK_ON_ERROR on a Stream group: redelivered, then taken. */
  @Test
  void aThrowingFilterPredicateIsNackedOnAStreamGroupUnderNackOnError() {
    RedisBroker broker = started();
    Calls<String> ok = new Calls<>();
    AtomicBoolean explode = new AtomicBoolean(true);
    Subscription sub = broker.subscriber(stream("fsc-fthrow-s").group("g").consumer("c").minIdle(Duration.ofMillis(100)))
        .ackPolicy(AckPolicy.NACK_ON_ERROR)
        .filter(ctx -> {
          if (explode.getAndSet(false)) {
            throw new IllegalStateException("predicate exploded once");
          }
          return true;
        }, String.class, ok)
        .register();
    backend.despiteFailures(() -> broker.publish("retry me", stream("fsc-fthrow-s")));
    eventually().until(() -> sub.metrics().failed() == 1);
    backend.pass(Duration.ofMillis(300));
    Calls.Call<String> call = ok.awaitOne();
    assertThat(call.payload()).isEqualTo("retry me");
    assertThat(call.context().deliveryCount()).isGreaterThan(1);
    eventually().until(() -> backend.pending("fsc-fthrow-s", "g").isEmpty());
    assertThat(sub.state()).isEqualTo(Subscription.State.RUNNING);
  }

  /**
   * On a Stream group under MANUAL, an entry no filter takes is acknowledged (no longer pending, not
   * claimed again) and counted in {@code dropped}; the next entry is handled.
   */
  @Test
  void anEntryNoFilterTakesOnAStreamGroupIsAckedAndDropped() {
    RedisBroker broker = started();
    Calls<String> urgent = new Calls<>();
    Subscription sub = broker.subscriber(stream("fsc-fnone").group("g").consumer("c").minIdle(Duration.ofMillis(100)))
        .ackPolicy(AckPolicy.MANUAL)
        .filter(ctx -> "high".equals(ctx.header("priority")), String.class, (s, ctx) -> {
          urgent.handle(s, ctx);
          ctx.ack();
          return null;
        })
        .register();
    broker.publish("routine", stream("fsc-fnone"));
    broker.publish("urgent", stream("fsc-fnone"), Map.of("priority", "high"));
    assertThat(urgent.awaitOne().payload()).isEqualTo("urgent");
    eventually().until(() -> sub.metrics().dropped() == 1);
    eventually().until(() -> backend.pending("fsc-fnone", "g").isEmpty());
    backend.pass(Duration.ofMillis(300));
    assertThat(sub.metrics().dropped()).isEqualTo(1);
    assertThat(urgent.count()).isEqualTo(1);
    assertThat(sub.metrics().failed()).isZero();
  }

  /** A filter's handler throwing {@code SkipMessage} leaves its entry pending; it comes back to the next consumer. */
  @Test
  void skipMessageFromAFilteredHandlerLeavesTheEntryPending() {
    RedisBroker broker = started();
    List<String> seen = new CopyOnWriteArrayList<>();
    Subscription sub = broker.subscriber(stream("fsc-fskip").group("g").consumer("c"))
        .filter(ctx -> true, String.class, (s, ctx) -> {
          seen.add(s);
          throw new SkipMessage();
        })
        .register();
    broker.publish("later", stream("fsc-fskip"));
    eventually().until(() -> seen.size() == 1);
    eventually().until(() -> backend.pending("fsc-fskip", "g").size() == 1);
    assertThat(sub.metrics().dropped()).isZero();
    assertThat(sub.metrics().failed()).isZero();
    sub.close();
    Calls<String> again = new Calls<>();
    broker.subscriber(stream("fsc-fskip").group("g").consumer("c")).handle(String.class, again);
    assertThat(again.awaitOne().payload()).isEqualTo("later");
    eventually().until(() -> backend.pending("fsc-fskip", "g").isEmpty());
  }
}
