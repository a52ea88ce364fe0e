package dev.brook.tests;

import static dev.brook.redis.Redis.list;
import static dev.brook.redis.Redis.shardChannel;
import static dev.brook.redis.Redis.stream;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import dev.brook.Subscription;
import dev.brook.SubscriptionMetrics;
import dev.brook.redis.RedisBroker;
import dev.brook.redis.StreamDestination;
import dev.brook.redis.internal.Envelope;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

/**
 * Probe: hostile values on the destination kinds PoisonInputTest does not cover (shard channel,
 * partitioned stream, job lists with per-key concurrency and rate limits, idempotent lists), 10 MB
 * and over-limit values included: each is a decode error, dead-lettered where there is a dead
 * letter, the consumers keep handling, Redis sees no hot loop afterwards, and the log is bounded
 * with control characters escaped.
 */
class ProbePoisonTest extends RedisTestBase {

  record Order(long id, String item) {}

  private final ListAppender<ILoggingEvent> log = new ListAppender<>();
  private final Logger brookLog = (Logger) LoggerFactory.getLogger("dev.brook");

  @BeforeEach
  void captureLog() {
    log.start();
    brookLog.addAppender(log);
  }

  @AfterEach
  void releaseLog() {
    brookLog.detachAppender(log);
  }

  private static List<byte[]> poison() {
    byte[] good = Envelope.encode(Map.of("content-type", "application/json", "k", "a"), utf8("{\"id\":1,\"item\":\"x\"}"));
    List<byte[]> values = new ArrayList<>();
    values.add(utf8("{not json"));
    values.add(utf8("{\"id\":\"abc\",\"item\":[1]}"));
    values.add(utf8("{\"id\":1,\"item\":\"\u0000\r\nFORGED 2026 ERROR \u001b[31m\"")); // truncated JSON with control chars
    values.add(new byte[] {(byte) 0xC0, (byte) 0xAF, (byte) 0xFF, '{', '}'});
    values.add(Arrays.copyOf(good, good.length / 2));
    values.add(Arrays.copyOf(good, 5));
    values.add(Envelope.encode(Map.of("k\r\nx", "a\u0000"), utf8("[1,2")));
    byte[] big = new byte[10 * 1024 * 1024]; // 10 MB of not-JSON
    Arrays.fill(big, (byte) 'x');
    values.add(big);
    byte[] huge = new byte[17 * 1024 * 1024]; // over the 16 MiB limit
    Arrays.fill(huge, (byte) '[');
    values.add(huge);
    return values;
  }

  @Test
  void hostileValuesOnNewerDestinationKinds() throws Exception {
    RedisBroker broker = broker();
    Map<String, Set<Long>> handled = new ConcurrentHashMap<>();
    StreamDestination parts = stream("pp").partitions(2).group("g").leaseTime(Duration.ofSeconds(1));
    Map<String, Subscription> subs = new LinkedHashMap<>();
    subs.put("shard", broker.subscriber(shardChannel("psh")).handle(Order.class, record(handled, "shard")));
    subs.put("parts", broker.subscriber(parts).handle(Order.class, record(handled, "parts")));
    subs.put("perkey", broker.subscriber(list("pk").concurrencyPerKey("k", 1).deadLetter()).handle(Order.class, record(handled, "perkey")));
    subs.put("rate", broker.subscriber(list("pr").rateLimitPerKey("k", 100, Duration.ofSeconds(1)).deadLetter())
        .handle(Order.class, record(handled, "rate")));
    subs.put("idem", broker.subscriber(list("pi").idempotent(Duration.ofMinutes(1)).deadLetter()).handle(Order.class, record(handled, "idem")));
    broker.start();
    await().atMost(Duration.ofSeconds(10)).until(() -> ((List<?>) redis.command("PUBSUB", "SHARDNUMSUB", "psh")).get(1).equals(1L));

    List<byte[]> values = poison();
    var r = raw().sync();
    for (byte[] v : values) {
      r.spublish(utf8("psh"), v);
      r.xadd(utf8(parts.partitionKey(0)), Map.of(utf8("__data__"), v));
      r.rpush(utf8("pk"), v);
      r.rpush(utf8("pr"), v);
      r.rpush(utf8("pi"), v);
    }
    int bad = values.size();
    // Then a valid message on each: the consumers are alive.
    broker.publish(new Order(7, "ok"), shardChannel("psh"));
    broker.publish(new Order(7, "ok"), parts, "a");
    broker.publish(new Order(7, "ok"), list("pk"), Map.of("k", "a"));
    broker.publish(new Order(7, "ok"), list("pr"), Map.of("k", "a"));
    broker.publish(new Order(7, "ok"), list("pi"));

    await().atMost(Duration.ofSeconds(60)).untilAsserted(() -> {
      for (Map.Entry<String, Subscription> e : subs.entrySet()) {
        SubscriptionMetrics m = e.getValue().metrics();
        assertThat(handled.getOrDefault(e.getKey(), Set.of())).as(e.getKey() + " " + m).contains(7L);
        assertThat(m.decodeErrors()).as(e.getKey() + " " + m).isEqualTo(bad);
      }
    });
    for (Map.Entry<String, Subscription> e : subs.entrySet()) {
      assertThat(e.getValue().state()).as(e.getKey()).isEqualTo(Subscription.State.RUNNING);
      assertThat(e.getValue().metrics().failed()).as(e.getKey()).isZero();
    }
    await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
      assertThat(redis.command("XLEN", parts.partition(0).deadLetterKey())).isEqualTo((long) bad);
      assertThat(redis.command("LLEN", "{pk}:dlq")).isEqualTo((long) bad);
      assertThat(redis.command("LLEN", "{pr}:dlq")).isEqualTo((long) bad);
      assertThat(redis.command("LLEN", "{pi}:dlq")).isEqualTo((long) bad);
      assertThat(((List<?>) redis.command("XPENDING", parts.partitionKey(0), "g")).get(0)).isEqualTo(0L);
      assertThat(redis.command("LLEN", "pk")).isEqualTo(0L);
    });

    // A partitioned stream's dead letters are per partition: asking for the whole stream's used to
    // read {pp}:dlq, never written, and showed an empty workflow while nine letters waited.
    assertThatThrownBy(() -> broker.deadLetters(parts)).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("partitions").hasMessageContaining("deadLetters(stream.partition(i))");
    assertThat(broker.deadLetters(parts.partition(0)).count()).isEqualTo(bad);
    assertThat(broker.deadLetters(parts.partition(0)).list(100)).allMatch(e -> !e.error().isEmpty());
    assertThat(broker.deadLetters(list("pk")).count()).isEqualTo(bad);

    // No hot loop: Redis commands per second while everything is idle stay those of the
    // consumers' blocking reads, lease renewals and heartbeats.
    redis.command("CONFIG", "RESETSTAT");
    long t0 = System.nanoTime();
    Thread.sleep(3000);
    long total = totalCalls(redis);
    double perSecond = total / ((System.nanoTime() - t0) / 1e9);
    System.out.printf("PROBE idle after poison: %.1f commands/s: %s%n", perSecond, redis.command("INFO", "commandstats"));
    assertThat(perSecond).as("commands/s with the poison dead-lettered").isLessThan(200);

    List<ILoggingEvent> warnings = log.list.stream().filter(e -> e.getLevel().isGreaterOrEqual(Level.WARN)).toList();
    assertThat(warnings.size()).as("log lines %s", warnings.stream().map(ILoggingEvent::getFormattedMessage).toList())
        .isLessThanOrEqualTo(subs.size() * 11 * 2);
    for (ILoggingEvent w : warnings) {
      String line = w.getFormattedMessage();
      assertThat(line).as("a logged line").doesNotContain("\r", "\n", "\u0000", "\u001b");
      assertThat(line.length()).as("a logged line's length").isLessThan(10_000);
    }
  }

  /** Commands Redis ran since the last CONFIG RESETSTAT, INFO and CONFIG (the test's own) left out. */
  static long totalCalls(dev.brook.testing.RedisServer redis) {
    long n = 0;
    for (String line : ((String) redis.command("INFO", "commandstats")).split("\r?\n")) {
      if (line.startsWith("cmdstat_") && !line.startsWith("cmdstat_info") && !line.startsWith("cmdstat_config")) {
        n += Long.parseLong(line.substring(line.indexOf("calls=") + 6, line.indexOf(',')));
      }
    }
    return n;
  }

  private static dev.brook.Handler<Order> record(Map<String, Set<Long>> handled, String kind) {
    Set<Long> ids = handled.computeIfAbsent(kind, k -> ConcurrentHashMap.newKeySet());
    return (order, ctx) -> {
      ids.add(order.id());
      return null;
    };
  }
}
