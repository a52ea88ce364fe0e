package dev.brook.tests.behaviour;

import static dev.brook.redis.Redis.channel;
import static dev.brook.redis.Redis.list;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import dev.brook.ExceptionMiddleware;
import dev.brook.Header;
import dev.brook.Middleware;
import dev.brook.PublishCommand;
import dev.brook.Router;
import dev.brook.Subscribe;
import dev.brook.Subscription;
import dev.brook.redis.RedisBroker;
import dev.brook.tests.Calls;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

/** The consume and publish scopes: order broker → router → subscription, short-circuit, retry, the built-ins. */
abstract class MiddlewareBehaviour extends Behaviour {

  private static final Duration LONG = Duration.ofSeconds(10);

  MiddlewareBehaviour(Backend backend) {
    super(backend);
  }

  /** Records "name:before", "name:after" around consume of channel "in" and "name:publish" in the publish scope. */
  static final class Tracing implements Middleware {
    final String name;
    final List<String> events;

    Tracing(String name, List<String> events) {
      this.name = name;
      this.events = events;
    }

    @Override
    public Object consume(ConsumeChain chain) throws Exception {
      if (!chain.context().channel().equals("in")) {
        return chain.proceed();
      }
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
  void theOrderIsBrokerThenRouterThenSubscriptionForConsumingAndForPublishingTheResult() {
    List<String> events = new CopyOnWriteArrayList<>();
    RedisBroker broker = backend.broker(b -> b.middleware(new Tracing("broker", events)));
    broker.middleware(new Tracing("broker2", events));
    Router outer = Router.withPrefix("").middleware(new Tracing("outer", events));
    Router inner = Router.withPrefix("").middleware(new Tracing("inner", events));
    inner.subscriber(channel("in")).middleware(new Tracing("sub", events)).publishTo(channel("out"))
        .handle(String.class, (s, ctx) -> {
          events.add("handler " + s);
          return s.toUpperCase();
        });
    outer.include(inner);
    Calls<String> out = new Calls<>();
    broker.subscriber(channel("out")).handle(String.class, out);
    broker.include(outer);
    backend.start(broker);

    broker.publish("x", channel("in"));
    var received = out.awaitOne();

    assertThat(received.payload()).isEqualTo("X");
    assertThat(received.context().headers()).containsKeys("x-broker", "x-broker2", "x-outer", "x-inner", "x-sub");
    assertThat(events).containsExactly(
        "broker:publish channel:in", "broker2:publish channel:in",           // broker.publish: the broker's only
        "broker:before x", "broker2:before x", "outer:before x", "inner:before x", "sub:before x",
        "handler x",
        "sub:after X", "inner:after X", "outer:after X", "broker2:after X", "broker:after X",
        "broker:publish channel:out", "broker2:publish channel:out", "outer:publish channel:out", "inner:publish channel:out",
        "sub:publish channel:out");
  }

  @Test
  void aMiddlewareCanShortCircuitAndItsValueIsPublishedAndReplied() {
    RedisBroker broker = started();
    AtomicInteger handlerCalls = new AtomicInteger();
    Middleware cache = new Middleware() {
      @Override
      public Object consume(ConsumeChain chain) throws Exception {
        return chain.payload().equals("cached") ? "from cache" : chain.proceed();
      }
    };
    Calls<String> out = new Calls<>();
    broker.subscriber(channel("out")).handle(String.class, out);
    Subscription sub = broker.subscriber(channel("in")).middleware(cache).publishTo(channel("out")).handle(String.class, (s, ctx) -> {
      handlerCalls.incrementAndGet();
      return "computed";
    });
    broker.publish("cached", channel("in"));
    assertThat(out.awaitOne().payload()).isEqualTo("from cache");
    assertThat(handlerCalls).hasValue(0);
    // the result is published before the settlement link counts the message
    eventually().until(() -> sub.metrics().handled() == 1);
    assertThat(broker.request("cached", channel("in"), String.class, LONG)).isEqualTo("from cache");
    assertThat(broker.request("fresh", channel("in"), String.class, LONG)).isEqualTo("computed");
    assertThat(handlerCalls).hasValue(1);
  }

  @Test
  void aMiddlewareSeesTheExceptionAndCanRetryWithAnotherPayload() {
    RedisBroker broker = started();
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
    assertThat(broker.request("job", channel("flaky"), String.class, LONG)).isEqualTo("job (retried)");
    assertThat(seen).containsExactly("caught first attempt fails", "handled job (retried)");
  }

  @Test
  void aBrokerMiddlewareAddedLaterReachesRunningSubscriptions() {
    RedisBroker broker = started();
    Calls<String> calls = new Calls<>();
    broker.subscriber(channel("a")).handle(String.class, calls);
    broker.publish("before", channel("a"));
    calls.awaitOne();
    broker.middleware(new Middleware() {
      @Override
      public Object consume(ConsumeChain chain) throws Exception {
        return chain.proceed(chain.payload() + "!");
      }
    });
    broker.publish("after", channel("a"));
    assertThat(calls.await(2).get(1).payload()).isEqualTo("after!");
  }

  @Test
  void thePublishScopeChangesHeadersAndPayloadButNotTheDestination() {
    RedisBroker broker = started(b -> b.middleware(new Middleware() {
      @Override
      public CompletableFuture<Void> publish(PublishChain chain) {
        PublishCommand c = chain.command();
        if (c.destination().equals(channel("here"))) {
          return chain.proceed(new PublishCommand(c.payload(), channel("elsewhere"), c.headers()));
        }
        return chain.proceed(c.withPayload("[" + c.payload() + "]").withHeader("signed", "yes"));
      }
    }));
    broker.publish("a", list("signed"));
    assertThat(backend.list("signed")).singleElement().satisfies(item -> {
      assertThat(item.text()).isEqualTo("[a]");
      assertThat(item.header("signed")).isEqualTo("yes");
    });
    assertThatThrownBy(() -> broker.publish("a", channel("here"))).isInstanceOf(IllegalArgumentException.class)
        .hasMessage("A publish middleware changed the destination from channel:here to channel:elsewhere; middlewares may "
            + "change headers and payload only. Publish to the other destination yourself if you need both.");
  }

  @Test
  void exceptionMiddlewareMapsToAReplyOrASettlementAndOnlyUnmappedFailuresAreErrors() {
    RedisBroker broker = started(b -> b.middleware(ExceptionMiddleware.builder()
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
      broker.subscriber(list("work").consumer("c").deadLetter()).handle(String.class, (s, ctx) -> {
        switch (s) {
          case "poison" -> throw new IllegalStateException("poison");
          case "later" -> {
            if (nacks.incrementAndGet() == 1) {
              throw new UnsupportedOperationException("not yet");
            }
            return null;
          }
          case "done" -> throw new ArithmeticException("done anyway");
          default -> throw new RuntimeException("unmapped");
        }
      });

      assertThat(broker.request("x", channel("calc"), String.class, LONG)).isEqualTo("error: not a number: x");
      broker.publish("poison", list("work"));
      broker.publish("later", list("work"));
      broker.publish("done", list("work"));
      backend.despiteFailures(() -> broker.publish("other", list("work")));
      backend.pass(java.time.Duration.ofMillis(100)); // "later" comes back after its back-off
      eventually().until(() -> backend.list("{work}:dlq").size() == 2 && nacks.get() == 2);
      eventually().until(() -> backend.list("{work}:processing:c").isEmpty());
      assertThat(backend.list("{work}:dlq")).extracting(item -> item.header("x-error"))
          .containsExactlyInAnyOrder("java.lang.IllegalStateException: poison", "java.lang.RuntimeException: unmapped");
      eventually().until(() -> log.list.stream().anyMatch(e -> e.getLevel() == Level.ERROR));
      assertThat(log.list.stream().filter(e -> e.getLevel() == Level.ERROR).map(ILoggingEvent::getFormattedMessage))
          .singleElement().asString().startsWith("Handler of subscription 'list:work' failed on message ");
    } finally {
      subscriptionLog.detachAppender(log);
    }
  }

  static class NeedsACount {
    final List<Integer> counts = new CopyOnWriteArrayList<>();

    @Subscribe(channel = "counted")
    void onCount(@Header("count") int count) {
      counts.add(count);
    }
  }

  @Test
  void badInputPassesThroughAnExceptionMiddlewareThatMapsEverything() {
    RedisBroker broker = started(b -> b.middleware(ExceptionMiddleware.builder()
        .reply(RuntimeException.class, (e, ctx) -> "swallowed")
        .build()));
    NeedsACount handler = new NeedsACount();
    List<Subscription> subs = broker.include(handler);
    backend.despiteFailures(() -> broker.publish("x", channel("counted"), Map.of("count", "many")));
    broker.publish("x", channel("counted"), Map.of("count", "2"));
    eventually().until(() -> handler.counts.contains(2));
    assertThat(subs.get(0).metrics().decodeErrors()).isEqualTo(1);
    assertThat(subs.get(0).metrics().handled()).isEqualTo(1);
    assertThat(handler.counts).containsExactly(2);
  }

  @Test
  void theAccessLogWritesOneDebugLinePerMessage() {
    ListAppender<ILoggingEvent> log = new ListAppender<>();
    log.start();
    Logger access = (Logger) LoggerFactory.getLogger("dev.brook.access");
    Level before = access.getLevel();
    access.setLevel(Level.DEBUG);
    access.addAppender(log);
    try {
      RedisBroker broker = started();
      broker.subscriber(channel("logged")).handle(String.class, (s, ctx) -> {
        if (s.equals("boom")) {
          throw new IllegalStateException("boom");
        }
        return null;
      });
      broker.publish("fine", channel("logged"), Map.of("correlation_id", "m-1"));
      backend.despiteFailures(() -> broker.publish("boom", channel("logged"), Map.of("correlation_id", "m-2")));
      eventually().until(() -> log.list.size() >= 2);

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

  @Test
  void theAccessLogCanBeTurnedOff() {
    ListAppender<ILoggingEvent> log = new ListAppender<>();
    log.start();
    Logger access = (Logger) LoggerFactory.getLogger("dev.brook.access");
    Level before = access.getLevel();
    access.setLevel(Level.DEBUG);
    access.addAppender(log);
    try {
      RedisBroker quiet = started(b -> b.accessLog(false));
      Calls<String> calls = new Calls<>();
      quiet.subscriber(channel("quiet")).handle(String.class, calls);
      quiet.publish("q", channel("quiet"));
      calls.awaitOne();
      assertThat(log.list).isEmpty();
    } finally {
      access.detachAppender(log);
      access.setLevel(before);
    }
  }

  @Test
  void exceptionMiddlewareRejectsATypeMappedTwice() {
    assertThatThrownBy(() -> ExceptionMiddleware.builder().ack(IllegalStateException.class).nack(IllegalStateException.class))
        .isInstanceOf(IllegalStateException.class)
        .hasMessage("java.lang.IllegalStateException is already mapped to ack; map each exception type once.");
  }
}
