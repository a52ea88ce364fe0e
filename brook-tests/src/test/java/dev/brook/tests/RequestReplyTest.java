package dev.brook.tests;

import static dev.brook.redis.Redis.channel;
import static dev.brook.redis.Redis.list;
import static dev.brook.redis.Redis.stream;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowableOfType;
import static org.awaitility.Awaitility.await;

import dev.brook.BrookException;
import dev.brook.MessageContext;
import dev.brook.RequestMetrics;
import dev.brook.RequestTimeoutException;
import dev.brook.redis.RedisBroker;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** Request/reply: one shared reply channel per broker, replies matched by correlation id. */
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
  void requestReturnsTheDecodedReply() {
    RedisBroker broker = broker();
    broker.subscriber(channel("orders")).handle(Order.class, (order, ctx) -> new Receipt(order.id(), "orders"));
    broker.start();
    Receipt receipt = broker.request(new Order(7, "pen"), channel("orders"), Receipt.class, LONG);
    assertThat(receipt).isEqualTo(new Receipt(7, "orders"));
    assertThat(broker.requestMetrics()).isEqualTo(new RequestMetrics(0, 1, 0, 0));
  }

  @Test
  void theRequestCarriesReplyToAndCorrelationIdAndTheReplyGoesToPublishToToo() {
    RedisBroker server = broker();
    RedisBroker client = broker();
    Recorder<String> audit = new Recorder<>();
    List<MessageContext> seen = new java.util.concurrent.CopyOnWriteArrayList<>();
    server.subscriber(channel("ping")).publishTo(channel("audit")).handle(String.class, (s, ctx) -> {
      seen.add(ctx);
      return s + " pong";
    });
    server.subscriber(channel("audit")).handle(String.class, audit);
    server.start();

    assertThat(client.request("ping", channel("ping"), String.class, LONG)).isEqualTo("ping pong");

    MessageContext ctx = seen.get(0);
    assertThat(ctx.replyTo()).startsWith("brook.reply.");
    assertThat(replyChannels()).containsExactly(ctx.replyTo());
    assertThat(ctx.correlationId()).matches("[0-9a-f-]{36}");
    var published = audit.awaitOne();
    assertThat(published.payload()).isEqualTo("ping pong");
    assertThat(published.context().correlationId()).isEqualTo(ctx.correlationId());
    assertThat(published.context().replyTo()).isNull();
  }

  @Test
  void aNullResultSendsNoReplySoTheRequestTimesOutNamingDestinationAndTimeout() {
    RedisBroker broker = broker();
    Recorder<String> silent = new Recorder<>();
    broker.subscriber(channel("silent")).handle(String.class, silent);
    broker.start();

    RequestTimeoutException e = catchThrowableOfType(RequestTimeoutException.class,
        () -> broker.request("anyone?", channel("silent"), String.class, Duration.ofMillis(250)));

    assertThat(e).hasMessage("No reply to request " + e.correlationId() + " on channel:silent within 250 ms. Check that a "
        + "subscriber of channel:silent is running and returns a value (null sends no reply), or give the request more time.");
    assertThat(e.destination()).isEqualTo("channel:silent");
    assertThat(e.timeout()).isEqualTo(Duration.ofMillis(250));
    assertThat(e).isInstanceOf(BrookException.class);
    assertThat(silent.awaitOne().context().correlationId()).isEqualTo(e.correlationId());
    assertThat(broker.requestMetrics()).isEqualTo(new RequestMetrics(0, 0, 1, 0));
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
    assertThat(broker.requestMetrics()).isEqualTo(new RequestMetrics(0, 2, 1, 1));
  }

  @Test
  void aThousandConcurrentRequestsEachGetTheirOwnReply() throws Exception {
    RedisBroker broker = broker();
    broker.subscriber(channel("double")).concurrency(8).handle(Integer.class, (n, ctx) -> n * 2);
    broker.start();
    List<CompletableFuture<Integer>> replies = new ArrayList<>();
    for (int i = 0; i < 1000; i++) {
      replies.add(broker.requestAsync(i, channel("double"), Integer.class, Duration.ofSeconds(30)));
    }
    CompletableFuture.allOf(replies.toArray(CompletableFuture[]::new)).get(60, TimeUnit.SECONDS);
    for (int i = 0; i < 1000; i++) {
      assertThat(replies.get(i).get()).as("reply %d", i).isEqualTo(i * 2);
    }
    assertThat(broker.requestMetrics()).isEqualTo(new RequestMetrics(0, 1000, 0, 0));
    assertThat(replyChannels()).hasSize(1);
  }

  @Test
  void tenThousandSequentialRequestsLeaveNoPendingEntryAndOneReplySubscription() {
    RedisBroker broker = broker();
    broker.subscriber(channel("inc")).handle(Long.class, (n, ctx) -> n + 1);
    broker.start();
    for (long i = 0; i < 10_000; i++) {
      assertThat(broker.request(i, channel("inc"), Long.class, LONG)).isEqualTo(i + 1);
    }
    assertThat(broker.requestMetrics()).isEqualTo(new RequestMetrics(0, 10_000, 0, 0));
    assertThat(replyChannels()).hasSize(1);
    assertThat((List<?>) redis.command("PUBSUB", "NUMSUB", (String) replyChannels().get(0))).element(1).isEqualTo(1L);
    assertThat(broker.subscriptions()).hasSize(1); // the reply channel is the broker's, not a user subscription
  }

  @Test
  void cancellingARequestForgetsIt() {
    RedisBroker broker = broker();
    CompletableFuture<String> f = broker.requestAsync("x", channel("nobody"), String.class, LONG);
    assertThat(broker.requestMetrics().pending()).isEqualTo(1);
    f.cancel(false);
    assertThat(broker.requestMetrics().pending()).isZero();
    assertThatThrownBy(f::join).isInstanceOf(CancellationException.class);
  }

  @Test
  void aReplyThatCannotBeDecodedFailsTheRequestWithTheReason() {
    RedisBroker broker = broker();
    broker.subscriber(channel("text")).handle(String.class, (s, ctx) -> "not a number");
    broker.start();
    assertThatThrownBy(() -> broker.request("x", channel("text"), Integer.class, LONG))
        .isInstanceOf(BrookException.class)
        .hasMessageStartingWith("Cannot decode the reply to request ")
        .hasMessageContaining(" on channel:text into java.lang.Integer: Unrecognized token 'not'")
        .hasMessageEndingWith(". Ask for the type the subscriber returns, or String or byte[] to see the raw reply.");
    assertThat(broker.requestMetrics().pending()).isZero();
  }

  @Test
  void requestsToAListComeBackOnTheReplyChannel() {
    RedisBroker broker = broker();
    broker.subscriber(list("jobs")).handle(Order.class, (order, ctx) -> new Receipt(order.id(), "list"));
    broker.start();
    assertThat(broker.request(new Order(1, "a"), list("jobs"), Receipt.class, LONG)).isEqualTo(new Receipt(1, "list"));
    assertThat(broker.request(new Order(2, "b"), list("jobs"), Receipt.class, LONG)).isEqualTo(new Receipt(2, "list"));
    assertThat(replyChannels()).hasSize(1);
  }

  @Test
  void requestsToAStreamGroupComeBackOnTheReplyChannel() {
    RedisBroker broker = broker();
    broker.subscriber(stream("events").group("g").consumer("c1"))
        .handle(Order.class, (order, ctx) -> new Receipt(order.id(), "stream"));
    broker.start();
    assertThat(broker.request(new Order(3, "c"), stream("events"), Receipt.class, LONG)).isEqualTo(new Receipt(3, "stream"));
    assertThat(replyChannels()).hasSize(1);
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
}
