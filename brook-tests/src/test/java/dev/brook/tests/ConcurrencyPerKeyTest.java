package dev.brook.tests;

import static dev.brook.redis.Redis.list;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.brook.redis.ListDestination;
import dev.brook.redis.RedisBroker;
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
 * {@code concurrencyPerKey}: never more than n messages of one key running at once across several
 * brokers, other keys not held up behind a flooding one, nothing lost or handled twice, and the slots
 * of a consumer that died (SIGKILL, or a lease nobody renews) free themselves.
 */
class ConcurrencyPerKeyTest extends RedisTestBase {

  /** Counts the handlers of each key running right now, and the most seen at once. */
  static final class Running {
    final Map<String, AtomicInteger> now = new ConcurrentHashMap<>();
    final Map<String, AtomicInteger> max = new ConcurrentHashMap<>();
    final Map<String, AtomicInteger> handled = new ConcurrentHashMap<>();
    final Set<String> seen = ConcurrentHashMap.newKeySet();
    final Set<String> twice = ConcurrentHashMap.newKeySet();

    void run(String key, String message, long millis) throws InterruptedException {
      if (!seen.add(message)) {
        twice.add(message);
      }
      int n = now.computeIfAbsent(key, k -> new AtomicInteger()).incrementAndGet();
      max.computeIfAbsent(key, k -> new AtomicInteger()).accumulateAndGet(n, Math::max);
      try {
        Thread.sleep(millis);
      } finally {
        now.get(key).decrementAndGet();
        handled.computeIfAbsent(key, k -> new AtomicInteger()).incrementAndGet();
      }
    }

    int max(String key) {
      AtomicInteger m = max.get(key);
      return m == null ? 0 : m.get();
    }

    int handled(String key) {
      AtomicInteger m = handled.get(key);
      return m == null ? 0 : m.get();
    }
  }

  @Test
  void atMostNOfAKeyRunAcrossThreeBrokersAndOtherKeysPass() {
    Running running = new Running();
    for (int c = 0; c < 3; c++) {
      RedisBroker b = broker();
      b.subscriber(list("ctasks").concurrencyPerKey("tenant", 2)).concurrency(6)
          .handle(String.class, (s, ctx) -> {
            String tenant = ctx.header("tenant");
            running.run(tenant == null ? "none" : tenant, s, 100);
            return null;
          });
      b.start();
    }
    RedisBroker publisher = broker();
    for (int i = 0; i < 40; i++) {
      publisher.publish("acme-" + i, list("ctasks"), Map.of("tenant", "acme"));
    }
    for (int i = 0; i < 6; i++) {
      publisher.publish("beta-" + i, list("ctasks"), Map.of("tenant", "beta"));
    }
    for (int i = 0; i < 6; i++) {
      publisher.publish("free-" + i, list("ctasks"));
    }
    // beta (2 at a time, 3 rounds of 100 ms) and the unkeyed ones do not wait for acme's 2 s
    await().atMost(Duration.ofSeconds(10)).until(() -> running.handled("beta") == 6 && running.handled("none") == 6);
    assertThat(running.handled("acme")).as("acme still running when beta is done").isLessThan(40);
    await().atMost(Duration.ofSeconds(30)).until(() -> running.handled("acme") == 40);
    assertThat(running.max("acme")).isEqualTo(2);
    assertThat(running.max("beta")).isBetween(1, 2);
    assertThat(running.max("none")).isGreaterThan(2); // not limited by key
    assertThat(running.twice).isEmpty();
    assertThat(running.seen).hasSize(52);
    // every slot released, nothing parked
    await().atMost(Duration.ofSeconds(5)).until(() -> ((List<?>) redis.command("KEYS", "{ctasks}:slots:*")).isEmpty());
    assertThat((List<?>) redis.command("KEYS", "{ctasks}:wait:*")).isEmpty();
    assertThat((Long) redis.command("ZCARD", "{ctasks}:slotwait")).isZero();
    assertThat((Long) redis.command("LLEN", "ctasks")).isZero();
  }

  @Test
  void aKeyFunctionGroupsMessages() {
    Running running = new Running();
    RedisBroker b = broker();
    // the key is the tenant and the region: acme/eu and acme/us have a slot each
    ListDestination d = list("regions").concurrencyPerKey(h -> h.get("tenant") + "/" + h.get("region"), 1);
    b.subscriber(d).concurrency(8).handle(String.class, (s, ctx) -> {
      running.run(ctx.header("tenant") + "/" + ctx.header("region"), s, 50);
      return null;
    });
    b.start();
    for (int i = 0; i < 10; i++) {
      b.publish("eu-" + i, list("regions"), Map.of("tenant", "acme", "region", "eu"));
      b.publish("us-" + i, list("regions"), Map.of("tenant", "acme", "region", "us"));
    }
    await().atMost(Duration.ofSeconds(20)).until(() -> running.seen.size() == 20);
    assertThat(running.max("acme/eu")).isEqualTo(1);
    assertThat(running.max("acme/us")).isEqualTo(1);
    assertThat(running.twice).isEmpty();
  }

  @Test
  void slotsNobodyRenewsFreeThemselvesAfterTheirLease() {
    // Two slots of acme held by a consumer that is gone: leases ending in 3 s that nobody renews.
    @SuppressWarnings("unchecked")
    List<Object> time = (List<Object>) redis.command("TIME");
    long now = Long.parseLong(time.get(0).toString()) * 1000 + Long.parseLong(time.get(1).toString()) / 1000;
    long leaseEnd = now + 3000;
    redis.command("ZADD", "{ghost}:slots:acme", Long.toString(leaseEnd), "dead:1", Long.toString(leaseEnd), "dead:2");
    Running running = new Running();
    java.util.concurrent.atomic.AtomicLong firstAcme = new java.util.concurrent.atomic.AtomicLong(Long.MAX_VALUE);
    RedisBroker b = broker();
    b.subscriber(list("ghost").heartbeat(Duration.ofSeconds(1)).concurrencyPerKey("tenant", 2)).concurrency(4)
        .handle(String.class, (s, ctx) -> {
          if ("acme".equals(ctx.header("tenant"))) {
            firstAcme.accumulateAndGet(System.currentTimeMillis(), Math::min);
          }
          running.run(ctx.header("tenant"), s, 10);
          return null;
        });
    b.start();
    for (int i = 0; i < 5; i++) {
      b.publish("a-" + i, list("ghost"), Map.of("tenant", "acme"));
    }
    b.publish("b-0", list("ghost"), Map.of("tenant", "beta"));
    // beta passes at once; acme waits parked in Redis, not in the consumer
    await().atMost(Duration.ofSeconds(5)).until(() -> running.handled("beta") == 1);
    await().atMost(Duration.ofSeconds(15)).until(() -> running.handled("acme") == 5);
    // Redis' clock and this JVM's are the same machine's: none started before the dead slots' leases ended
    assertThat(firstAcme.get()).isGreaterThanOrEqualTo(leaseEnd - 50);
    assertThat(running.max("acme")).isLessThanOrEqualTo(2);
    assertThat(running.twice).isEmpty();
    assertThat((Long) redis.command("EXISTS", "{ghost}:wait:acme")).isZero();
  }

  @Test
  void aHandlerRunningLongerThanTheLeaseKeepsItsSlot() {
    // heartbeat (lease) 1 s, renewed every 333 ms; the first handler runs 2.5 s
    Running running = new Running();
    for (int c = 0; c < 2; c++) {
      RedisBroker b = broker();
      b.subscriber(list("long").heartbeat(Duration.ofSeconds(1)).concurrencyPerKey("tenant", 1)).concurrency(2)
          .handle(String.class, (s, ctx) -> {
            running.run("acme", s, s.equals("slow") ? 2500 : 10);
            return null;
          });
      b.start();
    }
    RedisBroker publisher = broker();
    publisher.publish("slow", list("long"), Map.of("tenant", "acme"));
    await().atMost(Duration.ofSeconds(5)).until(() -> running.seen.contains("slow"));
    publisher.publish("next", list("long"), Map.of("tenant", "acme"));
    await().atMost(Duration.ofSeconds(10)).until(() -> running.handled("acme") == 2);
    assertThat(running.max("acme")).as("the slow one's slot outlived its first lease").isEqualTo(1);
  }

  @Test
  void aKilledConsumersSlotsComeBack() throws Exception {
    String name = "crash-per-key";
    int n = 30;
    Process child = CrashConsumer.launch(redis.url(), "list-per-key", name);
    try {
      RedisBroker publisher = broker();
      for (int i = 0; i < n; i++) {
        publisher.publish("m" + i, list(name), Map.of("tenant", "acme"));
      }
      await().atMost(Duration.ofSeconds(20)).until(() -> (Long) redis.command("SCARD", "handled:child") >= 4);
      child.toHandle().destroyForcibly(); // SIGKILL: its two slots stay in Redis until their lease ends
      assertThat(child.waitFor(10, TimeUnit.SECONDS)).isTrue();
      @SuppressWarnings("unchecked")
      Set<String> byChild = new HashSet<>((List<String>) redis.command("SMEMBERS", "handled:child"));
      assertThat(byChild.size()).isLessThan(n);

      Running running = new Running();
      for (int s = 0; s < 2; s++) {
        RedisBroker survivor = broker();
        survivor.subscriber(list(name).consumer("survivor" + s).heartbeat(Duration.ofSeconds(1)).concurrencyPerKey("tenant", 2))
            .concurrency(4).handle(String.class, (msg, ctx) -> {
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
      await().atMost(Duration.ofSeconds(10)).until(() -> (Long) redis.command("LLEN", "{" + name + "}:processing:doomed") == 0
          && (Long) redis.command("ZCARD", "{" + name + "}:slotwait") == 0);
    } finally {
      child.destroyForcibly();
    }
  }

  @Test
  void perKeyLimitsAreRefusedWhereTheyCannotHold() {
    org.assertj.core.api.Assertions.assertThatThrownBy(() -> list("x").concurrencyPerKey("tenant", 2)
            .rateLimitPerKey("tenant", 1, Duration.ofSeconds(1)))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("cannot be combined");
    org.assertj.core.api.Assertions.assertThatThrownBy(() -> list("x").concurrencyPerKey("tenant", 0))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("at least 1");
    RedisBroker b = broker();
    b.subscriber(list("amo").atMostOnce().concurrencyPerKey("tenant", 1)).handle(String.class, (s, ctx) -> null);
    org.assertj.core.api.Assertions.assertThatThrownBy(b::start).hasMessageContaining("at-most-once");
  }
}
