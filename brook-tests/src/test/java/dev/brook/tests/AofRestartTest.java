package dev.brook.tests;

import static dev.brook.redis.Redis.list;
import static dev.brook.redis.Redis.stream;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.brook.BrookException;
import dev.brook.Destination;
import dev.brook.redis.RedisBroker;
import dev.brook.testing.RedisServer;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Redis is SIGKILLed under load and restarted from its append-only file ({@code appendfsync
 * always}): every message whose publish returned — Redis had it on disk — is handled at least once
 * by a stream-group or reliable-list consumer, checked by exact sets. Duplicates are allowed (and
 * counted); a message is never invented, and nothing stays in a processing list or pending.
 */
class AofRestartTest {

  @ParameterizedTest
  @ValueSource(strings = {"list", "stream"})
  void killedUnderLoadAndRestartedFromTheAof_nothingAcknowledgedIsLost(String kind) throws Exception {
    try (RedisServer redis = RedisServer.builder().appendOnly(true).start();
        RedisBroker consumer = RedisBroker.create(redis.url());
        RedisBroker publisher = RedisBroker.builder().url(redis.url()).commandTimeout(Duration.ofSeconds(5)).build()) {
      String name = "aof-" + kind;
      Destination d = kind.equals("list") ? list(name).consumer("c1") : stream(name).group("g").consumer("c1").startFrom("0");
      Map<String, AtomicInteger> handled = new ConcurrentHashMap<>();
      consumer.subscriber(d).concurrency(4).handle(String.class, (s, ctx) -> {
        handled.computeIfAbsent(s, k -> new AtomicInteger()).incrementAndGet();
        return null;
      });
      consumer.start();

      Set<String> acknowledged = ConcurrentHashMap.newKeySet();
      Set<String> failed = ConcurrentHashMap.newKeySet();
      AtomicBoolean publishing = new AtomicBoolean(true);
      Thread load = Thread.ofVirtual().name("test-load").start(() -> {
        for (int i = 0; publishing.get(); i++) {
          String m = "m" + i;
          try {
            publisher.publish(m, d);
            acknowledged.add(m);
          } catch (BrookException e) {
            failed.add(m); // not confirmed: Redis may or may not have it
          }
        }
      });
      long restartedAt;
      int ackedAtKill;
      try {
        await().atMost(Duration.ofSeconds(20)).until(() -> acknowledged.size() >= 500 && handled.size() >= 200);
        redis.kill();
        ackedAtKill = acknowledged.size();
        redis.restart();
        restartedAt = System.nanoTime();
        await().atMost(Duration.ofSeconds(30)).until(() -> acknowledged.size() >= ackedAtKill + 500);
      } finally {
        publishing.set(false);
        load.join(Duration.ofSeconds(30));
      }

      await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(100))
          .until(() -> handled.keySet().containsAll(acknowledged));
      long caughtUpMs = (System.nanoTime() - restartedAt) / 1_000_000;

      Set<String> invented = new HashSet<>(handled.keySet());
      invented.removeAll(acknowledged);
      invented.removeAll(failed);
      long duplicates = handled.values().stream().filter(c -> c.get() > 1).count();
      long inDoubtHandled = failed.stream().filter(handled::containsKey).count();
      System.out.printf("AOF %s: %d acknowledged (%d before the kill), %d failed publishes (%d of them handled anyway), "
              + "%d handled, %d duplicates, 0 lost; all caught up %d ms after Redis answered again%n",
          kind, acknowledged.size(), ackedAtKill, failed.size(), inDoubtHandled, handled.size(), duplicates, caughtUpMs);
      assertThat(handled.keySet()).containsAll(acknowledged);
      assertThat(invented).isEmpty();
      await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
        if (kind.equals("list")) {
          assertThat(redis.command("LLEN", name)).isEqualTo(0L);
          assertThat(redis.command("LLEN", "{" + name + "}:processing:c1")).isEqualTo(0L);
        } else {
          assertThat(((List<?>) redis.command("XPENDING", name, "g")).get(0)).isEqualTo(0L);
        }
      });
    }
  }
}
