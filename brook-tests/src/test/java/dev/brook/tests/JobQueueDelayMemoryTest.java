package dev.brook.tests;

import static dev.brook.redis.Redis.list;
import static dev.brook.redis.Redis.stream;
import static org.assertj.core.api.Assertions.assertThat;

import dev.brook.Destination;
import dev.brook.PublishOptions;
import dev.brook.PublishResult;
import dev.brook.redis.RedisBroker;
import dev.brook.testing.TestRedisBroker;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Delays and dedup keys on {@link TestRedisBroker}: the manual clock decides when a job comes. */
class JobQueueDelayMemoryTest {

  @ParameterizedTest
  @ValueSource(strings = {"list", "stream"})
  void delayedJobsComeWhenTheClockReachesThemInOrder(String kind) throws Exception {
    try (RedisBroker broker = RedisBroker.create("redis://127.0.0.1:1");
        TestRedisBroker test = TestRedisBroker.of(broker)) {
      Destination d = kind.equals("list") ? list("jobs") : stream("jobs").group("g");
      List<String> got = Collections.synchronizedList(new ArrayList<>());
      broker.subscriber(d).handle(String.class, (s, ctx) -> {
        got.add(s);
        return null;
      });
      broker.publish("b", d, PublishOptions.delay(Duration.ofSeconds(10)));
      broker.publish("c", d, PublishOptions.delay(Duration.ofSeconds(10)));
      broker.publish("a", d, PublishOptions.delay(Duration.ofSeconds(5)));
      broker.publish("now", d, PublishOptions.delay(Duration.ZERO));
      assertThat(got).containsExactly("now");
      test.advance(Duration.ofMillis(4_999));
      assertThat(got).containsExactly("now");
      test.advance(Duration.ofMillis(1));
      assertThat(got).containsExactly("now", "a");
      test.advance(Duration.ofSeconds(5));
      assertThat(got).containsExactly("now", "a", "b", "c");
    }
  }

  @ParameterizedTest
  @ValueSource(strings = {"list", "stream"})
  void aDedupKeyHoldsForItsTtlOnTheManualClock(String kind) throws Exception {
    try (RedisBroker broker = RedisBroker.create("redis://127.0.0.1:1");
        TestRedisBroker test = TestRedisBroker.of(broker)) {
      Destination d = kind.equals("list") ? list("jobs") : stream("jobs").group("g");
      List<String> got = Collections.synchronizedList(new ArrayList<>());
      broker.subscriber(d).handle(String.class, (s, ctx) -> {
        got.add(s);
        return null;
      });
      PublishOptions once = PublishOptions.dedupKey("k", Duration.ofMinutes(1));
      assertThat(broker.publish("1", d, once)).isEqualTo(PublishResult.PUBLISHED);
      assertThat(broker.publish("2", d, once)).isEqualTo(PublishResult.DUPLICATE);
      test.advance(Duration.ofMinutes(1));
      assertThat(broker.publish("3", d, once)).isEqualTo(PublishResult.PUBLISHED);
      assertThat(got).containsExactly("1", "3");
    }
  }
}
