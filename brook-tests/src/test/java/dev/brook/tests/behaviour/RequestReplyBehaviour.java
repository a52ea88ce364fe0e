package dev.brook.tests.behaviour;

import static dev.brook.redis.Redis.channel;
import static dev.brook.redis.Redis.list;
import static dev.brook.redis.Redis.shardChannel;
import static dev.brook.redis.Redis.stream;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import dev.brook.BrookException;
import dev.brook.Destination;
import dev.brook.MessageContext;
import dev.brook.Publisher;
import dev.brook.RequestMetrics;
import dev.brook.RequestTimeoutException;
import dev.brook.redis.RedisBroker;
import dev.brook.tests.Calls;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.assertj.core.api.ListAssert;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** Request/reply: one reply channel per broker, replies matched by correlation id, on every destination kind. */
abstract class RequestReplyBehaviour extends Behaviour {

  record Order(long id, String item) {}

  record Receipt(long orderId, String by) {}

  private static final Duration LONG = Duration.ofSeconds(10);

  RequestReplyBehaviour(Backend backend) {
    super(backend);
  }

  static Stream<Destination> everyKind() {
    return Stream.of(channel("orders"), shardChannel("orders"), list("orders"), list("orders").atMostOnce(), stream("orders"),
        stream("orders").group("g").consumer("c1"));
  }

  @ParameterizedTest
  @MethodSource("everyKind")
  void aRequestToEveryDestinationKindGetsTheReturnValueBack(Destination destination) {
    RedisBroker broker = started();
    broker.subscriber(destination).handle(Order.class, (order, ctx) -> new Receipt(order.id(), ctx.destination().key()));
    assertThat(broker.request(new Order(7, "pen"), destination, Receipt.class, LONG)).isEqualTo(new Receipt(7, destination.key()));
    assertThat(broker.request(new Order(8, "ink"), destination, Receipt.class, LONG)).isEqualTo(new Receipt(8, destination.key()));
    assertCounts(broker.requestMetrics()).containsExactly(0L, 2L, 0L, 0L);
    assertThat(broker.subscriptions()).hasSize(1); // the reply channel is the broker's, not a subscription
  }

  @Test
  void theRequestCarriesReplyToAndCorrelationIdAndTheReplyGoesToPublishToToo() {
    RedisBroker broker = started();
    Calls<String> audit = new Calls<>();
    List<MessageContext> seen = new CopyOnWriteArrayList<>();
    broker.subscriber(channel("ping")).publishTo(channel("audit")).handle(String.class, (s, ctx) -> {
      seen.add(ctx);
      return s + " pong";
    });
    broker.subscriber(channel("audit")).handle(String.class, audit);

    assertThat(broker.request("ping", channel("ping"), String.class, LONG)).isEqualTo("ping pong");

    MessageContext ctx = seen.get(0);
    assertThat(ctx.replyTo()).startsWith("brook.reply.");
    assertThat(ctx.correlationId()).matches("[0-9a-f-]{36}");
    var published = audit.awaitOne();
    assertThat(published.payload()).isEqualTo("ping pong");
    assertThat(published.context().correlationId()).isEqualTo(ctx.correlationId());
    assertThat(published.context().replyTo()).isNull();

    broker.request("again", channel("ping"), String.class, LONG);
    assertThat(seen.get(1).replyTo()).isEqualTo(ctx.replyTo()); // one reply channel for all requests
    assertThat(seen.get(1).correlationId()).isNotEqualTo(ctx.correlationId());
  }

  @Test
  void aNullResultRepliesNull() {
    RedisBroker broker = started();
    Calls<String> silent = new Calls<>();
    broker.subscriber(channel("silent")).handle(String.class, silent);

    assertThat(broker.request("anyone?", channel("silent"), String.class, LONG)).isNull();

    assertThat(silent.awaitOne().payload()).isEqualTo("anyone?");
    assertCounts(broker.requestMetrics()).containsExactly(0L, 1L, 0L, 0L);
  }

  @Test
  void aRequestNobodyAnswersTimesOutNamingDestinationAndTimeout() {
    RedisBroker broker = started();

    RequestTimeoutException e = catchThrowableOfType(RequestTimeoutException.class,
        () -> broker.request("anyone?", channel("silent"), String.class, Duration.ofMillis(250)));

    assertThat(e).hasMessage("No reply to request " + e.correlationId() + " on channel:silent within 250 ms. Check that a "
        + "subscriber of channel:silent is running (a FastStream handler that fails sends no reply), or give the request "
        + "more time.");
    assertThat(e.destination()).isEqualTo("channel:silent");
    assertThat(e.timeout()).isEqualTo(Duration.ofMillis(250));
    assertCounts(broker.requestMetrics()).containsExactly(0L, 0L, 1L, 0L);
  }

  @Test
  void aReplyAfterTheTimeoutIsCountedAndDropped() {
    RedisBroker broker = started();
    broker.subscriber(channel("work")).handle(String.class, (s, ctx) -> {
      if (s.equals("slow")) {
        Thread.sleep(500); // simulated work, longer than the request waits
      }
      return s + "-reply";
    });
    assertThatThrownBy(() -> broker.request("slow", channel("work"), String.class, Duration.ofMillis(100)))
        .isInstanceOf(RequestTimeoutException.class);
    eventually().until(() -> broker.requestMetrics().lateReplies() == 1);
    assertThat(broker.request("fast", channel("work"), String.class, LONG)).isEqualTo("fast-reply");
    assertCounts(broker.requestMetrics()).containsExactly(0L, 1L, 1L, 1L);
  }

  @Test
  void whenTwoSubscribersAnswerTheFirstReplyWinsAndTheOtherIsLate() {
    RedisBroker broker = started();
    broker.subscriber(channel("fan")).id("a").handle(String.class, (s, ctx) -> "a");
    broker.subscriber(channel("fan")).id("b").handle(String.class, (s, ctx) -> "b");
    assertThat(broker.request("who?", channel("fan"), String.class, LONG)).isIn("a", "b");
    eventually().until(() -> broker.requestMetrics().lateReplies() == 1);
    assertThat(broker.requestMetrics().replied()).isEqualTo(1);
  }

  @Test
  void manyConcurrentRequestsEachGetTheirOwnReply() throws Exception {
    RedisBroker broker = started();
    broker.subscriber(channel("double")).concurrency(8).handle(Integer.class, (n, ctx) -> n * 2);
    List<CompletableFuture<Integer>> replies = new ArrayList<>();
    for (int i = 0; i < 200; i++) {
      replies.add(broker.requestAsync(i, channel("double"), Integer.class, LONG));
    }
    CompletableFuture.allOf(replies.toArray(CompletableFuture[]::new)).get(30, TimeUnit.SECONDS);
    for (int i = 0; i < 200; i++) {
      assertThat(replies.get(i).get()).as("reply %d", i).isEqualTo(i * 2);
    }
    assertCounts(broker.requestMetrics()).containsExactly(0L, 200L, 0L, 0L);
  }

  @Test
  void cancellingARequestForgetsIt() {
    RedisBroker broker = started();
    CompletableFuture<String> f = broker.requestAsync("x", channel("nobody"), String.class, LONG);
    assertThat(broker.requestMetrics().pending()).isEqualTo(1);
    f.cancel(false);
    assertThat(broker.requestMetrics().pending()).isZero();
    assertThatThrownBy(f::join).isInstanceOf(CancellationException.class);
  }

  @Test
  void aReplyThatCannotBeDecodedFailsTheRequestWithTheReason() {
    RedisBroker broker = started();
    broker.subscriber(channel("text")).handle(String.class, (s, ctx) -> "not a number");
    assertThatThrownBy(() -> broker.request("x", channel("text"), Integer.class, LONG))
        .isInstanceOf(BrookException.class)
        .hasMessageStartingWith("Cannot decode the reply to request ")
        .hasMessageContaining(" on channel:text into java.lang.Integer: Unrecognized token 'not'")
        .hasMessageEndingWith(". Ask for the type the subscriber returns, or String or byte[] to see the raw reply.");
    assertThat(broker.requestMetrics().pending()).isZero();
  }

  @Test
  void aPublisherSendsRequestsWithItsHeaders() {
    RedisBroker broker = started();
    broker.subscriber(channel("echo")).handle(String.class, (s, ctx) -> s + " from " + ctx.header("tenant"));
    Publisher echo = broker.publisher(channel("echo")).withHeader("tenant", "acme");
    assertThat(echo.request("hi", String.class, LONG)).isEqualTo("hi from acme");
    assertThat(echo.<String>requestAsync("ho", String.class, LONG).join()).isEqualTo("ho from acme");
  }

  @Test
  void noReplyChannelUntilTheFirstRequest() {
    RedisBroker broker = started();
    List<String> replyTo = new CopyOnWriteArrayList<>();
    broker.subscriber(channel("a")).handle(String.class, (s, ctx) -> {
      replyTo.add(String.valueOf(ctx.replyTo()));
      return s;
    });
    broker.publish("x", channel("a"));
    eventually().until(() -> replyTo.size() == 1);
    assertThat(replyTo).containsExactly("null");
    assertCounts(broker.requestMetrics()).containsExactly(0L, 0L, 0L, 0L);
  }

  /** Asserts on the request counters, in the order pending, replied, timedOut, lateReplies. */
  private static ListAssert<Long> assertCounts(RequestMetrics m) {
    return assertThat(List.of(m.pending(), m.replied(), m.timedOut(), m.lateReplies()))
        .as("pending, replied, timedOut, lateReplies of %s", m);
  }
}
