package dev.brook.tests;

import static dev.brook.redis.Redis.channel;
import static dev.brook.redis.Redis.stream;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import dev.brook.RejectMessage;
import dev.brook.RemoteHandlerException;
import dev.brook.RequestMetrics;
import dev.brook.Subscribe;
import dev.brook.redis.RedisBroker;
import dev.brook.redis.internal.Envelope;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import io.lettuce.core.codec.ByteArrayCodec;
import io.lettuce.core.pubsub.RedisPubSubAdapter;
import io.lettuce.core.pubsub.StatefulRedisPubSubConnection;
import jakarta.validation.Valid;
import jakarta.validation.constraints.NotBlank;
import jakarta.validation.constraints.Positive;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.assertj.core.api.ListAssert;
import org.junit.jupiter.api.Test;

/**
 * Issue 13: what a subscriber sends back when its handler returns null or fails. A FastStream
 * requester gets an empty reply for null, as from FastStream, and nothing for a failure; a Brook
 * requester learns of a failure at once through {@link RemoteHandlerException}.
 */
class NullAndErrorRepliesTest extends RedisTestBase {

  /** Longer than any test may take: a request that waited it out would fail the test by its time. */
  private static final Duration LONG = Duration.ofSeconds(30);

  record Order(@Positive long id, @NotBlank String item) {}

  // ---- a FastStream requester, played by a raw Lettuce connection ------------------------------

  /** Subscribes {@code replyChannel} on a raw connection; what arrives there lands in the queue. */
  private BlockingQueue<byte[]> rawReplies(String replyChannel) {
    RedisClient client = RedisClient.create(RedisURI.create(redis.url()));
    closeLater(() -> client.shutdown(0, 2, TimeUnit.SECONDS));
    StatefulRedisPubSubConnection<byte[], byte[]> sub = client.connectPubSub(ByteArrayCodec.INSTANCE);
    BlockingQueue<byte[]> received = new LinkedBlockingQueue<>();
    sub.addListener(new RedisPubSubAdapter<>() {
      @Override
      public void message(byte[] channel, byte[] message) {
        received.add(message);
      }
    });
    sub.sync().subscribe(utf8(replyChannel));
    return received;
  }

  /** A request as FastStream's RedisBroker.request() publishes it: no Brook header. */
  private void fastStreamRequest(String channel, String correlationId, String replyTo, String text) {
    Map<String, String> headers = new LinkedHashMap<>();
    headers.put("correlation_id", correlationId);
    headers.put("content-type", "text/plain");
    headers.put("reply_to", replyTo);
    raw().sync().publish(utf8(channel), Envelope.encode(headers, utf8(text)));
  }

  @Test
  void aNullResultSendsAFastStreamRequesterAnEmptyReplyWithItsCorrelationId() throws Exception {
    RedisBroker broker = broker();
    broker.subscriber(channel("svc")).handle(String.class, (s, ctx) -> null);
    broker.start();
    BlockingQueue<byte[]> replies = rawReplies("fs.reply.1");

    fastStreamRequest("svc", "fs-1", "fs.reply.1", "ping");

    byte[] reply = replies.poll(10, TimeUnit.SECONDS);
    assertThat(reply).as("the reply to a handler that returned null").isNotNull();
    // exactly what FastStream sends for None: one header, correlation_id, and no payload
    assertThat(HexFormat.of().formatHex(reply)).isEqualTo("8942494e0d0a1a0a0001000000120000002a"
        + "0001" + "000e" + HexFormat.of().formatHex(utf8("correlation_id")) + "0004" + HexFormat.of().formatHex(utf8("fs-1")));
  }

  @Test
  void aFailingHandlerSendsAFastStreamRequesterNothing() throws Exception {
    RedisBroker broker = broker();
    broker.subscriber(channel("svc")).handle(String.class, (s, ctx) -> {
      if (s.equals("boom")) {
        throw new IllegalStateException("out of stock");
      }
      return s + "-reply";
    });
    broker.start();
    BlockingQueue<byte[]> replies = rawReplies("fs.reply.2");

    fastStreamRequest("svc", "fs-boom", "fs.reply.2", "boom");
    fastStreamRequest("svc", "fs-ok", "fs.reply.2", "ok");

    // one subscription handles in order and replies on one connection: had the failure been
    // answered, that reply would have come first
    byte[] first = replies.poll(10, TimeUnit.SECONDS);
    assertThat(first).isNotNull();
    var frame = Envelope.decode(first);
    assertThat(frame.headers()).containsExactly(
        Map.entry("correlation_id", "fs-ok"), Map.entry("content-type", "text/plain"));
    assertThat(new String(frame.payload())).isEqualTo("ok-reply");
    assertThat(replies).isEmpty();
  }

  // ---- Brook on both sides -----------------------------------------------------------------------

  @Test
  void aNullResultRepliesNullToABrookRequester() {
    RedisBroker broker = broker();
    broker.subscriber(stream("nulls").group("g")).handle(String.class, (s, ctx) -> null);
    broker.start();
    assertThat(broker.request("anyone?", stream("nulls"), String.class, LONG)).isNull();
    assertCounts(broker.requestMetrics()).containsExactly(0L, 1L, 0L, 0L);
  }

  @Test
  void aHandlerExceptionFailsTheRequestAtOnceNamingDestinationClassAndMessage() {
    RedisBroker broker = broker();
    broker.subscriber(channel("orders")).handle(Order.class, (o, ctx) -> {
      throw new IllegalStateException("out of stock: " + o.item());
    });
    broker.start();

    RemoteHandlerException e = catchThrowableOfType(RemoteHandlerException.class,
        () -> broker.request(new Order(1, "pen"), channel("orders"), String.class, LONG));

    assertThat(e).hasMessage("The request " + e.correlationId() + " on channel:orders failed in the subscriber's "
        + "handler: java.lang.IllegalStateException: out of stock: pen. The subscriber's log has the details.");
    assertThat(e.destination()).isEqualTo("channel:orders");
    assertThat(e.errorType()).isEqualTo("java.lang.IllegalStateException");
    assertThat(e.errorMessage()).isEqualTo("out of stock: pen");
    assertThat(e.correlationId()).matches("[0-9a-f-]{36}");
    assertCounts(broker.requestMetrics()).containsExactly(0L, 1L, 0L, 0L);
  }

  @Test
  void aRejectFailsTheRequestWithItsReason() {
    RedisBroker broker = broker();
    broker.subscriber(stream("jobs").group("g")).handle(String.class, (s, ctx) -> {
      throw new RejectMessage("job " + s + " is not ours");
    });
    broker.start();

    RemoteHandlerException e = catchThrowableOfType(RemoteHandlerException.class,
        () -> broker.request("j-7", stream("jobs"), String.class, LONG));

    assertThat(e).hasMessage("The request " + e.correlationId() + " on stream:jobs failed in the subscriber's "
        + "handler: dev.brook.RejectMessage: job j-7 is not ours. The subscriber's log has the details.");
  }

  static class ValidOrders {
    @Subscribe(channel = "valid-orders")
    String onOrder(@Valid Order order) {
      return "ok " + order.id();
    }
  }

  @Test
  void aValidationFailureFailsTheRequestWithTheViolations() {
    RedisBroker broker = broker();
    broker.include(new ValidOrders());
    broker.start();

    RemoteHandlerException e = catchThrowableOfType(RemoteHandlerException.class,
        () -> broker.request(new Order(-1, " "), channel("valid-orders"), String.class, LONG));

    assertThat(e).hasMessage("The request " + e.correlationId() + " on channel:valid-orders failed in the subscriber's "
        + "handler: dev.brook.RejectMessage: invalid payload: id must be greater than 0; item must not be blank. "
        + "The subscriber's log has the details.");
    assertThat(broker.request(new Order(2, "pen"), channel("valid-orders"), String.class, LONG)).isEqualTo("ok 2");
  }

  @Test
  void aPayloadThatCannotBeDecodedFailsTheRequestWithTheReason() {
    RedisBroker broker = broker();
    broker.subscriber(channel("typed")).handle(Order.class, (o, ctx) -> "never");
    broker.start();

    RemoteHandlerException e = catchThrowableOfType(RemoteHandlerException.class,
        () -> broker.request("not json", channel("typed"), String.class, LONG));

    assertThat(e.errorType()).isEqualTo("dev.brook.RejectMessage");
    assertThat(e.errorMessage()).startsWith("cannot decode into " + Order.class.getName() + ": Unrecognized token 'not'");
  }

  @Test
  void requestAsyncCompletesExceptionallyWithTheRemoteError() throws Exception {
    RedisBroker broker = broker();
    broker.subscriber(channel("orders")).handle(String.class, (s, ctx) -> {
      throw new UnsupportedOperationException("no " + s);
    });
    broker.start();

    CompletableFuture<String> reply = broker.requestAsync("refunds", channel("orders"), String.class, LONG);

    ExecutionException e = catchThrowableOfType(ExecutionException.class, () -> reply.get(20, TimeUnit.SECONDS));
    assertThat(e.getCause()).isInstanceOf(RemoteHandlerException.class);
    RemoteHandlerException remote = (RemoteHandlerException) e.getCause();
    assertThat(remote).hasMessage("The request " + remote.correlationId() + " on channel:orders failed in the "
        + "subscriber's handler: java.lang.UnsupportedOperationException: no refunds. The subscriber's log has the details.");
  }

  @Test
  void aNackIsNotAFailure_theRedeliveryAnswers() {
    RedisBroker broker = broker();
    java.util.concurrent.atomic.AtomicInteger calls = new java.util.concurrent.atomic.AtomicInteger();
    broker.subscriber(stream("retry").group("g").minIdle(Duration.ofMillis(100)))
        .ackPolicy(dev.brook.AckPolicy.NACK_ON_ERROR)
        .handle(String.class, (s, ctx) -> {
          if (calls.incrementAndGet() == 1) {
            throw new dev.brook.NackMessage();
          }
          return s + " on try " + calls.get();
        });
    broker.start();
    assertThat(broker.request("job", stream("retry"), String.class, LONG)).isEqualTo("job on try 2");
  }

  /** Asserts on the request counters, in the order pending, replied, timedOut, lateReplies. */
  private static ListAssert<Long> assertCounts(RequestMetrics m) {
    return assertThat(List.of(m.pending(), m.replied(), m.timedOut(), m.lateReplies()))
        .as("pending, replied, timedOut, lateReplies of %s", m);
  }
}
