package dev.brook.testing;

import static dev.brook.redis.Redis.channel;
import static dev.brook.redis.Redis.list;
import static dev.brook.redis.Redis.pattern;
import static dev.brook.redis.Redis.stream;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.brook.AckPolicy;
import dev.brook.Subscription;
import dev.brook.redis.RedisBroker;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The in-memory broker itself: no redis-server anywhere in this class. */
class TestRedisBrokerTest {

  record Order(long id) {}

  record Receipt(long orderId) {}

  private static RedisBroker broker() {
    // Never connects: the test broker replaces the transport before anything talks to Redis.
    return RedisBroker.create("redis://127.0.0.1:1");
  }

  @Test
  void handlersRunAndResultsArePublishedSynchronously() {
    try (RedisBroker broker = broker()) {
      Subscription orders = broker.subscriber(channel("orders")).publishTo(channel("receipts"))
          .handle(Order.class, (o, ctx) -> new Receipt(o.id()));
      try (TestRedisBroker test = TestRedisBroker.of(broker)) {
        broker.publish(new Order(42), channel("orders"));
        assertThat(test.calls(orders)).extracting(TestRedisBroker.Call::payload).containsExactly(new Order(42));
        assertThat(test.published(channel("receipts"))).extracting(m -> m.as(Receipt.class)).containsExactly(new Receipt(42));
      }
    }
  }

  @Test
  void aHandlersExceptionIsRethrownToTheTest() {
    try (RedisBroker broker = broker()) {
      broker.subscriber(channel("x")).handle(String.class, (s, ctx) -> {
        throw new IllegalStateException("boom: " + s);
      });
      try (TestRedisBroker test = TestRedisBroker.of(broker)) {
        assertThatThrownBy(() -> broker.publish("m", channel("x"))).isInstanceOf(IllegalStateException.class).hasMessage("boom: m");
      }
    }
  }

  @Test
  void stoppedAndClosedSubscriptionsReceiveNothing() {
    try (RedisBroker broker = broker()) {
      Subscription stopped = broker.subscriber(channel("a")).id("stopped").handle(String.class, (s, c) -> null);
      Subscription closed = broker.subscriber(channel("a")).id("closed").handle(String.class, (s, c) -> null);
      Subscription live = broker.subscriber(channel("a")).id("live").handle(String.class, (s, c) -> null);
      try (TestRedisBroker test = TestRedisBroker.of(broker)) {
        stopped.stop();
        closed.close();
        broker.publish("m", channel("a"));
        assertThat(test.calls(stopped)).isEmpty();
        assertThat(test.calls(closed)).isEmpty();
        assertThat(test.calls(live)).hasSize(1);
        Subscription late = broker.subscriber(pattern("a*")).handle(String.class, (s, c) -> null);
        broker.publish("n", channel("ab"));
        assertThat(test.calls(late)).hasSize(1);
      }
      assertThat(stopped.state()).isEqualTo(Subscription.State.STOPPED);
    }
  }

  @Test
  void reliableListsRequeueAndDeadLetter() {
    try (RedisBroker broker = broker()) {
      broker.subscriber(list("jobs").deadLetter()).handle(String.class, (s, c) -> {
        if (s.equals("bad")) {
          throw new IllegalArgumentException("bad job");
        }
        return null;
      });
      try (TestRedisBroker test = TestRedisBroker.of(broker)) {
        broker.publish("good", list("jobs"));
        assertThatThrownBy(() -> broker.publish("bad", list("jobs"))).hasMessage("bad job");
        assertThat(test.list("{jobs}:dlq")).extracting(m -> m.header("x-error")).containsExactly("java.lang.IllegalArgumentException: bad job");
        assertThat(test.list("jobs")).isEmpty();
      }
    }
  }

  /** Not a Redis destination: the in-memory Redis finds a destination's kind by its class, as RedisBroker does. */
  record Elsewhere(String name) implements dev.brook.Destination {
    @Override
    public String key() {
      return "elsewhere:" + name;
    }

    @Override
    public dev.brook.Destination withName(String name) {
      return new Elsewhere(name);
    }
  }

  @Test
  void aDestinationOfAnotherBrokerIsRefusedInTheWordsOfRedisBroker() {
    try (RedisBroker broker = broker(); TestRedisBroker test = TestRedisBroker.of(broker)) {
      String fix = " (" + Elsewhere.class.getName() + "). Use a destination from dev.brook.redis.Redis: channel, "
          + "shardChannel, pattern, list or stream.";
      assertThatThrownBy(() -> broker.publish("m", new Elsewhere("x")))
          .hasMessage("RedisBroker cannot publish to elsewhere:x" + fix);
      assertThatThrownBy(() -> broker.subscriber(new Elsewhere("x")).handle(String.class, (m, c) -> null))
          .hasMessage("RedisBroker cannot subscribe to elsewhere:x" + fix);
      assertThat(broker.subscriptions()).isEmpty();
    }
  }

  @Test
  void closingRestoresTheBrokerForARealRedis() {
    try (RedisBroker broker = broker()) {
      Subscription s = broker.subscriber(channel("c")).handle(String.class, (m, c) -> null);
      try (TestRedisBroker test = TestRedisBroker.of(broker)) {
        broker.publish("m", channel("c"));
        assertThat(test.calls(s)).hasSize(1);
      }
      assertThat(s.state()).isEqualTo(Subscription.State.STOPPED);
      // Back on the real transport: with nothing on port 1, start fails like any broker's would.
      assertThatThrownBy(broker::start).hasMessageStartingWith("No Redis at redis://127.0.0.1:1 (connection refused)");
    }
  }

  @Test
  void maxDeliveriesWithTheClock() {
    try (RedisBroker broker = broker()) {
      broker.subscriber(stream("ev").group("g").consumer("c").minIdle(Duration.ofSeconds(30)).maxDeliveries(2))
          .ackPolicy(AckPolicy.NACK_ON_ERROR)
          .handle(String.class, (m, c) -> {
            throw new IllegalStateException("try " + c.deliveryCount());
          });
      try (TestRedisBroker test = TestRedisBroker.of(broker)) {
        assertThatThrownBy(() -> broker.publish("e", stream("ev"))).hasMessage("try 1");
        assertThat(test.pending("ev", "g")).containsValue(1L);
        test.advance(Duration.ofMillis(99)); // the back-off after the first attempt is 100 ms
        assertThat(test.pending("ev", "g")).containsValue(1L);
        assertThatThrownBy(() -> test.advance(Duration.ofMillis(1))).hasMessage("try 2"); // claimed again, not after minIdle
        // the second attempt was the last maxDeliveries 2 allows: dead-lettered at once
        assertThat(test.pending("ev", "g")).isEmpty();
        test.advance(Duration.ofSeconds(31));
        assertThat(test.stream("{ev}:dlq")).extracting(m -> m.header("x-error"))
            .containsExactly("failed 2 times (maxDeliveries 2); last error: java.lang.IllegalStateException: try 2");
        assertThat(test.stream("{ev}:dlq")).extracting(m -> m.as(String.class)).isEqualTo(List.of("e"));
      }
    }
  }

  @Test
  void asynchronousPublishesReturnAtOnceAndWaitForCallWaitsForWhatTheHandlerSetOff() throws Exception {
    try (RedisBroker broker = broker()) {
      java.util.concurrent.CountDownLatch published = new java.util.concurrent.CountDownLatch(1);
      Subscription orders = broker.subscriber(channel("orders")).publishTo(channel("receipts")).handle(Order.class, (o, ctx) -> {
        if (!published.await(5, java.util.concurrent.TimeUnit.SECONDS)) { // only when publish returned before the handler ran
          throw new IllegalStateException("publish waited for the handler");
        }
        Thread.sleep(50); // simulated work after the call was recorded
        return new Receipt(o.id());
      });
      try (TestRedisBroker test = TestRedisBroker.of(broker).asynchronous()) {
        broker.publish(new Order(1), channel("orders"));
        published.countDown();
        TestRedisBroker.Call call = test.waitForCall(orders, Duration.ofSeconds(5));
        assertThat(call.payload(Order.class)).isEqualTo(new Order(1));
        assertThat(test.published(channel("receipts"))).extracting(m -> m.as(Receipt.class)).containsExactly(new Receipt(1));
        assertThatThrownBy(() -> test.waitForCalls(orders, 2, Duration.ofMillis(100))).isInstanceOf(AssertionError.class)
            .hasMessage("Subscription 'channel:orders' was called 1 time(s) within PT0.1S, expected 2.");
      }
    }
  }

  @Test
  void commandPlaysAnotherRedisClientAndAnswersAsRedisDoes() {
    try (RedisBroker broker = broker()) {
      Subscription jobs = broker.subscriber(list("jobs")).handle(byte[].class, (b, ctx) -> null);
      try (TestRedisBroker test = TestRedisBroker.of(broker)) {
        assertThatThrownBy(() -> test.command("XGROUP", "CREATE", "ev", "g", "$"))
            .hasMessageContaining("requires the key to exist");
        assertThat(test.command("XGROUP", "CREATE", "ev", "g", "$", "MKSTREAM")).isEqualTo("OK");
        assertThatThrownBy(() -> test.command("XGROUP", "CREATE", "ev", "g", "$")).hasMessageStartingWith("BUSYGROUP");
        assertThat(test.command("XADD", "ev", "*", "data", "plain")).isInstanceOf(String.class);
        assertThat(test.stream("ev")).extracting(p -> new String(p.body())).containsExactly("plain");
        assertThat(test.command("RPUSH", "jobs", "raw")).isEqualTo(1L);
        assertThat(test.calls(jobs)).extracting(c -> new String((byte[]) c.payload())).containsExactly("raw");
        assertThat(test.command("PUBLISH", "nobody", "x")).isEqualTo(0L);
        assertThat(test.command("DEL", "ev", "missing")).isEqualTo(1L);
        assertThat(test.stream("ev")).isEmpty();
        assertThatThrownBy(() -> test.command("FLUSHALL")).isInstanceOf(IllegalArgumentException.class)
            .hasMessageContaining("does not run FLUSHALL").hasMessageContaining("Run the test on a RedisServer");
      }
    }
  }
}
