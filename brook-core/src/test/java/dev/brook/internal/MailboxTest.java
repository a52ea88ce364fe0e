package dev.brook.internal;

import dev.brook.spi.Inbound;
import static org.assertj.core.api.Assertions.assertThat;
import static dev.brook.internal.Soon.soon;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The hand-over from a transport's thread to the workers: order, the concurrency bound, batches,
 * the bounded buffer and the drain of a stop.
 */
class MailboxTest {

  private final TestInbound.Factory messages = new TestInbound.Factory();
  private final List<String> discarded = new CopyOnWriteArrayList<>();
  private final List<List<String>> batches = new CopyOnWriteArrayList<>();
  private final AtomicInteger active = new AtomicInteger();
  private final AtomicInteger maxActive = new AtomicInteger();
  /** Opened by a test to let blocked handlers go on. */
  private final CountDownLatch gate = new CountDownLatch(1);
  /** One permit per batch a handler has started. */
  private final Semaphore entered = new Semaphore(0);
  private final List<Mailbox> made = new ArrayList<>();

  @AfterEach
  void drainEveryMailbox() {
    gate.countDown();
    for (Mailbox box : made) {
      box.drain(System.nanoTime() + TimeUnit.SECONDS.toNanos(5));
      assertThat(box.liveWorkers()).isZero();
    }
  }

  /** A mailbox whose handler records each batch, then runs {@code handler}, then marks the messages processed. */
  private Mailbox mailbox(int concurrency, int capacity, int batchSize, Consumer<List<Inbound>> handler) {
    Mailbox box = new Mailbox(this, "mailbox-test", concurrency, capacity, batchSize, batch -> {
      maxActive.accumulateAndGet(active.incrementAndGet(), Math::max);
      try {
        batches.add(batch.stream().map(m -> ((TestInbound) m).name()).toList());
        entered.release();
        handler.accept(batch);
      } finally {
        active.decrementAndGet();
        batch.forEach(m -> m.processed(null));
      }
    }, m -> discarded.add(((TestInbound) m).name()));
    made.add(box);
    return box;
  }

  /** A handler that waits at the gate (interruptibly) when it gets the message named {@code name}. */
  private Consumer<List<Inbound>> blockOn(String name) {
    return batch -> {
      if (batch.stream().anyMatch(m -> ((TestInbound) m).name().equals(name))) {
        awaitGate();
      }
    };
  }

  private void awaitGate() {
    try {
      gate.await();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private List<String> handled() {
    return batches.stream().flatMap(List::stream).toList();
  }

  private void awaitHandled(int n) {
    soon().until(() -> handled().size() >= n && active.get() == 0);
  }

  private void awaitEntered(int batches) throws InterruptedException {
    assertThat(entered.tryAcquire(batches, 10, TimeUnit.SECONDS)).as("%d batch(es) started", batches).isTrue();
  }

  @Test
  void concurrencyOneHandlesMessagesInTheOrderTheyCameOnOneWorkerAtATime() {
    Mailbox box = mailbox(1, 10_000, 1, batch -> { });
    List<String> sent = new ArrayList<>();
    for (int i = 0; i < 5_000; i++) {
      sent.add("m" + i);
      box.offer(messages.atMostOnce("m" + i));
    }
    awaitHandled(sent.size());
    assertThat(handled()).containsExactlyElementsOf(sent);
    assertThat(maxActive.get()).isEqualTo(1);
  }

  @Test
  void noMoreThanConcurrencyWorkersRunAtOnce() throws Exception {
    Mailbox box = mailbox(3, 100, 1, batch -> awaitGate());
    for (int i = 0; i < 10; i++) {
      box.offer(messages.atMostOnce("m" + i));
    }
    awaitEntered(3);
    assertThat(entered.tryAcquire(200, TimeUnit.MILLISECONDS)).as("a fourth worker").isFalse();
    assertThat(box.liveWorkers()).isEqualTo(3);
    assertThat(box.buffered()).isEqualTo(7);

    gate.countDown();
    awaitHandled(10);
    assertThat(maxActive.get()).isEqualTo(3);
    assertThat(handled()).containsExactlyInAnyOrder("m0", "m1", "m2", "m3", "m4", "m5", "m6", "m7", "m8", "m9");
  }

  @Test
  void aBatchTakesWhatIsWaitingAndDoesNotWaitForMore() throws Exception {
    Mailbox box = mailbox(1, 100, 10, blockOn("m1"));
    box.offer(messages.atMostOnce("m1"));
    awaitEntered(1);
    for (int i = 2; i <= 5; i++) {
      box.offer(messages.atMostOnce("m" + i));
    }
    gate.countDown();
    awaitHandled(5);
    assertThat(batches).containsExactly(List.of("m1"), List.of("m2", "m3", "m4", "m5"));
  }

  @Test
  void aBatchIsNeverLargerThanTheBatchSize() throws Exception {
    Mailbox box = mailbox(1, 100, 2, blockOn("m0"));
    box.offer(messages.atMostOnce("m0"));
    awaitEntered(1);
    for (int i = 1; i <= 5; i++) {
      box.offer(messages.atMostOnce("m" + i));
    }
    gate.countDown();
    awaitHandled(6);
    assertThat(batches).containsExactly(List.of("m0"), List.of("m1", "m2"), List.of("m3", "m4"), List.of("m5"));
  }

  @Test
  void offerAllHandsMessagesFetchedTogetherToOneBatch() {
    Mailbox box = mailbox(1, 100, 10, batch -> { });
    box.offerAll(List.of(messages.atMostOnce("a"), messages.atMostOnce("b"), messages.atMostOnce("c")));
    awaitHandled(3);
    assertThat(batches).containsExactly(List.of("a", "b", "c"));
  }

  @Test
  void aFullBufferDiscardsAtMostOnceMessagesButNeverAtLeastOnceOnes() throws Exception {
    Mailbox box = mailbox(1, 2, 1, blockOn("busy"));
    box.offer(messages.atMostOnce("busy"));
    awaitEntered(1); // taken: the buffer is empty again

    assertThat(box.offer(messages.atMostOnce("x1"))).isTrue();
    assertThat(box.offer(messages.atMostOnce("x2"))).isTrue();
    assertThat(box.room()).isZero();
    assertThat(box.offer(messages.atMostOnce("x3"))).as("full: discarded").isFalse();
    box.offerAll(List.of(messages.atMostOnce("x4"), messages.atLeastOnce("a2")));
    assertThat(box.offer(messages.atLeastOnce("a1"))).as("never discarded").isTrue();

    assertThat(discarded).containsExactly("x3", "x4");
    assertThat(messages.log).contains("processed x3", "processed x4");
    assertThat(box.buffered()).isEqualTo(4);
    gate.countDown();
    awaitHandled(5);
    assertThat(handled()).containsExactly("busy", "x1", "x2", "a2", "a1");
    assertThat(box.buffered()).isZero();
  }

  @Test
  void awaitCapacityWaitsForRoomAndAnswersFalseOnceDrained() throws Exception {
    Mailbox box = mailbox(1, 2, 1, blockOn("busy"));
    box.offer(messages.atLeastOnce("busy"));
    awaitEntered(1);
    box.offer(messages.atLeastOnce("a1"));
    box.offer(messages.atLeastOnce("a2"));
    assertThat(box.awaitCapacity(0)).isTrue();

    AtomicReference<Boolean> roomForOne = new AtomicReference<>();
    Thread consumer = Thread.ofVirtual().start(() -> {
      try {
        roomForOne.set(box.awaitCapacity(1));
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    });
    assertThat(consumer.join(Duration.ofMillis(200))).as("waits while full").isFalse();
    gate.countDown(); // the worker takes a1, making room
    assertThat(consumer.join(Duration.ofSeconds(10))).isTrue();
    assertThat(roomForOne.get()).isTrue();

    box.drain(System.nanoTime() + TimeUnit.SECONDS.toNanos(5));
    assertThat(box.awaitCapacity(1)).as("closed").isFalse();
  }

  @Test
  void drainGivesBufferedAtLeastOnceMessagesBackInOneCallInArrivalOrderAndStillHandlesTheOthers() throws Exception {
    Mailbox box = mailbox(1, 100, 1, blockOn("busy"));
    box.offer(messages.atLeastOnce("busy"));
    awaitEntered(1);
    box.offer(messages.atLeastOnce("a1"));
    box.offer(messages.atMostOnce("x1"));
    box.offer(messages.atLeastOnce("a2"));
    box.offer(messages.atLeastOnce("a3"));

    AtomicBoolean finished = new AtomicBoolean();
    Thread stopping = Thread.ofVirtual().start(() -> finished.set(box.drain(System.nanoTime() + TimeUnit.SECONDS.toNanos(10))));
    soon().until(() -> !messages.releasedTogether.isEmpty());
    assertThat(messages.releasedTogether).containsExactly(List.of("a1", "a2", "a3"));
    assertThat(messages.log).contains("processed a1", "processed a2", "processed a3").doesNotContain("release a1");
    assertThat(stopping.isAlive()).as("waits for the running handler").isTrue();

    gate.countDown();
    assertThat(stopping.join(Duration.ofSeconds(10))).isTrue();
    assertThat(finished).isTrue();
    assertThat(handled()).as("at-most-once messages already buffered are still handled").containsExactly("busy", "x1");
    assertThat(box.liveWorkers()).isZero();

    assertThat(box.offer(messages.atLeastOnce("late-a"))).isFalse();
    assertThat(box.offer(messages.atMostOnce("late-x"))).isFalse();
    assertThat(messages.log).contains("release late-a", "processed late-a", "processed late-x");
    assertThat(discarded).containsExactly("late-x");
  }

  /**
   * The handler running when a stop begins ends while the drain takes the buffered messages out to
   * give them back. Before the fix the free worker polled the queue's head while the drain was
   * polling it too: it handled m3 while m2, taken by the drain a moment earlier, went back to Redis
   * and was handled after m3 by the replacing subscription (the reordering of a key's entries across
   * a REPLACE of a partitioned stream). Deterministic: the handler is let go from inside the drain,
   * right after it took m2, and the test waits (up to a second) for the worker to take another one.
   */
  @Test
  void aHandlerEndingDuringTheDrainNeverTakesAMessageAfterOneThatGoesBack() throws Exception {
    Mailbox box = mailbox(1, 100, 1, blockOn("m1"));
    box.offer(messages.atLeastOnce("m1"));
    awaitEntered(1);
    for (int i = 2; i <= 5; i++) {
      box.offer(messages.atLeastOnce("m" + i));
    }
    messages.whenAsked.put("m2", this::letTheHandlerGoAndGiveTheWorkerASecond);

    assertThat(box.drain(System.nanoTime() + TimeUnit.SECONDS.toNanos(10))).isTrue();

    assertThat(handled()).as("only the message that was running").containsExactly("m1");
    assertThat(messages.releasedTogether).containsExactly(List.of("m2", "m3", "m4", "m5"));
    assertThat(box.liveWorkers()).isZero();
  }

  /**
   * A partition handed to another member withdraws its buffered messages while the subscription
   * goes on: a worker free at that moment either takes the earliest of them (handled here, and the
   * hand-over waits for it) or none. Before the fix it could take p3 after the withdrawal had taken
   * p2 out, so p2 was handled after p3 by the next owner.
   */
  @Test
  void aWithdrawalIsAtomicForTheWorkers() throws Exception {
    Mailbox box = mailbox(1, 100, 1, blockOn("p1"));
    box.offer(messages.atLeastOnce("p1"));
    awaitEntered(1);
    box.offer(messages.atLeastOnce("p2"));
    box.offer(messages.atLeastOnce("p3"));
    messages.whenAsked.put("p3", this::letTheHandlerGoAndGiveTheWorkerASecond);

    assertThat(box.withdraw(m -> ((TestInbound) m).name().startsWith("p"))).isEqualTo(2);

    soon().until(() -> box.liveWorkers() == 0);
    assertThat(handled()).containsExactly("p1");
    assertThat(messages.releasedTogether).containsExactly(List.of("p2", "p3"));
    box.offer(messages.atLeastOnce("q1"));
    awaitHandled(2);
    assertThat(handled()).as("the mailbox goes on").containsExactly("p1", "q1");
  }

  /** Opens the gate for the blocked handler, then waits up to a second for its worker to start another message. */
  private void letTheHandlerGoAndGiveTheWorkerASecond() {
    gate.countDown();
    try {
      entered.tryAcquire(1, 1, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  @Test
  void aHandlerInterruptedAtTheDeadlineNeverTakesAnotherBufferedMessage() throws Exception {
    // Before the fix the drain interrupted first and emptied the buffer after: a worker returning at
    // once from the interrupt took the next buffered message and ran its handler after the deadline
    // (61 of 300 tries).
    for (int round = 0; round < 50; round++) {
      List<String> ran = new CopyOnWriteArrayList<>();
      CountDownLatch busy = new CountDownLatch(1);
      Mailbox box = new Mailbox(this, "mailbox-test", 1, 100, 1, batch -> {
        String name = ((TestInbound) batch.get(0)).name();
        ran.add(name);
        if (name.equals("busy")) {
          busy.countDown();
          try {
            new CountDownLatch(1).await();
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt(); // returns at once, straight back to the buffer
          }
        }
        batch.forEach(m -> m.processed(null));
      }, m -> discarded.add(((TestInbound) m).name()));
      box.offer(messages.atLeastOnce("busy"));
      assertThat(busy.await(5, TimeUnit.SECONDS)).isTrue();
      for (int i = 0; i < 5; i++) {
        box.offer(messages.atMostOnce("x" + round + "-" + i));
      }
      assertThat(box.drain(System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(20))).isFalse();
      soon().until(() -> box.liveWorkers() == 0);
      assertThat(ran).as("round %d: handlers run after the deadline", round).containsExactly("busy");
    }
  }

  @Test
  void atTheDeadlineTheDrainInterruptsTheHandlersWhichKnowItIsTheStopAndGivesUpWhatIsLeft() throws Exception {
    AtomicReference<Boolean> interruptedByStop = new AtomicReference<>();
    AtomicReference<Object> owner = new AtomicReference<>();
    AtomicReference<Mailbox> self = new AtomicReference<>();
    Mailbox box = mailbox(1, 100, 1, batch -> {
      owner.set(Mailbox.currentOwner());
      try {
        gate.await();
      } catch (InterruptedException e) {
        interruptedByStop.set(Mailbox.interruptedByStop());
      }
    });
    self.set(box);
    box.offer(messages.atLeastOnce("busy"));
    awaitEntered(1);
    box.offer(messages.atMostOnce("x1"));
    box.offer(messages.atLeastOnce("a1"));

    long start = System.nanoTime();
    boolean finished = box.drain(System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(200));

    assertThat(finished).isFalse();
    assertThat(Duration.ofNanos(System.nanoTime() - start)).isGreaterThanOrEqualTo(Duration.ofMillis(200));
    assertThat(interruptedByStop.get()).isTrue();
    assertThat(owner.get()).isSameAs(this);
    assertThat(box.liveWorkers()).as("the interrupted handler returned within the grace").isZero();
    assertThat(messages.releasedTogether).containsExactly(List.of("a1"));
    assertThat(discarded).as("left when the deadline passed").containsExactly("x1");
    assertThat(handled()).containsExactly("busy");
    assertThat(Mailbox.interruptedByStop()).as("on a thread that is no worker").isFalse();
    assertThat(Mailbox.currentOwner()).isNull();
  }
}
