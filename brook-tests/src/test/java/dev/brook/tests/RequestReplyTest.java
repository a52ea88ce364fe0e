package dev.brook.tests;

import static dev.brook.redis.Redis.channel;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowableOfType;
import static org.awaitility.Awaitility.await;

import dev.brook.BrookException;
import dev.brook.RequestMetrics;
import dev.brook.RequestTimeoutException;
import dev.brook.redis.RedisBroker;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.assertj.core.api.ListAssert;
import org.junit.jupiter.api.Test;

/**
 * Request/reply in Redis' own terms: one reply channel subscribed per broker, unsubscribed at close,
 * requests at scale and racing replies. What a requester sees is in {@code
 * behaviour.RequestReplyBehaviour}, on Redis and in memory.
 */
class RequestReplyTest extends RedisTestBase {

  record Order(long id, String item) {}

  record Receipt(long orderId, String by) {}

  private static final Duration LONG = Duration.ofSeconds(10);

  private List<Object> replyChannels() {
    @SuppressWarnings("unchecked")
    List<Object> names = (List<Object>) redis.command("PUBSUB", "CHANNELS", "brook.reply.*");
    return names;
  }

  @Test
  void timeoutsInSecondsReadAsSeconds() {
    RedisBroker broker = broker();
    RequestTimeoutException e = catchThrowableOfType(RequestTimeoutException.class,
        () -> broker.request("x", channel("nobody"), String.class, Duration.ofMillis(1500)));
    assertThat(e).hasMessageContaining(" on channel:nobody within 1.5 s. ");
  }

  @Test
  void aLateReplyAfterATimeoutIsCountedAndDroppedAndNeverReachesAnotherCaller() throws Exception {
    RedisBroker broker = broker();
    CountDownLatch releaseSlow = new CountDownLatch(1);
    CountDownLatch releaseWaiting = new CountDownLatch(1);
    broker.subscriber(channel("work")).concurrency(4).handle(String.class, (s, ctx) -> {
      switch (s) {
        case "slow" -> releaseSlow.await();
        case "waiting" -> releaseWaiting.await();
        default -> {}
      }
      return s + "-reply";
    });
    broker.start();

    assertThatThrownBy(() -> broker.request("slow", channel("work"), String.class, Duration.ofMillis(200)))
        .isInstanceOf(RequestTimeoutException.class);
    CompletableFuture<String> waiting = broker.requestAsync("waiting", channel("work"), String.class, LONG);
    assertThat(broker.request("fast", channel("work"), String.class, LONG)).isEqualTo("fast-reply");

    releaseSlow.countDown(); // the reply to the timed-out request arrives while "waiting" waits
    await().atMost(LONG).until(() -> broker.requestMetrics().lateReplies() == 1);
    assertThat(waiting).isNotDone();
    releaseWaiting.countDown();
    assertThat(waiting.get(10, TimeUnit.SECONDS)).isEqualTo("waiting-reply");
    assertCounts(broker.requestMetrics()).containsExactly(0L, 2L, 1L, 1L);
  }

  @Test
  void requestAsyncCompletesOnAVirtualReplyThread_neverOnTheIoThread_andABlockingRequestDecodesOnTheCaller() throws Exception {
    RedisBroker broker = broker();
    CountDownLatch stageAttached = new CountDownLatch(1);
    broker.subscriber(channel("who")).handle(String.class, (s, ctx) -> {
      if (s.equals("a")) {
        stageAttached.await(); // so the stage below is attached before the reply can arrive
      }
      return new Receipt(1, s);
    });
    broker.start();

    // Replies are matched on Lettuce's I/O thread; a dependent stage there would stall every
    // Pub/Sub subscription of the broker, so requestAsync completes on a virtual thread.
    CompletableFuture<String> thread = broker.requestAsync("a", channel("who"), Receipt.class, LONG)
        .thenApply(r -> (Thread.currentThread().isVirtual() ? "virtual " : "platform ") + Thread.currentThread().getName());
    stageAttached.countDown();
    assertThat(thread.get(10, TimeUnit.SECONDS)).isEqualTo("virtual brook-reply");
    assertThat(broker.request("b", channel("who"), Receipt.class, LONG)).isEqualTo(new Receipt(1, "b"));

    // A reply that does not fit the asked type fails the blocking caller with the reason, not a timeout.
    assertThatThrownBy(() -> broker.request("c", channel("who"), Long.class, LONG))
        .isInstanceOf(BrookException.class).hasMessageContaining("Cannot decode the reply to request")
        .hasMessageContaining("into java.lang.Long");
    ExecutionException async = catchThrowableOfType(ExecutionException.class,
        () -> broker.requestAsync("d", channel("who"), Long.class, LONG).get(10, TimeUnit.SECONDS));
    assertThat(async.getCause()).isInstanceOf(BrookException.class).hasMessageContaining("Cannot decode the reply");
    assertThat(broker.requestMetrics().pending()).isZero();
  }

  @Test
  void aShortTimeoutAfterALongOneStillFiresOnTime_andManyTimeoutsAllFire() throws Exception {
    RedisBroker broker = broker();
    CompletableFuture<String> longOne = broker.requestAsync("x", channel("nobody"), String.class, Duration.ofSeconds(30));
    // The timer sleeps until the earliest deadline it knows; an earlier one must wake it.
    long t0 = System.nanoTime();
    assertThatThrownBy(() -> broker.request("y", channel("nobody"), String.class, Duration.ofMillis(300)))
        .isInstanceOf(RequestTimeoutException.class);
    assertThat(Duration.ofNanos(System.nanoTime() - t0)).isBetween(Duration.ofMillis(250), Duration.ofSeconds(5));
    assertThat(longOne).isNotDone();

    List<CompletableFuture<String>> many = new java.util.ArrayList<>();
    for (int i = 0; i < 500; i++) {
      many.add(broker.requestAsync("z", channel("nobody"), String.class, Duration.ofMillis(100 + i % 200)));
    }
    for (CompletableFuture<String> f : many) {
      ExecutionException e = catchThrowableOfType(ExecutionException.class, () -> f.get(10, TimeUnit.SECONDS));
      assertThat(e.getCause()).isInstanceOf(RequestTimeoutException.class);
    }
    longOne.cancel(false);
    await().atMost(LONG).until(() -> broker.requestMetrics().pending() == 0);
    assertThat(broker.requestMetrics().timedOut()).isEqualTo(501);
  }

  @Test
  void tenThousandSequentialRequestsLeaveNoPendingEntryAndOneReplySubscription() {
    RedisBroker broker = broker();
    broker.subscriber(channel("inc")).handle(Long.class, (n, ctx) -> n + 1);
    broker.start();
    for (long i = 0; i < 10_000; i++) {
      assertThat(broker.request(i, channel("inc"), Long.class, LONG)).isEqualTo(i + 1);
    }
    assertCounts(broker.requestMetrics()).containsExactly(0L, 10_000L, 0L, 0L);
    assertThat(replyChannels()).hasSize(1);
    assertThat((List<?>) redis.command("PUBSUB", "NUMSUB", (String) replyChannels().get(0))).element(1).isEqualTo(1L);
    assertThat(broker.subscriptions()).hasSize(1); // the reply channel is the broker's, not a user subscription
  }

  @Test
  void closeUnsubscribesTheReplyChannelAndFailsTheRequestsStillWaiting() {
    RedisBroker broker = broker();
    CompletableFuture<String> waiting = broker.requestAsync("x", channel("nobody"), String.class, LONG);
    assertThat(replyChannels()).hasSize(1);
    assertThat(Threads.brookThreads()).contains("brook-request-timer");
    broker.close();
    assertThat(replyChannels()).isEmpty();
    await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> assertThat(Threads.brookThreads())
        .noneMatch(n -> n.startsWith("brook-reply") || n.startsWith("brook-request-timer")));
    ExecutionException e = catchThrowableOfType(ExecutionException.class, () -> waiting.get(5, TimeUnit.SECONDS));
    assertThat(e.getCause()).isInstanceOf(BrookException.class).hasMessageStartingWith("The broker " + redis.url()
        + " was closed before the reply to request ").hasMessageEndingWith(" on channel:nobody arrived.");
    assertThat(broker.requestMetrics().pending()).isZero();
    assertThatThrownBy(() -> broker.request("x", channel("nobody"), String.class, LONG))
        .isInstanceOf(IllegalStateException.class)
        .hasMessage("Cannot send a request with broker " + redis.url() + ": it is closed. A closed broker cannot be reused; create a new one.");
  }

  @Test
  void noReplyChannelUntilTheFirstRequest() {
    RedisBroker broker = broker();
    broker.subscriber(channel("a")).handle(String.class, (s, ctx) -> s);
    broker.start();
    broker.publish("x", channel("a"));
    assertThat(replyChannels()).isEmpty();
  }

  /** Asserts on the request counters, in the order pending, replied, timedOut, lateReplies. */
  private static ListAssert<Long> assertCounts(RequestMetrics m) {
    return assertThat(List.of(m.pending(), m.replied(), m.timedOut(), m.lateReplies()))
        .as("pending, replied, timedOut, lateReplies of %s", m);
  }
}
