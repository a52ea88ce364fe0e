package dev.brook.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static dev.brook.internal.Soon.soon;

import dev.brook.DuplicatePolicy;
import dev.brook.Middleware;
import dev.brook.Router;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The consume chain: {@link MiddlewareStack} puts Brook's links, the broker's, the routers' and the
 * subscription's middlewares in order, and {@link DefaultMessageContext} walks them to the handler
 * (retries and payload replacement included). Runs a real engine on a {@link FakeTransport}.
 */
class MiddlewareChainTest {

  private final FakeTransport transport = new FakeTransport();
  private final BrokerEngine engine =
      new BrokerEngine(transport, new Codec(Codec.defaultMapper()), Duration.ofSeconds(5), DuplicatePolicy.REPLACE, 100);
  private final TestInbound.Factory messages = new TestInbound.Factory();
  private final List<String> events = new CopyOnWriteArrayList<>();

  @AfterEach
  void close() {
    engine.close();
  }

  /** Records "NAME before" and "NAME after" around the rest of the chain. */
  private Middleware around(String name) {
    return new Middleware() {
      @Override
      public Object consume(ConsumeChain chain) throws Exception {
        events.add(name + " before");
        try {
          return chain.proceed();
        } finally {
          events.add(name + " after");
        }
      }
    };
  }

  /** Delivers one text message to channel {@code name} and waits until the subscription is done with it. */
  private void deliver(String channel, String payload) {
    transport.deliver("channel:" + channel, messages.withFrame(payload, TestInbound.text(payload)));
    soon().until(() -> messages.log.contains("processed " + payload));
  }

  @Test
  void theStackIsHeadThenTheBrokersThenTheTailAndIsRebuiltOnlyWhenTheBrokersChange() {
    Middleware head = around("head");
    Middleware tail = around("tail");
    Middleware b1 = around("b1");
    Middleware b2 = around("b2");
    MiddlewareStack stack = new MiddlewareStack(new Middleware[] {head}, List.of(tail));

    Middleware[] broker = {b1};
    Middleware[] all = stack.with(broker);
    assertThat(all).containsExactly(head, b1, tail);
    assertThat(stack.with(broker)).as("cached while the broker's array is the same").isSameAs(all);
    assertThat(stack.with(new Middleware[] {b1, b2})).containsExactly(head, b1, b2, tail);
    assertThat(stack.with(MiddlewareStack.NONE)).containsExactly(head, tail);
    assertThat(stack.tail()).containsExactly(tail);
  }

  @Test
  void aMessagePassesTheBrokerThenTheOuterRouterThenTheInnerRouterThenTheSubscription() {
    engine.middleware(around("broker"));
    Router outer = Router.withPrefix("").middleware(around("outer router"));
    Router inner = Router.withPrefix("").middleware(around("inner router"));
    inner.subscriber(FakeTransport.Target.channel("orders")).middleware(around("subscription"))
        .handle(String.class, (s, ctx) -> {
          events.add("handler " + s);
          return null;
        });
    outer.include(inner);
    engine.include(outer);
    engine.start(this);

    deliver("orders", "o1");

    assertThat(events).containsExactly("broker before", "outer router before", "inner router before",
        "subscription before", "handler o1", "subscription after", "inner router after", "outer router after",
        "broker after");
    assertThat(messages.log).containsExactly("ack o1", "processed o1");
  }

  @Test
  void aBrokerMiddlewareAddedOrRemovedWhileRunningAppliesFromTheNextMessage() {
    engine.subscriber(FakeTransport.Target.channel("c")).handle(String.class, (s, ctx) -> {
      events.add("handler " + s);
      return null;
    });
    engine.start(this);
    deliver("c", "m1");
    Middleware late = around("late");
    engine.middleware(late);
    deliver("c", "m2");
    engine.removeMiddleware(late);
    deliver("c", "m3");

    assertThat(events).containsExactly("handler m1", "late before", "handler m2", "late after", "handler m3");
  }

  @Test
  void proceedingTwiceRunsTheRestOfTheChainAgainAndTheMessageIsSettledOnce() {
    AtomicInteger attempts = new AtomicInteger();
    engine.middleware(around("broker"));
    Middleware retry = new Middleware() {
      @Override
      public Object consume(ConsumeChain chain) throws Exception {
        try {
          return chain.proceed();
        } catch (IllegalStateException first) {
          events.add("retry after " + first.getMessage());
          return chain.proceed();
        }
      }
    };
    engine.subscriber(FakeTransport.Target.channel("c")).middleware(retry, around("inner"))
        .handle(String.class, (s, ctx) -> {
          if (attempts.incrementAndGet() == 1) {
            throw new IllegalStateException("attempt 1");
          }
          events.add("handler " + s);
          return null;
        });
    engine.start(this);

    deliver("c", "m");

    assertThat(events).containsExactly("broker before", "inner before", "inner after", "retry after attempt 1",
        "inner before", "handler m", "inner after", "broker after");
    assertThat(attempts).hasValue(2);
    assertThat(messages.log).containsExactly("ack m", "processed m");
  }

  @Test
  void aReplacedPayloadIsSeenByTheRestOfTheChainOnlyAndTheOriginalIsBackAfterwards() {
    Middleware outer = new Middleware() {
      @Override
      public Object consume(ConsumeChain chain) throws Exception {
        events.add("outer sees " + chain.payload());
        Object result = chain.proceed();
        events.add("outer afterwards sees " + chain.payload());
        return result;
      }
    };
    Middleware upper = new Middleware() {
      @Override
      public Object consume(ConsumeChain chain) throws Exception {
        Object result = chain.proceed(((String) chain.payload()).toUpperCase());
        events.add("upper afterwards sees " + chain.payload());
        return result;
      }
    };
    Middleware inner = new Middleware() {
      @Override
      public Object consume(ConsumeChain chain) throws Exception {
        events.add("inner sees " + chain.payload());
        return chain.proceed();
      }
    };
    engine.subscriber(FakeTransport.Target.channel("c")).middleware(outer, upper, inner)
        .handle(String.class, (s, ctx) -> {
          events.add("handler " + s);
          return null;
        });
    engine.start(this);

    deliver("c", "hello");

    assertThat(events).containsExactly("outer sees hello", "inner sees HELLO", "handler HELLO",
        "upper afterwards sees hello", "outer afterwards sees hello");
  }
}
