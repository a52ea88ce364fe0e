package dev.brook.tests.behaviour;

import static dev.brook.redis.Redis.channel;
import static dev.brook.redis.Redis.list;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.brook.BrookException;
import dev.brook.ExceptionMiddleware;
import dev.brook.Message;
import dev.brook.Middleware;
import dev.brook.Publisher;
import dev.brook.RequestTimeoutException;
import dev.brook.Response;
import dev.brook.Router;
import dev.brook.Subscribe;
import dev.brook.redis.RedisBroker;
import dev.brook.tests.Calls;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;

/**
 * Replying (FastStream's {@code Response}, {@code no_reply}) and requesting with headers and the
 * whole reply: correlation ids kept, the broker's middlewares on the reply, closed and stopped brokers.
 */
abstract class ResponseBehaviour extends Behaviour {

  private static final Duration LONG = Duration.ofSeconds(10);
  private static final Duration SHORT = Duration.ofMillis(300);

  ResponseBehaviour(Backend backend) {
    super(backend);
  }

  @Test
  void aResponseCarriesItsHeadersToTheReplyAndToPublishTo() {
    RedisBroker broker = started();
    broker.subscriber(channel("quote")).publishTo(list("audit"))
        .handle(String.class, (s, ctx) -> Response.of("priced " + s).header("x-priced-by", "engine-2"));

    Message<String> reply = broker.requestMessage("pen", channel("quote"), Map.of("correlation_id", "q-1"), String.class,
        LONG);

    assertThat(reply.payload()).isEqualTo("priced pen");
    assertThat(reply.header("x-priced-by")).isEqualTo("engine-2");
    assertThat(reply.correlationId()).isEqualTo("q-1");
    assertThat(reply.destination().name()).startsWith("brook.reply.");
    eventually().until(() -> backend.list("audit").size() == 1);
    Backend.Stored audit = backend.list("audit").get(0);
    assertThat(audit.text()).isEqualTo("priced pen");
    assertThat(audit.header("x-priced-by")).isEqualTo("engine-2");
    assertThat(audit.header("correlation_id")).isEqualTo("q-1");
    assertThat(audit.headers().keySet()).first().isEqualTo("correlation_id");
  }

  @Test
  void aResponseMayChooseItsCorrelationId() {
    RedisBroker broker = started();
    broker.subscriber(channel("in")).publishTo(list("out"))
        .handle(String.class, (s, ctx) -> Response.of(s.toUpperCase()).correlationId("chosen-" + s));
    broker.publish("a", channel("in"), Map.of("correlation_id", "incoming"));
    eventually().until(() -> backend.list("out").size() == 1);
    assertThat(backend.list("out").get(0).header("correlation_id")).isEqualTo("chosen-a");
    assertThat(backend.list("out").get(0).text()).isEqualTo("A");
  }

  @Test
  void aResponseWithoutPayloadIsAnEmptyReplyWithHeadersAndIsNotPublished() {
    RedisBroker broker = started();
    Calls<String> out = new Calls<>();
    broker.subscriber(channel("out")).handle(String.class, out);
    broker.subscriber(channel("ask")).publishTo(channel("out"))
        .handle(String.class, (s, ctx) -> Response.of(null).header("x-found", "no"));

    Message<String> reply = broker.requestMessage("?", channel("ask"), Map.of(), String.class, LONG);

    assertThat(reply.payload()).isNull();
    assertThat(reply.header("x-found")).isEqualTo("no");
    assertThat(reply.body()).isEmpty();
    broker.publish("marker", channel("out"));
    assertThat(out.await(1)).extracting(Calls.Call::payload).containsExactly("marker");
  }

  public static final class Annotated {
    @Subscribe(channel = "annotated")
    public Response on(String s) {
      return Response.of(s + "!").header("x-from", "annotated");
    }
  }

  @Test
  void anAnnotatedMethodMayReturnAResponse() {
    RedisBroker broker = started();
    broker.include(new Annotated());
    Message<String> reply = broker.requestMessage("hi", channel("annotated"), Map.of(), String.class, LONG);
    assertThat(reply.payload()).isEqualTo("hi!");
    assertThat(reply.header("x-from")).isEqualTo("annotated");
  }

  @Test
  void noReplyNeverAnswersButStillPublishes() {
    RedisBroker broker = started();
    broker.subscriber(channel("quiet")).noReply().publishTo(list("out")).handle(String.class, (s, ctx) -> s + "-done");

    assertThatThrownBy(() -> broker.request("job", channel("quiet"), String.class, SHORT))
        .isInstanceOf(RequestTimeoutException.class);

    eventually().until(() -> backend.list("out").size() == 1);
    assertThat(backend.list("out").get(0).text()).isEqualTo("job-done");
    assertThat(broker.requestMetrics().lateReplies()).isZero();
  }

  /** A service whose method publishes its result but never answers a requester. */
  static final class QuietService {
    @dev.brook.Subscribe(channel = "quiet-annotated", noReply = true)
    @dev.brook.Publish(list = "out-annotated")
    String handle(String s) {
      return s + "-done";
    }
  }

  @Test
  void noReplyOnAnAnnotatedMethodNeverAnswersButStillPublishes() {
    RedisBroker broker = started();
    broker.include(new QuietService());

    assertThatThrownBy(() -> broker.request("job", channel("quiet-annotated"), String.class, SHORT))
        .isInstanceOf(RequestTimeoutException.class);

    eventually().until(() -> backend.list("out-annotated").size() == 1);
    assertThat(backend.list("out-annotated").get(0).text()).isEqualTo("job-done");
    assertThat(broker.requestMetrics().lateReplies()).isZero();
  }

  @Test
  void withNoReplyAnotherSubscriberAnswersAlone() {
    RedisBroker broker = started();
    broker.subscriber(channel("fan")).id("logger").noReply().handle(String.class, (s, ctx) -> "from the logger");
    broker.subscriber(channel("fan")).id("worker").handle(String.class, (s, ctx) -> "from the worker");
    for (int i = 0; i < 5; i++) {
      assertThat(broker.request("who?", channel("fan"), String.class, LONG)).isEqualTo("from the worker");
    }
    assertThat(broker.requestMetrics().lateReplies()).isZero();
  }

  @Test
  void aRequestCarriesTheCallersHeaders() {
    RedisBroker broker = started();
    broker.subscriber(channel("echo")).handle(String.class, (s, ctx) -> s + " for " + ctx.header("tenant"));
    assertThat(broker.request("hi", channel("echo"), Map.of("tenant", "acme"), String.class, LONG))
        .isEqualTo("hi for acme");
    assertThat(broker.requestAsync("ho", channel("echo"), Map.of("tenant", "beta"), String.class, LONG).join())
        .isEqualTo("ho for beta");
    assertThat(broker.publisher(channel("echo")).withHeader("tenant", "default")
        .request("he", Map.of("tenant", "gamma"), String.class, LONG)).isEqualTo("he for gamma");
    assertThat(broker.publisher(channel("echo")).withHeader("tenant", "default")
        .requestAsync("hu", Map.of(), String.class, LONG).join()).isEqualTo("hu for default");
  }

  @Test
  void anExplicitCorrelationIdIsKeptAndComesBack() {
    RedisBroker broker = started();
    broker.subscriber(channel("id")).handle(String.class, (s, ctx) -> ctx.correlationId());

    Message<String> reply = broker.requestMessage("x", channel("id"), Map.of("correlation_id", "my-id-1"), String.class,
        LONG);
    assertThat(reply.payload()).isEqualTo("my-id-1");
    assertThat(reply.correlationId()).isEqualTo("my-id-1");
    Message<String> async = broker.publisher(channel("id"))
        .<String>requestMessageAsync("y", Map.of("correlation_id", "my-id-2"), String.class, LONG).join();
    assertThat(async.payload()).isEqualTo("my-id-2");
    // once answered, the id may be used again
    assertThat(broker.request("z", channel("id"), Map.of("correlation_id", "my-id-1"), String.class, LONG))
        .isEqualTo("my-id-1");
  }

  @Test
  void aWholeReplyHasNothingToSettle() {
    RedisBroker broker = started();
    broker.subscriber(channel("w")).handle(String.class, (s, ctx) -> 42);
    Message<Integer> reply = broker.requestMessageAsync("x", channel("w"), Map.of(), Integer.class, LONG).join();
    reply.ack();
    reply.nack();
    reply.reject();
    assertThat(reply.payload()).isEqualTo(42);
    assertThat(reply.deliveryCount()).isEqualTo(1);
    assertThat(reply.header("content-type")).isEqualTo("application/json");
    assertThat(reply.pathParams()).isEmpty();
  }

  @Test
  void twoRequestsInFlightWithTheSameExplicitIdTheSecondFails() throws Exception {
    RedisBroker broker = started();
    int threads = 8;
    CountDownLatch go = new CountDownLatch(1);
    List<Future<Object>> outcomes = new ArrayList<>();
    try (ExecutorService pool = Executors.newFixedThreadPool(threads)) {
      for (int i = 0; i < threads; i++) {
        outcomes.add(pool.submit(() -> {
          go.await();
          try {
            return broker.requestAsync("x", channel("nobody"), Map.of("correlation_id", "same"), String.class, LONG);
          } catch (BrookException e) {
            return e;
          }
        }));
      }
      go.countDown();
      List<CompletableFuture<?>> sent = new ArrayList<>();
      List<BrookException> refused = new ArrayList<>();
      for (Future<Object> f : outcomes) {
        Object o = f.get();
        if (o instanceof CompletableFuture<?> c) {
          sent.add(c);
        } else {
          refused.add((BrookException) o);
        }
      }
      assertThat(sent).hasSize(1);
      assertThat(refused).hasSize(threads - 1).allSatisfy(e -> assertThat(e).hasMessage(
          "Cannot send the request to channel:nobody: a request with correlation_id 'same' is still waiting for its "
              + "reply, and replies are matched by that id. Give each request in flight its own correlation_id, or leave "
              + "the header out and Brook makes a new one."));
      assertThat(broker.requestMetrics().pending()).isEqualTo(1);
      sent.get(0).cancel(false);
      assertThatThrownBy(sent.get(0)::join).isInstanceOf(CancellationException.class);
    }
    assertThat(broker.requestMetrics().pending()).isZero();
    assertThatThrownBy(() -> broker.request("x", channel("nobody"), Map.of("correlation_id", "same"), String.class, SHORT))
        .isInstanceOf(RequestTimeoutException.class)
        .hasMessageContaining("request same on channel:nobody");
  }

  @Test
  void theBrokersMiddlewaresSeeTheReplyBeforeTheCaller() {
    List<String> seen = new CopyOnWriteArrayList<>();
    Middleware onReplies = new Middleware() {
      @Override
      public Object consume(ConsumeChain chain) throws Exception {
        if (chain.subscription() != null) {
          return chain.proceed(); // the request, at the subscriber
        }
        seen.add(chain.context().header("x-by") + " " + chain.context().correlationId() + " " + chain.payload());
        return chain.proceed(chain.payload() + "!");
      }
    };
    RedisBroker broker = started(b -> b.middleware(onReplies));
    broker.subscriber(channel("ping")).handle(String.class, (s, ctx) -> Response.of(s + " pong").header("x-by", "p"));

    assertThat(broker.request("a", channel("ping"), Map.of("correlation_id", "c-1"), String.class, LONG))
        .isEqualTo("a pong!");
    assertThat(broker.requestMessage("b", channel("ping"), Map.of("correlation_id", "c-2"), String.class, LONG).payload())
        .isEqualTo("b pong!");
    assertThat(broker.requestAsync("c", channel("ping"), Map.of("correlation_id", "c-3"), String.class, LONG).join())
        .isEqualTo("c pong!");
    assertThat(seen).containsExactly("p c-1 a pong", "p c-2 b pong", "p c-3 c pong");
  }

  /** Doubles a String payload on the way in, whether a request at its subscriber or the reply at its requester. */
  private static final Middleware DOUBLE = new Middleware() {
    @Override
    public Object consume(ConsumeChain chain) throws Exception {
      return chain.payload() instanceof String s ? chain.proceed(s + s) : chain.proceed();
    }
  };

  /** FastStream's test_broker_request_respect_middleware and test_broker_publisher_request_respect_middleware. */
  @Test
  void theBrokersMiddlewaresRunOnTheRequestAndOnItsReply() {
    RedisBroker broker = started(b -> b.middleware(DOUBLE));
    broker.subscriber(channel("echo")).handle(String.class, (s, ctx) -> s);
    assertThat(broker.request("x", channel("echo"), String.class, LONG)).isEqualTo("xxxx");
    assertThat(broker.publisher(channel("echo")).request("x", String.class, LONG)).isEqualTo("xxxx");
  }

  /** FastStream's test_router_publisher_request_respect_middleware and test_router_publisher_request. */
  @Test
  void aRoutersMiddlewaresRunOnTheReplyToItsPublishersRequests() {
    RedisBroker broker = started();
    Router router = Router.withPrefix("").middleware(DOUBLE);
    router.subscriber(channel("echo")).handle(String.class, (s, ctx) -> s);
    Publisher publisher = router.publisher(channel("echo"));
    broker.include(router);

    assertThat(publisher.request("x", String.class, LONG)).isEqualTo("xxxx");
    Message<String> reply = publisher.requestMessage("y", Map.of("correlation_id", "1"), String.class, LONG);
    assertThat(reply.payload()).isEqualTo("yyyy");
    assertThat(reply.correlationId()).isEqualTo("1");
    // the broker's own requests do not pass the router's middlewares, so only the subscriber doubles
    assertThat(broker.request("z", channel("echo"), String.class, LONG)).isEqualTo("zz");
  }

  @Test
  void aMiddlewareMayNotChangeTheReplysType() {
    Middleware onReplies = new Middleware() {
      @Override
      public Object consume(ConsumeChain chain) throws Exception {
        Object result = chain.proceed();
        return chain.subscription() == null && "typo".equals(result) ? Integer.valueOf(42) : result;
      }
    };
    RedisBroker broker = started(b -> b.middleware(onReplies));
    broker.subscriber(channel("typo")).handle(String.class, (s, ctx) -> "typo");

    assertThatThrownBy(() -> broker.request("x", channel("typo"), String.class, LONG))
        .isInstanceOf(BrookException.class)
        .hasMessageStartingWith("A middleware turned the reply to request ")
        .hasMessageEndingWith(" on channel:typo into a java.lang.Integer, but the caller asked for java.lang.String. "
            + "Pass a value of the asked type to chain.proceed(...), or return chain.proceed() unchanged.");
    assertThat(broker.request("x", channel("typo"), Object.class, LONG)).isEqualTo(42);
  }

  @Test
  void anExceptionMiddlewareLeavesAFailedRequestToItsCaller() {
    Middleware errors = ExceptionMiddleware.builder().reply(BrookException.class, (e, ctx) -> "mapped").build();
    RedisBroker broker = started(b -> b.middleware(errors));
    broker.subscriber(channel("fails")).handle(String.class, (s, ctx) -> {
      throw new IllegalStateException("no stock");
    });
    // on Redis the error reply's RemoteHandlerException, in memory the handler's own exception
    assertThatThrownBy(() -> broker.request("x", channel("fails"), String.class, LONG))
        .hasMessageContaining("no stock");
  }

  @Test
  void aRequestWithAClosedBrokerFailsAtOnce() {
    RedisBroker broker = started();
    broker.close();
    assertThatThrownBy(() -> broker.request("x", channel("any"), Map.of(), String.class, LONG))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("it is closed. A closed broker cannot be reused; create a new one.");
    assertThatThrownBy(() -> broker.requestMessageAsync("x", channel("any"), Map.of(), String.class, LONG))
        .isInstanceOf(IllegalStateException.class);
  }

  @Test
  void aStoppedBrokersSubscribersDoNotAnswerUntilItStartsAgain() {
    RedisBroker broker = started();
    broker.subscriber(channel("svc")).handle(String.class, (s, ctx) -> s + "-ok");
    assertThat(broker.request("1", channel("svc"), String.class, LONG)).isEqualTo("1-ok");
    broker.stop();
    assertThatThrownBy(() -> broker.request("2", channel("svc"), Map.of(), String.class, SHORT))
        .isInstanceOf(RequestTimeoutException.class);
    broker.start();
    assertThat(broker.request("3", channel("svc"), Map.of(), String.class, LONG)).isEqualTo("3-ok");
  }
}
