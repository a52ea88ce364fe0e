package dev.brook.tests;

import static dev.brook.redis.Redis.channel;
import static dev.brook.redis.Redis.list;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import dev.brook.ExceptionMiddleware;
import dev.brook.Middleware;
import dev.brook.PublishCommand;
import dev.brook.Router;
import dev.brook.Subscription;
import dev.brook.redis.RedisBroker;
import dev.brook.redis.internal.Envelope;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

/** The consume and publish scopes: order broker → router → subscription, short-circuit, built-ins. */
class MiddlewareTest extends RedisTestBase {

  /** Records "name:before", "name:after" around consume and "name:publish" in the publish scope. */
  static final class Tracing implements Middleware {
    final String name;
    final List<String> events;

    Tracing(String name, List<String> events) {
      this.name = name;
      this.events = events;
    }

    @Override
    public Object consume(ConsumeChain chain) throws Exception {
      events.add(name + ":before " + chain.payload());
      try {
        Object result = chain.proceed();
        events.add(name + ":after " + result);
        return result;
      } catch (Exception e) {
        events.add(name + ":threw " + e.getMessage());
        throw e;
      }
    }

    @Override
    public CompletableFuture<Void> publish(PublishChain chain) {
      events.add(name + ":publish " + chain.command().destination().key());
      return chain.proceed(chain.command().withHeader("x-" + name, "1"));
    }
  }

  @Test
  void orderIsBrokerThenRouterThenSubscriptionForConsumeAndForPublishingTheResult() {
    List<String> events = new CopyOnWriteArrayList<>();
    RedisBroker broker = broker(b -> b.middleware(new Tracing("broker", events)));
    broker.middleware(new Tracing("broker2", events));
    Router outer = Router.withPrefix("").middleware(new Tracing("outer", events));
    Router inner = Router.withPrefix("").middleware(new Tracing("inner", events));
    inner.subscriber(channel("in")).middleware(new Tracing("sub", events)).publishTo(channel("out"))
        .handle(String.class, (s, ctx) -> {
          events.add("handler " + s);
          return s.toUpperCase();
        });
    outer.include(inner);
    Recorder<String> out = new Recorder<>();
    RedisBroker receiver = broker(); // no middlewares: its events would interleave
    receiver.subscriber(channel("out")).handle(String.class, out);
    receiver.start();
    broker.include(outer);
    broker.start();

    broker.publishAsync("x", channel("in"));
    var received = out.awaitOne();

    assertThat(received.payload()).isEqualTo("X");
    assertThat(received.context().headers()).containsKeys("x-broker", "x-broker2", "x-outer", "x-inner", "x-sub");
    assertThat(events).containsExactly(
        "broker:publish channel:in", "broker2:publish channel:in",           // broker.publishAsync: the broker's only
        "broker:before x", "broker2:before x", "outer:before x", "inner:before x", "sub:before x",
        "handler x",
        "sub:after X", "inner:after X", "outer:after X", "broker2:after X", "broker:after X",
        "broker:publish channel:out", "broker2:publish channel:out", "outer:publish channel:out", "inner:publish channel:out",
        "sub:publish channel:out");
  }

  @Test
  void aMiddlewareCanShortCircuitAndItsValueIsPublished() {
    RedisBroker broker = broker();
    AtomicInteger handlerCalls = new AtomicInteger();
    Middleware cache = new Middleware() {
      @Override
      public Object consume(ConsumeChain chain) throws Exception {
        return chain.payload().equals("cached") ? "from cache" : chain.proceed();
      }
    };
    Recorder<String> out = new Recorder<>();
    broker.subscriber(channel("out")).handle(String.class, out);
    Subscription sub = broker.subscriber(channel("in")).middleware(cache).publishTo(channel("out")).handle(String.class, (s, ctx) -> {
      handlerCalls.incrementAndGet();
      return "computed";
    });
    broker.start();
    broker.publish("cached", channel("in"));
    assertThat(out.awaitOne().payload()).isEqualTo("from cache");
    assertThat(handlerCalls).hasValue(0);
    assertThat(sub.metrics().handled()).isEqualTo(1);
    assertThat(broker.request("cached", channel("in"), String.class, Duration.ofSeconds(10))).isEqualTo("from cache");
  }

  @Test
  void aMiddlewareSeesTheExceptionAndCanReplaceThePayloadAndRetry() {
    RedisBroker broker = broker();
    List<String> seen = new CopyOnWriteArrayList<>();
    Middleware retryOnce = new Middleware() {
      @Override
      public Object consume(ConsumeChain chain) throws Exception {
        try {
          return chain.proceed();
        } catch (IllegalStateException e) {
          seen.add("caught " + e.getMessage());
          return chain.proceed(chain.payload() + " (retried)");
        }
      }
    };
    AtomicInteger attempts = new AtomicInteger();
    broker.subscriber(channel("flaky")).middleware(retryOnce).handle(String.class, (s, ctx) -> {
      if (attempts.incrementAndGet() == 1) {
        throw new IllegalStateException("first attempt fails");
      }
      seen.add("handled " + s);
      return s;
    });
    broker.start();
    assertThat(broker.request("job", channel("flaky"), String.class, Duration.ofSeconds(10))).isEqualTo("job (retried)");
    assertThat(seen).containsExactly("caught first attempt fails", "handled job (retried)");
  }

  @Test
  void aBrokerMiddlewareAddedLaterReachesRunningSubscriptions() {
    RedisBroker broker = broker();
    Recorder<String> recorder = new Recorder<>();
    broker.subscriber(channel("a")).handle(String.class, recorder);
    broker.start();
    broker.publish("before", channel("a"));
    recorder.awaitOne();
    broker.middleware(new Middleware() {
      @Override
      public Object consume(ConsumeChain chain) throws Exception {
        return chain.proceed(chain.payload() + "!");
      }
    });
    broker.publish("after", channel("a"));
    assertThat(recorder.awaitCount(2).get(1).payload()).isEqualTo("after!");
  }

  @Test
  void thePublishScopeChangesHeadersAndPayloadButNotTheDestination() {
    RedisBroker broker = broker(b -> b.middleware(new Middleware() {
      @Override
      public CompletableFuture<Void> publish(PublishChain chain) {
        PublishCommand c = chain.command();
        return chain.proceed(c.withPayload("[" + c.payload() + "]").withHeader("signed", "yes"));
      }
    }));
    broker.publish("a", list("signed"));
    var frame = Envelope.decode(raw().sync().lpop(utf8("signed")));
    assertThat(new String(frame.payload())).isEqualTo("[a]");
    assertThat(frame.header("signed")).isEqualTo("yes");

    RedisBroker redirecting = broker(b -> b.middleware(new Middleware() {
      @Override
      public CompletableFuture<Void> publish(PublishChain chain) {
        PublishCommand c = chain.command();
        return chain.proceed(new PublishCommand(c.payload(), channel("elsewhere"), c.headers()));
      }
    }));
    assertThatThrownBy(() -> redirecting.publish("a", channel("here"))).isInstanceOf(IllegalArgumentException.class)
        .hasMessage("A publish middleware changed the destination from channel:here to channel:elsewhere; middlewares may "
            + "change headers and payload only. Publish to the other destination yourself if you need both.");
  }

  @Test
  void exceptionMiddlewareMapsToAReplyOrASettlement() {
    RedisBroker broker = broker(b -> b.middleware(ExceptionMiddleware.builder()
        .reply(IllegalArgumentException.class, (e, ctx) -> "error: " + e.getMessage())
        .reject(IllegalStateException.class)
        .nack(UnsupportedOperationException.class)
        .ack(ArithmeticException.class)
        .build()));
    ListAppender<ILoggingEvent> log = new ListAppender<>();
    log.start();
    Logger subscriptionLog = (Logger) LoggerFactory.getLogger("dev.brook.Subscription");
    subscriptionLog.addAppender(log);
    try {
      AtomicInteger nacks = new AtomicInteger();
      broker.subscriber(channel("calc")).handle(String.class, (s, ctx) -> {
        throw new NumberFormatException("not a number: " + s); // an IllegalArgumentException: the most specific mapping
      });
      broker.subscriber(list("work").deadLetter()).handle(String.class, (s, ctx) -> {
        switch (s) {
          case "poison" -> throw new IllegalStateException("poison");
          case "later" -> {
            if (nacks.incrementAndGet() == 1) throw new UnsupportedOperationException("not yet");
            return null;
          }
          case "done" -> throw new ArithmeticException("done anyway");
          default -> throw new RuntimeException("unmapped");
        }
      });
      broker.start();

      assertThat(broker.request("x", channel("calc"), String.class, Duration.ofSeconds(10))).isEqualTo("error: not a number: x");
      broker.publish("poison", list("work"));
      broker.publish("later", list("work"));
      broker.publish("done", list("work"));
      broker.publish("other", list("work"));
      await().atMost(Duration.ofSeconds(10)).until(() -> (Long) redis.command("LLEN", "{work}:dlq") == 2);
      await().atMost(Duration.ofSeconds(10)).until(() -> nacks.get() == 2);
      List<String> reasons = raw().sync().lrange(utf8("{work}:dlq"), 0, -1).stream()
          .map(b -> Envelope.decode(b).header("x-error")).toList();
      assertThat(reasons).containsExactlyInAnyOrder("java.lang.IllegalStateException: poison", "java.lang.RuntimeException: unmapped");
      // Only the unmapped exception is an ERROR line; mapped ones are handled, not failures.
      await().atMost(Duration.ofSeconds(5)).until(() -> log.list.stream().anyMatch(e -> e.getLevel() == Level.ERROR));
      assertThat(log.list.stream().filter(e -> e.getLevel() == Level.ERROR).map(ILoggingEvent::getFormattedMessage))
          .singleElement().asString().startsWith("Handler of subscription 'list:work' failed on message ");
    } finally {
      subscriptionLog.detachAppender(log);
    }
  }

  static class NeedsACount {
    static final List<Integer> COUNTS = new CopyOnWriteArrayList<>();

    @dev.brook.Subscribe(channel = "counted")
    void onCount(@dev.brook.Header("count") int count) {
      COUNTS.add(count);
    }
  }

  @Test
  void badInputPassesThroughAnExceptionMiddlewareThatMapsEverything() {
    RedisBroker broker = broker(b -> b.middleware(ExceptionMiddleware.builder()
        .reply(RuntimeException.class, (e, ctx) -> "swallowed")
        .build()));
    List<Subscription> subs = broker.include(new NeedsACount());
    broker.start();
    broker.publish("x", channel("counted"), Map.of("count", "many"));
    broker.publish("x", channel("counted"), Map.of("count", "2"));
    await().atMost(Duration.ofSeconds(10)).until(() -> NeedsACount.COUNTS.contains(2));
    assertThat(subs.get(0).metrics().decodeErrors()).isEqualTo(1);
    assertThat(subs.get(0).metrics().handled()).isEqualTo(1);
  }

  @Test
  void exceptionMiddlewareRejectsATypeMappedTwice() {
    assertThatThrownBy(() -> ExceptionMiddleware.builder().ack(IllegalStateException.class).nack(IllegalStateException.class))
        .isInstanceOf(IllegalStateException.class)
        .hasMessage("java.lang.IllegalStateException is already mapped to ack; map each exception type once.");
  }

  @Test
  void theAccessLogWritesOneDebugLinePerMessageAndCanBeTurnedOff() {
    ListAppender<ILoggingEvent> log = new ListAppender<>();
    log.start();
    Logger access = (Logger) LoggerFactory.getLogger("dev.brook.access");
    Level before = access.getLevel();
    access.setLevel(Level.DEBUG);
    access.addAppender(log);
    try {
      RedisBroker broker = broker();
      broker.subscriber(channel("logged")).handle(String.class, (s, ctx) -> {
        if (s.equals("boom")) throw new IllegalStateException("boom");
        return null;
      });
      RedisBroker quiet = broker(b -> b.accessLog(false));
      Recorder<String> quietRecorder = new Recorder<>();
      quiet.subscriber(channel("quiet")).handle(String.class, quietRecorder);
      broker.start();
      quiet.start();

      broker.publish("fine", channel("logged"), Map.of("correlation_id", "m-1"));
      broker.publish("boom", channel("logged"), Map.of("correlation_id", "m-2"));
      quiet.publish("q", channel("quiet"));
      quietRecorder.awaitOne();
      await().atMost(Duration.ofSeconds(5)).until(() -> log.list.size() >= 2);

      assertThat(log.list).allMatch(e -> e.getLevel() == Level.DEBUG);
      List<String> lines = log.list.stream().map(ILoggingEvent::getFormattedMessage).toList();
      assertThat(lines).hasSize(2);
      assertThat(lines.get(0)).matches("channel:logged message m-1 from logged: handled in \\d+\\.\\d{3} ms");
      assertThat(lines.get(1)).matches(
          "channel:logged message m-2 from logged: failed: java.lang.IllegalStateException: boom in \\d+\\.\\d{3} ms");
    } finally {
      access.detachAppender(log);
      access.setLevel(before);
    }
  }
}
