package dev.brook.tests;

import static dev.brook.redis.Redis.list;
import static dev.brook.redis.Redis.stream;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.brook.Destination;
import dev.brook.redis.DeadLetters;
import dev.brook.redis.MissedTicks;
import dev.brook.redis.RedisBroker;
import dev.brook.redis.Schedule;
import dev.brook.redis.ScheduleHandle;
import dev.brook.testing.TestRedisBroker;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Jobs on {@link TestRedisBroker}: dead letters (list, replay, purge) and schedules on the manual
 * clock work in memory as on Redis; {@code rateLimit} is a documented pass-through.
 */
class JobsMemoryTest {

  @ParameterizedTest
  @ValueSource(strings = {"list", "stream"})
  void deadLettersListReplayAndPurgeInMemory(String kind) {
    try (RedisBroker broker = RedisBroker.create("redis://127.0.0.1:1");
        TestRedisBroker test = TestRedisBroker.of(broker)) {
      Destination consumed = kind.equals("list") ? list("jobs").deadLetter() : stream("jobs").group("g");
      Destination plain = kind.equals("list") ? list("jobs") : stream("jobs");
      AtomicBoolean broken = new AtomicBoolean(true);
      List<String> good = Collections.synchronizedList(new ArrayList<>());
      List<Map<String, String>> headers = Collections.synchronizedList(new ArrayList<>());
      broker.subscriber(consumed).handle(String.class, (s, ctx) -> {
        if (broken.get()) {
          throw new IllegalStateException("boom " + s);
        }
        good.add(s);
        headers.add(ctx.headers());
        return null;
      });
      for (int i = 0; i < 4; i++) {
        int n = i;
        // synchronous: the handler's failure comes back to the publish; the message is dead-lettered
        assertThatThrownBy(() -> broker.publish("p" + n, plain,
            Map.of("message_id", "id" + n, "tenant", n % 2 == 0 ? "acme" : "other"))).hasMessageContaining("boom");
      }
      DeadLetters dead = broker.deadLetters(plain);
      assertThat(dead.count()).isEqualTo(4);
      List<DeadLetters.Entry> entries = dead.list();
      assertThat(entries).extracting(DeadLetters.Entry::payloadText).containsExactly("p0", "p1", "p2", "p3");
      assertThat(entries).allSatisfy(e -> {
        assertThat(e.error()).contains("boom");
        assertThat(e.attempts()).isEqualTo(1);
      });
      assertThat(dead.list(2)).hasSize(2);
      if (kind.equals("list")) {
        assertThat(entries.get(1).id()).isEqualTo("id1");
        assertThat(test.list("{jobs}:dlq")).hasSize(4);
      }

      broken.set(false);
      String id1 = entries.get(1).id();
      assertThat(dead.replay(id1)).isTrue();
      assertThat(dead.replay(id1)).isFalse();
      assertThat(dead.replay(h -> "acme".equals(h.get("tenant")))).isEqualTo(2);
      test.drain();
      assertThat(good).containsExactlyInAnyOrder("p1", "p0", "p2");
      assertThat(headers).allSatisfy(h -> assertThat(h).doesNotContainKeys("x-error", "x-delivery-count", "x-original"));
      assertThat(dead.count()).isEqualTo(1);
      assertThat(dead.purge()).isEqualTo(1);
      assertThat(dead.count()).isZero();
      assertThat(dead.replayAll()).isZero();
    }
  }

  @Test
  void aScheduleFiresAsTheManualClockPassesItsTicks() {
    try (RedisBroker broker = RedisBroker.create("redis://127.0.0.1:1");
        RedisBroker replica = RedisBroker.create("redis://127.0.0.1:1");
        TestRedisBroker test = TestRedisBroker.of(broker);
        TestRedisBroker other = test.with(replica)) {
      List<Map<String, String>> got = Collections.synchronizedList(new ArrayList<>());
      broker.subscriber(list("ticks")).handle(String.class, (s, ctx) -> {
        got.add(ctx.headers());
        return null;
      });
      Schedule everyMinute = Schedule.every(Duration.ofMinutes(1)).missedTicks(MissedTicks.SKIP);
      ScheduleHandle mine = broker.schedule("minutely", everyMinute, () -> "tick", list("ticks"));
      // the same schedule on a second broker of the same (in-memory) Redis: each tick fires once
      replica.schedule("minutely", everyMinute, () -> "tick", list("ticks"));
      int atStart = got.size(); // 1 when the registration fell within a second of a tick, as on Redis
      assertThat(atStart).isLessThanOrEqualTo(1);

      test.advance(Duration.ofMinutes(1));
      assertThat(got).hasSize(atStart + 1); // one minute boundary passed, fired once for both brokers
      assertThat(got.getLast()).containsEntry("x-schedule", "minutely").containsKey("x-schedule-tick");
      // a jump over ten ticks fires each at its time (not skipped as missed)
      test.advance(Duration.ofMinutes(10));
      assertThat(got).hasSize(atStart + 11);
      assertThat(got.stream().map(h -> h.get("x-schedule-tick")).distinct().count()).isEqualTo(atStart + 11);
      assertThat(mine.fired() + replica.schedules().getFirst().fired()).isEqualTo(atStart + 11);

      mine.cancel();
      replica.schedules().getFirst().cancel();
      test.advance(Duration.ofMinutes(5));
      assertThat(got).hasSize(atStart + 11);
      assertThat(broker.schedules()).isEmpty();
    }
  }

  @Test
  void closingTheTestBrokerStopsItsSchedules() {
    try (RedisBroker broker = RedisBroker.create("redis://127.0.0.1:1")) {
      ScheduleHandle h;
      try (TestRedisBroker test = TestRedisBroker.of(broker)) {
        h = broker.schedule("s", Schedule.every(Duration.ofSeconds(1)), () -> "x", list("out"));
        test.advance(Duration.ofSeconds(3));
        assertThat(test.published(list("out"))).hasSizeBetween(3, 4);
      }
      assertThat(h.isCancelled()).isTrue();
      assertThat(broker.schedules()).isEmpty();
    }
  }

  @Test
  void rateLimitsAndPerKeyLimitsPassThroughInMemory() {
    try (RedisBroker broker = RedisBroker.create("redis://127.0.0.1:1");
        TestRedisBroker test = TestRedisBroker.of(broker)) {
      List<String> got = Collections.synchronizedList(new ArrayList<>());
      broker.subscriber(list("limited").rateLimit(1, Duration.ofHours(1)).concurrencyPerKey("tenant", 1))
          .handle(String.class, (s, ctx) -> {
            got.add(s);
            return null;
          });
      for (int i = 0; i < 5; i++) {
        broker.publish("m" + i, list("limited"), Map.of("tenant", "acme"));
      }
      // documented: the in-memory model does not limit; the limits are tested on Redis
      assertThat(got).hasSize(5);
      List<String> fromStream = Collections.synchronizedList(new ArrayList<>());
      broker.subscriber(dev.brook.redis.Redis.stream("limited-s").group("g").concurrencyPerKey("tenant", 1))
          .handle(String.class, (s, ctx) -> {
            fromStream.add(s);
            return null;
          });
      for (int i = 0; i < 5; i++) {
        broker.publish("m" + i, dev.brook.redis.Redis.stream("limited-s"), Map.of("tenant", "acme"));
      }
      assertThat(fromStream).hasSize(5);
    }
  }
}
