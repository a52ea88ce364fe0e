package dev.brook.tests;

import static dev.brook.redis.Redis.list;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.brook.redis.MissedTicks;
import dev.brook.redis.RedisBroker;
import dev.brook.redis.Schedule;
import dev.brook.redis.ScheduleHandle;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * Schedules: three brokers run one schedule and each tick fires once; missed ticks follow the
 * policy; a schedule is listed, cancelled, and a closed broker leaves no timer behind (the leak
 * check of every test).
 */
class ScheduleTest extends RedisTestBase {

  private static final long HOUR = 3_600_000L;

  /** Consumes list {@code name}, recording the tick of each message. */
  private List<Instant> ticksOf(String name) {
    List<Instant> ticks = Collections.synchronizedList(new ArrayList<>());
    RedisBroker consumer = broker();
    consumer.subscriber(list(name)).handle(String.class, (s, ctx) -> {
      ticks.add(Instant.parse(ctx.header("x-schedule-tick")));
      return null;
    });
    consumer.start();
    return ticks;
  }

  @Test
  void threeReplicasFireEachTickOnce() {
    List<Instant> ticks = ticksOf("ticks");
    Map<RedisBroker, ScheduleHandle> handles = new ConcurrentHashMap<>();
    AtomicInteger supplied = new AtomicInteger();
    for (int i = 0; i < 3; i++) {
      RedisBroker b = broker();
      handles.put(b, b.schedule("ticker", Schedule.every(Duration.ofMillis(200)), supplied::incrementAndGet, list("ticks")));
    }
    await().atMost(Duration.ofSeconds(5)).until(() -> ticks.size() >= 8);
    handles.values().forEach(ScheduleHandle::cancel);
    long firedTotal = handles.values().stream().mapToLong(ScheduleHandle::fired).sum();
    await().atMost(Duration.ofSeconds(2)).until(() -> ticks.size() == firedTotal);
    List<Instant> sorted = new ArrayList<>(ticks);
    Collections.sort(sorted);
    assertThat(sorted).doesNotHaveDuplicates();
    for (int i = 1; i < sorted.size(); i++) {
      assertThat(Duration.between(sorted.get(i - 1), sorted.get(i))).isEqualTo(Duration.ofMillis(200));
    }
    assertThat(supplied.get()).isEqualTo(ticks.size());
    assertThat(handles.values().stream().filter(h -> h.fired() > 0).count()).isGreaterThanOrEqualTo(1);
  }

  /** An hourly schedule whose last tick in Redis was 5 hours ago: {@code SKIP} fires none, {@code FIRE_ONCE} 1, {@code FIRE_ALL} 5. */
  @Test
  void missedTicksFollowThePolicy() throws Exception {
    long now = System.currentTimeMillis();
    if (now % HOUR < 3000) {
      Thread.sleep(3000 - now % HOUR); // keep the hour's own tick out of "on time"
      now = System.currentTimeMillis();
    }
    long latest = now / HOUR * HOUR;
    for (MissedTicks policy : MissedTicks.values()) {
      String name = "hourly-" + policy;
      redis.command("SET", "{brook:schedule:" + name + "}:last", Long.toString(latest - 5 * HOUR));
      List<Instant> ticks = ticksOf(name);
      RedisBroker b = broker();
      ScheduleHandle h = b.schedule(name, Schedule.every(Duration.ofHours(1)).missedTicks(policy), () -> "report", list(name));
      await().atMost(Duration.ofSeconds(5)).until(() ->
          Long.toString(latest).equals(redis.command("GET", "{brook:schedule:" + name + "}:last")));
      int expected = switch (policy) {
        case SKIP -> 0;
        case FIRE_ONCE -> 1;
        case FIRE_ALL -> 5;
      };
      await().atMost(Duration.ofSeconds(5)).until(() -> ticks.size() == expected);
      assertThat(h.fired()).isEqualTo(expected);
      List<Instant> want = new ArrayList<>();
      for (int i = expected - 1; i >= 0; i--) {
        want.add(Instant.ofEpochMilli(latest - i * HOUR));
      }
      assertThat(ticks).as(policy.toString()).containsExactlyElementsOf(want);
    }
  }

  @Test
  void aNewScheduleDoesNotFireThePast_andIsListedAndCancelled() throws Exception {
    RedisBroker b = broker();
    ScheduleHandle nightly = b.schedule("nightly", Schedule.cron("0 3 * * *", java.time.ZoneId.of("Europe/Paris")),
        () -> "report", list("reports"));
    ScheduleHandle fast = b.schedule("fast", Schedule.every(Duration.ofMillis(100)), () -> "x", list("fast"));
    assertThat(b.schedules()).containsExactlyInAnyOrder(nightly, fast);
    assertThatThrownBy(() -> b.schedule("fast", Schedule.every(Duration.ofSeconds(1)), () -> "y", list("fast")))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("already runs a schedule named 'fast'");
    await().atMost(Duration.ofSeconds(3)).until(() -> fast.fired() >= 3);
    fast.cancel();
    assertThat(fast.isCancelled()).isTrue();
    assertThat(b.schedules()).containsExactly(nightly);
    long firedAtCancel = fast.fired();
    // Three periods: nothing may fire after cancel (one tick may have been in flight).
    await().during(Duration.ofMillis(300)).atMost(Duration.ofSeconds(2))
        .untilAsserted(() -> assertThat(fast.fired()).isBetween(firedAtCancel, firedAtCancel + 1));
    assertThat(nightly.fired()).isZero();
    assertThat((Long) redis.command("LLEN", "reports")).isZero();
  }

  @Test
  void aClosedBrokerStopsItsSchedules() {
    RedisBroker b = broker();
    ScheduleHandle h = b.schedule("closing", Schedule.every(Duration.ofMillis(50)), () -> "x", list("closing"));
    await().atMost(Duration.ofSeconds(3)).until(() -> h.fired() >= 2);
    b.close();
    long at = h.fired();
    // close() waited for a tick in flight: nothing fires after it returned
    await().during(Duration.ofMillis(300)).atMost(Duration.ofSeconds(1)).until(() -> h.fired() == at);
    assertThat(h.isCancelled()).isTrue();
    assertThatThrownBy(() -> b.schedule("late", Schedule.every(Duration.ofSeconds(1)), () -> "x", list("closing")))
        .isInstanceOf(IllegalStateException.class);
  }
}
