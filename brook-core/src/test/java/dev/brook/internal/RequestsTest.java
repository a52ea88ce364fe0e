package dev.brook.internal;

import dev.brook.spi.Frame;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static dev.brook.internal.Soon.soon;

import dev.brook.BrookException;
import dev.brook.DuplicatePolicy;
import dev.brook.RequestMetrics;
import dev.brook.RequestTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Request matching ({@link Requests}): a reply completes its request once, a reply nobody waits
 * for is counted and dropped, and a timeout, a cancel or the close takes the request out. Runs a
 * real engine on a {@link FakeTransport}; the test plays the responder.
 */
class RequestsTest {

  private static final FakeTransport.Target SERVICE = FakeTransport.Target.channel("service");

  private final FakeTransport transport = new FakeTransport();
  private final BrokerEngine engine =
      new BrokerEngine(transport, new Codec(Codec.defaultMapper()), Duration.ofSeconds(5), DuplicatePolicy.REPLACE, 100);
  private final TestInbound.Factory messages = new TestInbound.Factory();

  @AfterEach
  void close() {
    engine.close();
  }

  private CompletableFuture<String> request(String payload, Duration timeout) {
    return engine.requestAsync(payload, SERVICE, String.class, timeout);
  }

  /** The correlation id of the n-th request sent (0 first). */
  private String correlationId(int n) {
    soon().until(() -> transport.sent.size() > n);
    return transport.sent.get(n).frame().header(Codec.CORRELATION_ID);
  }

  /** Delivers a text reply for {@code correlationId} on the engine's reply channel. */
  private void reply(String correlationId, String text) {
    Frame frame = new Frame(Map.of(Codec.CORRELATION_ID, correlationId, Codec.CONTENT_TYPE, Codec.TEXT),
        text.getBytes(StandardCharsets.UTF_8));
    transport.deliver("reply:" + engine.replyChannel(), messages.withFrame("reply " + text, frame));
  }

  private RequestMetrics metrics() {
    return engine.requestMetrics();
  }

  @Test
  void aReplyCompletesItsRequestAndAnotherReplyWithTheSameIdIsCountedAsLate() throws Exception {
    CompletableFuture<String> answer = request("ping", Duration.ofSeconds(10));
    String id = correlationId(0);
    assertThat(transport.sent.get(0).frame().headers())
        .containsEntry(Codec.REPLY_TO, engine.replyChannel()).containsEntry(Codec.ERROR_REPLY, "1");
    assertThat(metrics().pending()).isEqualTo(1);

    reply(id, "pong");
    assertThat(answer.get(10, TimeUnit.SECONDS)).isEqualTo("pong");
    reply(id, "pong again");

    assertThat(metrics()).isEqualTo(new RequestSnapshot(0, 1, 0, 1));
    assertThat(messages.log).containsExactly("processed reply pong", "processed reply pong again");
  }

  @Test
  void aReplyCompletesOnlyTheRequestItAnswers() throws Exception {
    CompletableFuture<String> first = request("one", Duration.ofSeconds(10));
    CompletableFuture<String> second = request("two", Duration.ofSeconds(10));
    reply(correlationId(1), "for two");

    assertThat(second.get(10, TimeUnit.SECONDS)).isEqualTo("for two");
    assertThat(first).isNotDone();
    assertThat(metrics().pending()).isEqualTo(1);
    reply("nobody-asked", "stray");
    assertThat(metrics().lateReplies()).isEqualTo(1);
    assertThat(first).isNotDone();
  }

  @Test
  void racingDuplicateRepliesCompleteEachRequestExactlyOnce() throws Exception {
    int n = 200;
    List<CompletableFuture<String>> answers = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      answers.add(request("q" + i, Duration.ofSeconds(30)));
    }
    CountDownLatch go = new CountDownLatch(1);
    List<Thread> responders = new ArrayList<>();
    for (int copy = 0; copy < 2; copy++) {
      responders.add(Thread.ofPlatform().start(() -> {
        try {
          go.await();
        } catch (InterruptedException e) {
          return;
        }
        for (int i = 0; i < n; i++) {
          reply(correlationId(i), "a" + i);
        }
      }));
    }
    go.countDown();
    for (Thread t : responders) {
      assertThat(t.join(Duration.ofSeconds(30))).isTrue();
    }
    for (int i = 0; i < n; i++) {
      assertThat(answers.get(i).get(10, TimeUnit.SECONDS)).isEqualTo("a" + i);
    }
    assertThat(metrics()).isEqualTo(new RequestSnapshot(0, n, 0, n));
  }

  @Test
  void aRequestTimesOutAndItsLateReplyIsDropped() throws Exception {
    CompletableFuture<String> answer = request("slow", Duration.ofMillis(100));
    String id = correlationId(0);

    assertThatThrownBy(() -> answer.get(10, TimeUnit.SECONDS))
        .isInstanceOf(ExecutionException.class)
        .cause().isInstanceOf(RequestTimeoutException.class);
    assertThat(metrics()).isEqualTo(new RequestSnapshot(0, 0, 1, 0));

    reply(id, "too late");
    assertThat(metrics()).isEqualTo(new RequestSnapshot(0, 0, 1, 1));
  }

  @Test
  void aBlockingRequestTimesOutWithTheDestinationAndTheTimeout() {
    assertThatThrownBy(() -> engine.request("slow", SERVICE, String.class, Duration.ofMillis(100)))
        .isInstanceOf(RequestTimeoutException.class)
        .satisfies(e -> {
          RequestTimeoutException timeout = (RequestTimeoutException) e;
          assertThat(timeout.destination()).isEqualTo("channel:service");
          assertThat(timeout.timeout()).isEqualTo(Duration.ofMillis(100));
          assertThat(timeout.correlationId()).isEqualTo(correlationId(0));
        });
    assertThat(metrics().pending()).isZero();
  }

  @Test
  void cancellingARequestForgetsItAtOnce() {
    CompletableFuture<String> answer = request("never mind", Duration.ofSeconds(30));
    String id = correlationId(0);

    assertThat(answer.cancel(true)).isTrue();

    assertThat(metrics().pending()).isZero();
    reply(id, "after the cancel");
    assertThat(metrics()).isEqualTo(new RequestSnapshot(0, 0, 0, 1));
  }

  @Test
  void closingTheBrokerFailsTheRequestsStillWaitingAndStopsTheReplyChannel() {
    CompletableFuture<String> first = request("a", Duration.ofSeconds(30));
    CompletableFuture<String> second = request("b", Duration.ofSeconds(30));
    String channel = engine.replyChannel();
    String firstId = correlationId(0);

    engine.close();

    assertThat(List.of(first, second)).allSatisfy(f -> assertThatThrownBy(() -> f.get(10, TimeUnit.SECONDS))
        .isInstanceOf(ExecutionException.class)
        .cause().isInstanceOf(BrookException.class)
        .hasMessageStartingWith("The broker fake://test was closed before the reply to request ")
        .hasMessageEndingWith(" on channel:service arrived."));
    assertThatThrownBy(() -> first.get()).cause().hasMessageContaining(firstId);
    assertThat(metrics().pending()).isZero();
    assertThat(transport.events).containsSubsequence("start reply:" + channel, "stop reply:" + channel, "close");
    assertThatThrownBy(() -> request("after", Duration.ofSeconds(1)))
        .isInstanceOf(IllegalStateException.class).hasMessageContaining("it is closed");
  }
}
