package dev.brook.tests.behaviour;

import static dev.brook.redis.Redis.channel;
import static dev.brook.redis.Redis.list;
import static dev.brook.redis.Redis.stream;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.brook.BrookException;
import dev.brook.Destination;
import dev.brook.Middleware;
import dev.brook.Pipeline;
import dev.brook.Response;
import dev.brook.Router;
import dev.brook.redis.RedisBroker;
import dev.brook.tests.Calls;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Publishing several messages at once: the batch publisher ({@code publishBatchTo}, FastStream's
 * {@code publisher(..., batch=True)}), pipelines ({@code broker.pipeline}), and the message-id
 * generator ({@code messageIds}).
 */
abstract class PipelineBehaviour extends Behaviour {

  PipelineBehaviour(Backend backend) {
    super(backend);
  }

  private List<String> texts(String list) {
    return backend.list(list).stream().map(Backend.Stored::text).toList();
  }

  // ---- the batch publisher ----------------------------------------------------------------------

  @Test
  void aCollectionResultIsPublishedOneMessagePerItemToEveryKind() {
    RedisBroker broker = started();
    Calls<Integer> channelItems = new Calls<>();
    broker.subscriber(channel("items")).handle(Integer.class, channelItems);
    broker.subscriber(channel("split")).publishBatchTo(list("items"), stream("item-log"), channel("items"))
        .handle(Integer.class, (n, ctx) -> List.of(n, n + 1, n + 2));

    broker.publish(10, channel("split"), Map.of("correlation_id", "batch-1"));

    eventually().until(() -> texts("items").size() == 3 && backend.stream("item-log").size() == 3);
    assertThat(texts("items")).containsExactly("10", "11", "12");
    assertThat(backend.stream("item-log")).extracting(Backend.Stored::text).containsExactly("10", "11", "12");
    assertThat(backend.list("items")).allSatisfy(s -> assertThat(s.header("correlation_id")).isEqualTo("batch-1"));
    assertThat(channelItems.await(3)).extracting(Calls.Call::payload).containsExactly(10, 11, 12);
  }

  @Test
  void aResponseWithACollectionPublishesItsItemsWithItsHeaders() {
    RedisBroker broker = started();
    broker.subscriber(channel("split")).publishBatchTo(list("out"))
        .handle(String.class, (s, ctx) -> Response.of(List.of(s + "1", s + "2")).header("x-part", "yes"));
    broker.publish("p", channel("split"));
    eventually().until(() -> texts("out").size() == 2);
    assertThat(texts("out")).containsExactly("p1", "p2");
    assertThat(backend.list("out")).allSatisfy(s -> assertThat(s.header("x-part")).isEqualTo("yes"));
  }

  @Test
  void aSingleValueIsOneMessageAndAnEmptyCollectionNone() {
    RedisBroker broker = started();
    broker.subscriber(list("in")).publishBatchTo(list("out"))
        .handle(String.class, (s, ctx) -> s.equals("none") ? List.of() : s.equals("null") ? null : s + "!");
    broker.publish("none", list("in"));
    broker.publish("null", list("in"));
    broker.publish("one", list("in"));
    eventually().until(() -> backend.list("in").isEmpty() && texts("out").size() == 1);
    assertThat(texts("out")).containsExactly("one!");
  }

  @Test
  void aRoutersPrefixAppliesToBatchDestinations() {
    RedisBroker broker = started();
    Router router = Router.withPrefix("r.");
    router.subscriber(list("in")).publishBatchTo(list("out")).noReply().handle(String.class, (s, ctx) -> List.of(s, s));
    broker.include(router);
    broker.publish("x", list("r.in"));
    eventually().until(() -> texts("r.out").size() == 2);
    assertThat(texts("r.out")).containsExactly("x", "x");
    assertThat(texts("out")).isEmpty();
  }

  @Test
  void batchPublishingPassesThePublishMiddlewaresPerItem() {
    AtomicInteger published = new AtomicInteger();
    Middleware stamp = new Middleware() {
      @Override
      public CompletableFuture<Void> publish(PublishChain chain) {
        return chain.proceed(chain.command().withHeader("x-n", String.valueOf(published.incrementAndGet())));
      }
    };
    RedisBroker broker = started(b -> b.middleware(stamp));
    broker.subscriber(list("in")).publishBatchTo(list("out")).handle(String.class, (s, ctx) -> List.of("a", "b"));
    broker.publish("go", list("in"));
    eventually().until(() -> texts("out").size() == 2);
    assertThat(backend.list("out")).extracting(s -> s.header("x-n")).containsExactly("2", "3"); // 1: the publish of "go"
  }

  // ---- pipelines ----------------------------------------------------------------------------------

  @Test
  void aPipelineSendsToSeveralDestinationsAndReturnsOnceRedisHasThemAll() {
    RedisBroker broker = started();
    Calls<String> events = new Calls<>();
    broker.subscriber(channel("events")).handle(String.class, events);

    broker.pipeline(p -> p
        .publish("job-1", list("jobs"))
        .publish("entry", stream("log"), Map.of("source", "checkout"))
        .publish("job-2", list("jobs"))
        .publish("hello", channel("events")));

    // no waiting: Redis answered every command before pipeline returned
    assertThat(texts("jobs")).containsExactly("job-1", "job-2");
    assertThat(backend.stream("log")).singleElement().satisfies(s -> {
      assertThat(s.text()).isEqualTo("entry");
      assertThat(s.header("source")).isEqualTo("checkout");
    });
    assertThat(events.awaitOne().payload()).isEqualTo("hello");
  }

  static Stream<Destination> everyKind() {
    return Stream.of(channel("resp"), list("resp"), stream("resp"));
  }

  /** FastStream's test_pipeline: a handler sends ten messages through one pipeline; all arrive, in order. */
  @ParameterizedTest
  @MethodSource("everyKind")
  void aHandlerPipelinesTenMessagesToEveryKind(Destination resp) {
    RedisBroker broker = started();
    Calls<String> received = new Calls<>();
    broker.subscriber(resp).handle(String.class, received);
    broker.subscriber(channel("trigger")).handle(String.class, (s, ctx) -> {
      broker.pipeline(p -> {
        for (int i = 0; i < 10; i++) {
          p.publish("hello " + i, resp);
        }
      });
      return null;
    });

    broker.publish("", channel("trigger"));

    assertThat(received.await(10)).extracting(Calls.Call::payload)
        .containsExactly("hello 0", "hello 1", "hello 2", "hello 3", "hello 4", "hello 5", "hello 6", "hello 7",
            "hello 8", "hello 9");
  }

  /** FastStream's test_pipebatch: batches in a pipeline reach a batch subscriber of the list together. */
  @Test
  void batchesInAPipelineReachABatchSubscriberTogether() {
    RedisBroker broker = started();
    Calls<List<String>> batches = new Calls<>();
    broker.subscriber(list("resp")).batch(10).handle(String.class, batches);
    broker.pipeline(p -> {
      for (int i = 0; i < 10; i += 2) {
        p.publishBatch(List.of("hello " + i, "hello " + (i + 1)), list("resp"));
      }
    });
    assertThat(batches.await(1)).extracting(Calls.Call::payload).containsExactly(
        List.of("hello 0", "hello 1", "hello 2", "hello 3", "hello 4", "hello 5", "hello 6", "hello 7", "hello 8",
            "hello 9"));
  }

  @Test
  void aPipelineRunsThePublishMiddlewaresForEachMessage() throws Exception {
    Middleware stamp = new Middleware() {
      @Override
      public CompletableFuture<Void> publish(PublishChain chain) {
        return chain.proceed(chain.command().withHeader("x-stamped", chain.command().payload().toString()));
      }
    };
    RedisBroker broker = started(b -> b.middleware(stamp));
    broker.pipelineAsync(p -> {
      p.publish("a", list("q"));
      p.publish("b", list("q"), Map.of("x-own", "1"));
    }).get(10, TimeUnit.SECONDS);
    assertThat(backend.list("q")).extracting(s -> s.header("x-stamped")).containsExactly("a", "b");
    assertThat(backend.list("q").get(1).header("x-own")).isEqualTo("1");
  }

  @Test
  void aFailedCommandFailsThePipelineButTheOthersTakeEffect() {
    RedisBroker broker = started();
    broker.publish("entry", stream("taken"));
    assertThatThrownBy(() -> broker.pipeline(p -> p
        .publish("before", list("ok"))
        .publish("wrong", list("taken"))
        .publish("after", list("ok"))))
        .isInstanceOf(BrookException.class)
        .hasMessageContaining("WRONGTYPE");
    assertThat(texts("ok")).containsExactly("before", "after");
  }

  @Test
  void anEmptyPipelineSendsNothingAndAPipelineCannotBeUsedAfterItsCallback() {
    RedisBroker broker = started();
    broker.pipeline(p -> {});
    AtomicReference<Pipeline> kept = new AtomicReference<>();
    broker.pipeline(p -> kept.set(p.publish("x", list("q"))));
    assertThatThrownBy(() -> kept.get().publish("y", list("q")))
        .isInstanceOf(IllegalStateException.class)
        .hasMessage("This pipeline was sent already: queue messages inside the pipeline callback only.");
    assertThat(texts("q")).containsExactly("x");
  }

  @Test
  void aClosedBrokerRefusesAPipeline() {
    RedisBroker broker = started();
    broker.close();
    assertThatThrownBy(() -> broker.pipeline(p -> p.publish("x", list("q"))))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("it is closed");
  }

  // ---- message ids ---------------------------------------------------------------------------------

  @Test
  void byDefaultNoMessageIdIsSentAndTheCorrelationIdServesAsTheMessageId() {
    RedisBroker broker = started();
    Calls<String> calls = new Calls<>();
    broker.subscriber(channel("c")).handle(String.class, calls);
    broker.publish("x", list("q"));
    broker.publish("y", channel("c"), Map.of("correlation_id", "corr-1"));
    assertThat(backend.list("q").get(0).headers()).doesNotContainKey("message_id");
    assertThat(calls.awaitOne().context().messageId()).isEqualTo("corr-1");
  }

  @Test
  void theMessageIdGeneratorNamesEveryPublishedMessage() {
    AtomicInteger next = new AtomicInteger();
    RedisBroker broker = started(b -> b.messageIds(() -> "m-" + next.incrementAndGet()));
    Calls<String> calls = new Calls<>();
    broker.subscriber(channel("c")).publishTo(list("results")).handle(String.class, (s, ctx) -> {
      calls.handle(s, ctx);
      return s + "!";
    });

    broker.publish("x", list("q"));
    broker.publish("y", list("q"), Map.of("message_id", "mine"));
    broker.publish("z", channel("c"));
    eventually().until(() -> backend.list("results").size() == 1);

    assertThat(backend.list("q")).extracting(s -> s.header("message_id")).containsExactly("m-1", "mine");
    assertThat(calls.awaitOne().context().messageId()).isEqualTo("m-2");
    assertThat(backend.list("results").get(0).header("message_id")).isEqualTo("m-3");
    assertThat(List.copyOf(backend.list("q").get(0).headers().keySet()))
        .containsExactly("correlation_id", "content-type", "message_id");
  }

  @Test
  void aMessageIdGeneratorThatReturnsNothingFailsThePublishNamingIt() {
    RedisBroker broker = started(b -> b.messageIds(() -> null));
    assertThatThrownBy(() -> broker.publish("x", list("q")))
        .isInstanceOf(BrookException.class)
        .hasMessage("The broker's messageIds supplier returned null; it must return a non-empty id for every message.");
  }

}
