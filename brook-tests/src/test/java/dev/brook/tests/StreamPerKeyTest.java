package dev.brook.tests;

import static dev.brook.redis.Redis.stream;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.brook.redis.RedisBroker;
import dev.brook.redis.StreamDestination;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * Per-key limits on a stream group ({@code concurrencyPerKey}, {@code rateLimitPerKey}): entries
 * over their key's limit are parked to a parking consumer of the group ({@code brook-parked:<key>})
 * and claimed back when their key has room. The limit holds across brokers, other keys pass, none
 * is lost or handled twice, parking never counts as a delivery (nor dead-letters with {@code
 * maxDeliveries}), the other group of the stream sees each entry once, and nothing stays pending.
 */
class StreamPerKeyTest extends RedisTestBase {

  private long pending(String stream, String group) {
    return (Long) ((List<?>) redis.command("XPENDING", stream, group)).get(0);
  }

  private boolean parkingConsumers(String stream, String group) {
    return String.valueOf(redis.command("XINFO", "CONSUMERS", stream, group)).contains("brook-parked:");
  }

  @Test
  void atMostNOfAKeyRunAcrossThreeBrokersAndTheOtherGroupSeesEachOnce() {
    ConcurrencyPerKeyTest.Running running = new ConcurrencyPerKeyTest.Running();
    Set<String> done = ConcurrentHashMap.newKeySet();
    Set<String> twice = ConcurrentHashMap.newKeySet();
    Set<Long> attempts = ConcurrentHashMap.newKeySet();
    AtomicInteger failedOnce = new AtomicInteger();
    // maxDeliveries(2): each acme entry is parked many times; none may count as a delivery
    StreamDestination d = stream("ps").group("g").startFrom("0").minIdle(Duration.ofSeconds(1)).maxDeliveries(2)
        .concurrencyPerKey("tenant", 2);
    for (int c = 0; c < 3; c++) {
      RedisBroker b = broker();
      b.subscriber(d).concurrency(6).retry(dev.brook.Backoff.fixed(Duration.ofMillis(100))).handle(String.class, (s, ctx) -> {
        String tenant = ctx.header("tenant");
        attempts.add(ctx.deliveryCount());
        if (s.equals("acme-7") && ctx.deliveryCount() == 1) {
          failedOnce.incrementAndGet();
          throw new IllegalStateException("first attempt fails"); // retried holding its slot, not dead-lettered
        }
        running.run(tenant == null ? "none" : tenant, s, 100);
        if (!done.add(s)) {
          twice.add(s);
        }
        return null;
      });
      b.start();
    }
    Map<String, AtomicInteger> other = new ConcurrentHashMap<>();
    RedisBroker o = broker();
    o.subscriber(stream("ps").group("other").startFrom("0")).concurrency(8).handle(String.class, (s, ctx) -> {
      other.computeIfAbsent(s, k -> new AtomicInteger()).incrementAndGet();
      return null;
    });
    o.start();
    RedisBroker publisher = broker();
    for (int i = 0; i < 40; i++) {
      publisher.publish("acme-" + i, stream("ps"), Map.of("tenant", "acme"));
    }
    for (int i = 0; i < 6; i++) {
      publisher.publish("beta-" + i, stream("ps"), Map.of("tenant", "beta"));
    }
    for (int i = 0; i < 6; i++) {
      publisher.publish("free-" + i, stream("ps"));
    }
    await().atMost(Duration.ofSeconds(10)).until(() -> running.handled("beta") == 6 && running.handled("none") == 6);
    assertThat(running.handled("acme")).as("acme still running when beta is done").isLessThan(40);
    await().atMost(Duration.ofSeconds(30)).until(() -> done.size() == 52);
    assertThat(running.max("acme")).isEqualTo(2);
    assertThat(running.max("beta")).isBetween(1, 2);
    assertThat(running.max("none")).isGreaterThan(2);
    assertThat(twice).isEmpty();
    assertThat(failedOnce.get()).isEqualTo(1);
    assertThat(attempts).as("parking never counts as a delivery").containsExactlyInAnyOrder(1L, 2L);
    assertThat((Long) redis.command("XLEN", "{ps}:dlq")).isZero();
    await().atMost(Duration.ofSeconds(5)).until(() -> pending("ps", "g") == 0 && other.size() == 52);
    assertThat(other.values()).allMatch(n -> n.get() == 1);
    assertThat(pending("ps", "other")).isZero();
    assertThat(parkingConsumers("ps", "g")).isFalse();
    assertThat((List<?>) redis.command("KEYS", "{ps}:perkey:g:slots:*")).isEmpty();
    assertThat((Long) redis.command("ZCARD", "{ps}:perkey:g:slotwait")).isZero();
  }

  @Test
  void aRateLimitPerKeyOnAGroupLetsAnotherTenantThrough() {
    Map<String, AtomicInteger> handled = new ConcurrentHashMap<>();
    Set<String> seen = ConcurrentHashMap.newKeySet();
    Set<String> twice = ConcurrentHashMap.newKeySet();
    Set<Long> attempts = ConcurrentHashMap.newKeySet();
    for (int c = 0; c < 2; c++) {
      RedisBroker b = broker();
      b.subscriber(stream("prate").group("g").startFrom("0").maxDeliveries(1)
          .rateLimitPerKey("tenant", 10, Duration.ofSeconds(1))).concurrency(4).handle(String.class, (s, ctx) -> {
            if (!seen.add(s)) {
              twice.add(s);
            }
            attempts.add(ctx.deliveryCount());
            handled.computeIfAbsent(ctx.header("tenant"), k -> new AtomicInteger()).incrementAndGet();
            return null;
          });
      b.start();
    }
    RedisBroker publisher = broker();
    long start = System.nanoTime();
    for (int i = 0; i < 30; i++) {
      publisher.publish("acme-" + i, stream("prate"), Map.of("tenant", "acme"));
    }
    for (int i = 0; i < 5; i++) {
      publisher.publish("beta-" + i, stream("prate"), Map.of("tenant", "beta"));
    }
    await().atMost(Duration.ofSeconds(3)).until(() -> count(handled, "beta") == 5);
    assertThat((System.nanoTime() - start) / 1e9).as("beta waits for its own tokens only").isLessThan(1.5);
    await().atMost(Duration.ofSeconds(10)).until(() -> count(handled, "acme") == 30);
    double seconds = (System.nanoTime() - start) / 1e9;
    assertThat(seconds).as("a burst of 10, then 10 a second").isGreaterThan(1.7);
    assertThat(twice).isEmpty();
    assertThat(attempts).as("maxDeliveries(1) and parked many times: still attempt 1").containsExactly(1L);
    assertThat((Long) redis.command("XLEN", "{prate}:dlq")).isZero();
    await().atMost(Duration.ofSeconds(5)).until(() -> pending("prate", "g") == 0 && !parkingConsumers("prate", "g"));
  }

  @Test
  void entriesDeletedWhileParkedAreDroppedAndTheRestRun() {
    Set<String> handled = ConcurrentHashMap.newKeySet();
    RedisBroker b = broker();
    b.subscriber(stream("pdel").group("g").startFrom("0").concurrencyPerKey("tenant", 1)).concurrency(4)
        .handle(String.class, (s, ctx) -> {
          Thread.sleep(400);
          handled.add(s);
          return null;
        });
    b.start();
    for (int i = 0; i < 5; i++) {
      b.publish("m" + i, stream("pdel"), Map.of("tenant", "acme"));
    }
    await().atMost(Duration.ofSeconds(5)).until(() -> parkingConsumers("pdel", "g"));
    List<?> entries = (List<?>) redis.command("XRANGE", "pdel", "-", "+");
    for (int i = 1; i <= 3; i++) {
      redis.command("XDEL", "pdel", String.valueOf(((List<?>) entries.get(i)).get(0)));
    }
    await().atMost(Duration.ofSeconds(10)).until(() -> handled.size() == 2 && pending("pdel", "g") == 0);
    assertThat(handled).containsExactlyInAnyOrder("m0", "m4");
    await().during(Duration.ofMillis(500)).atMost(Duration.ofSeconds(2)).until(() -> handled.size() == 2);
    assertThat(parkingConsumers("pdel", "g")).isFalse();
  }

  @Test
  void parkedEntriesOutliveAStopAndASubscriptionWithoutTheLimitTakesThemBack() {
    Set<String> handled = ConcurrentHashMap.newKeySet();
    RedisBroker first = broker();
    first.subscriber(stream("pstop").group("g").consumer("first").startFrom("0").concurrencyPerKey("tenant", 1))
        .concurrency(4).handle(String.class, (s, ctx) -> {
          Thread.sleep(300);
          handled.add(s);
          return null;
        });
    first.start();
    for (int i = 0; i < 5; i++) {
      // a key with braces, glob characters, a newline and non-ASCII: part of a consumer name and of key names
      first.publish("m" + i, stream("pstop"), Map.of("tenant", JobsProbeTest.NASTY));
    }
    await().atMost(Duration.ofSeconds(5)).until(() -> parkingConsumers("pstop", "g"));
    first.stop(); // parked entries stay in Redis, under the parking consumer; the slot is released
    assertThat(pending("pstop", "g")).isEqualTo(5 - handled.size());
    assertThat((List<?>) redis.command("KEYS", "{pstop}:perkey:g:slots:*")).as("the stop released its slot").isEmpty();
    Map<String, Long> attempts = new ConcurrentHashMap<>();
    RedisBroker second = broker();
    second.subscriber(stream("pstop").group("g").consumer("second")).concurrency(4).handle(String.class, (s, ctx) -> {
      attempts.put(s, ctx.deliveryCount());
      handled.add(s);
      return null;
    });
    second.start();
    await().atMost(Duration.ofSeconds(10)).until(() -> handled.size() == 5 && pending("pstop", "g") == 0);
    assertThat(attempts.values()).as("given back or parked: never counted").allMatch(n -> n == 1L);
    assertThat(parkingConsumers("pstop", "g")).isFalse();
  }

  /**
   * rateLimitPerKey: once an entry of a key is parked, no younger entry of the key runs ahead of it,
   * even one that finds a token (here the bucket is refilled by hand while the parked ones are held
   * back; without the rule e4 ran second).
   */
  @Test
  void aKeyWithParkedEntriesRunsNoYoungerOneAheadOfThem() {
    List<String> order = java.util.Collections.synchronizedList(new java.util.ArrayList<>());
    RedisBroker b = broker();
    b.subscriber(stream("porder").group("g").startFrom("0").rateLimitPerKey("tenant", 1, Duration.ofSeconds(2)))
        .concurrency(1).handle(String.class, (s, ctx) -> {
          order.add(s);
          return null;
        });
    b.start();
    for (int i = 1; i <= 3; i++) {
      b.publish("e" + i, stream("porder"), Map.of("tenant", "acme"));
    }
    await().atMost(Duration.ofSeconds(5)).until(() -> order.size() == 1
        && ((List<?>) redis.command("XPENDING", "porder", "g", "-", "+", "10", "brook-parked:acme")).size() == 2);
    // hold the parked ones back (their key due far later) and give the key a token now
    redis.command("ZADD", "{porder}:perkey:g:waiting", "XX", "99999999999999", "acme");
    redis.command("HSET", "{porder}:perkey:g:rate:acme", "tokens", "1", "ts", "0");
    b.publish("e4", stream("porder"), Map.of("tenant", "acme"));
    await().atMost(Duration.ofSeconds(5)).until(() -> order.size() >= 2);
    assertThat(order.get(1)).as("the oldest parked entry runs next, not the younger e4").isEqualTo("e2");
    redis.command("ZADD", "{porder}:perkey:g:waiting", "XX", "0", "acme"); // no-op with the rule: e4's parking made the key due
    await().atMost(Duration.ofSeconds(10)).until(() -> order.size() == 4);
    assertThat(order).containsExactly("e1", "e2", "e3", "e4");
    await().atMost(Duration.ofSeconds(3)).until(() -> pending("porder", "g") == 0 && !parkingConsumers("porder", "g"));
  }

  @Test
  void aStopWhileParkedKeepsThemInRedisAndARestartHandlesEachOnce() {
    Map<String, Long> attempts = new ConcurrentHashMap<>();
    Set<String> twice = ConcurrentHashMap.newKeySet();
    RedisBroker b = broker();
    b.subscriber(stream("prestart").group("g").startFrom("0").maxDeliveries(1)
        .rateLimitPerKey("tenant", 4, Duration.ofSeconds(1))).concurrency(4).handle(String.class, (s, ctx) -> {
          if (attempts.put(s, ctx.deliveryCount()) != null) {
            twice.add(s);
          }
          return null;
        });
    b.start();
    for (int i = 0; i < 12; i++) {
      b.publish("m" + i, stream("prestart"), Map.of("tenant", "acme"));
    }
    await().atMost(Duration.ofSeconds(5)).until(() -> attempts.size() >= 4 && parkingConsumers("prestart", "g"));
    b.stop();
    assertThat(pending("prestart", "g")).as("what is not done stays pending (parked or given back)")
        .isEqualTo(12 - attempts.size());
    b.start();
    await().atMost(Duration.ofSeconds(10)).until(() -> attempts.size() == 12 && pending("prestart", "g") == 0);
    assertThat(twice).isEmpty();
    assertThat(attempts.values()).as("maxDeliveries(1): parked, stopped, restarted, still attempt 1").allMatch(n -> n == 1L);
    assertThat((Long) redis.command("XLEN", "{prestart}:dlq")).isZero();
    assertThat(parkingConsumers("prestart", "g")).isFalse();
  }

  @Test
  void aKilledConsumersSlotsAndParkedEntriesComeBack() throws Exception {
    String name = "pcrash";
    int n = 30;
    Process child = CrashConsumer.launch(redis.url(), "stream-per-key", name);
    try {
      RedisBroker publisher = broker();
      for (int i = 0; i < n; i++) {
        publisher.publish("m" + i, stream(name), Map.of("tenant", "acme"));
      }
      await().atMost(Duration.ofSeconds(20)).until(() -> (Long) redis.command("SCARD", "handled:child") >= 4
          && parkingConsumers(name, "g"));
      child.toHandle().destroyForcibly(); // SIGKILL: 2 slots held, the rest parked
      assertThat(child.waitFor(10, TimeUnit.SECONDS)).isTrue();
      @SuppressWarnings("unchecked")
      Set<String> byChild = new HashSet<>((List<String>) redis.command("SMEMBERS", "handled:child"));
      assertThat(byChild.size()).isLessThan(n);

      ConcurrencyPerKeyTest.Running running = new ConcurrencyPerKeyTest.Running();
      for (int s = 0; s < 2; s++) {
        RedisBroker survivor = broker();
        survivor.subscriber(stream(name).group("g").consumer("survivor" + s).minIdle(Duration.ofMillis(500))
            .concurrencyPerKey("tenant", 2)).concurrency(4).handle(String.class, (msg, ctx) -> {
              running.run("acme", msg, 20);
              return null;
            });
        survivor.start();
      }
      await().atMost(Duration.ofSeconds(30)).until(() -> {
        Set<String> union = new HashSet<>(byChild);
        union.addAll(running.seen);
        return union.size() == n;
      });
      assertThat(running.twice).isEmpty();
      assertThat(running.max("acme")).isLessThanOrEqualTo(2);
      // A duplicate is one the child handled but was killed before acknowledging: at most its 2 slots.
      assertThat(running.seen.stream().filter(byChild::contains).count()).isLessThanOrEqualTo(2);
      await().atMost(Duration.ofSeconds(10)).until(() -> pending(name, "g") == 0 && !parkingConsumers(name, "g")
          && (Long) redis.command("ZCARD", "{" + name + "}:perkey:g:slotwait") == 0);
    } finally {
      child.destroyForcibly();
    }
  }

  @Test
  void perKeyLimitsAreRefusedWhereTheyCannotHold() {
    assertThatThrownBy(() -> stream("x").partitions(4).concurrencyPerKey("tenant", 2))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("partitions");
    assertThatThrownBy(() -> stream("x").rateLimitPerKey("tenant", 2, Duration.ofSeconds(1)).partitions(4))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("partitions");
    assertThatThrownBy(() -> stream("x").concurrencyPerKey("tenant", 2).rateLimitPerKey("tenant", 1, Duration.ofSeconds(1)))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("cannot be combined");
    assertThatThrownBy(() -> stream("x").group("g").consumer("brook-parked:acme"))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("parking consumers");
    RedisBroker b = broker();
    b.subscriber(stream("nogroup").concurrencyPerKey("tenant", 1)).handle(String.class, (s, ctx) -> null);
    assertThatThrownBy(b::start).hasMessageContaining("without a group that acknowledges");
    RedisBroker c = broker();
    c.subscriber(stream("noack").group("g").noAck().concurrencyPerKey("tenant", 1)).handle(String.class, (s, ctx) -> null);
    assertThatThrownBy(c::start).hasMessageContaining("noAck()");
  }

  private static int count(Map<String, AtomicInteger> handled, String tenant) {
    AtomicInteger n = handled.get(tenant);
    return n == null ? 0 : n.get();
  }
}
