package dev.brook.tests;

import static dev.brook.redis.Redis.channel;
import static dev.brook.redis.Redis.list;
import static dev.brook.redis.Redis.pattern;
import static dev.brook.redis.Redis.stream;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import dev.brook.Subscription;
import dev.brook.SubscriptionMetrics;
import dev.brook.internal.Codec;
import dev.brook.redis.RedisBroker;
import dev.brook.redis.internal.Envelope;
import io.lettuce.core.RedisFuture;
import io.lettuce.core.api.async.RedisAsyncCommands;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

/**
 * Poison input: 10,000 values that are random bytes or damaged envelopes (truncated, flipped
 * bytes, lying lengths and header counts, invalid UTF-8, hostile JSON), written raw — not through
 * Brook's publisher — to every destination kind, with valid messages in between. Every consume loop
 * survives, every bad value is counted (and dead-lettered where there is a dead letter), every
 * valid one is handled, and the log gets a bounded number of lines, not 10,000.
 *
 * <p>Which values are bad is decided by an oracle that runs Brook's own envelope reader and codec
 * on each value, so the expected counts are exact.
 */
class PoisonInputTest extends RedisTestBase {

  record Order(long id, String item) {}

  private static final int BAD = 10_000;
  private static final int VALID_EVERY = 100;

  private final ListAppender<ILoggingEvent> log = new ListAppender<>();
  private final Logger subscriptionLog = (Logger) LoggerFactory.getLogger("dev.brook");

  @BeforeEach
  void captureLog() {
    log.start();
    subscriptionLog.addAppender(log);
  }

  @AfterEach
  void releaseLog() {
    subscriptionLog.detachAppender(log);
  }

  /** The values, in publishing order, and which of them decode into an Order. */
  private record Corpus(List<byte[]> values, int bad, int valid) {}

  @Test
  void tenThousandPoisonValuesOnEveryDestinationKind() throws Exception {
    Corpus corpus = corpus(new Random(0xB200C));
    System.out.printf("POISON corpus: %d values, %d bad, %d valid%n", corpus.values().size(), corpus.bad(), corpus.valid());
    assertThat(corpus.bad()).isGreaterThanOrEqualTo(BAD);

    RedisBroker broker = broker(b -> b.bufferSize(50_000));
    Map<String, Set<Long>> handled = new ConcurrentHashMap<>();
    Map<String, Subscription> subs = new LinkedHashMap<>();
    subs.put("channel", broker.subscriber(channel("poison.ch")).handle(Order.class, record(handled, "channel")));
    subs.put("pattern", broker.subscriber(pattern("poison.p.{x}")).handle(Order.class, record(handled, "pattern")));
    subs.put("list", broker.subscriber(list("poison-jobs").deadLetter()).concurrency(4).handle(Order.class, record(handled, "list")));
    subs.put("list-amo", broker.subscriber(list("poison-amo").atMostOnce()).handle(Order.class, record(handled, "list-amo")));
    subs.put("group", broker.subscriber(stream("poison-events").group("g")).concurrency(4).handle(Order.class, record(handled, "group")));
    subs.put("stream", broker.subscriber(stream("poison-log")).handle(Order.class, record(handled, "stream")));
    broker.start();

    long t0 = System.nanoTime();
    RedisAsyncCommands<byte[], byte[]> redisAsync = raw().async();
    List<RedisFuture<?>> writes = new ArrayList<>();
    Random channels = new Random(7);
    for (byte[] v : corpus.values()) {
      writes.add(redisAsync.publish(utf8("poison.ch"), v));
      writes.add(redisAsync.publish(hostileChannel(channels), v));
      writes.add(redisAsync.rpush(utf8("poison-jobs"), v));
      writes.add(redisAsync.rpush(utf8("poison-amo"), v));
      writes.add(redisAsync.xadd(utf8("poison-events"), Map.of(utf8("__data__"), v)));
      writes.add(redisAsync.xadd(utf8("poison-log"), Map.of(utf8("__data__"), v)));
      if (writes.size() >= 6_000) {
        for (RedisFuture<?> w : writes) {
          w.get(30, TimeUnit.SECONDS);
        }
        writes.clear();
      }
    }
    for (RedisFuture<?> w : writes) {
      w.get(30, TimeUnit.SECONDS);
    }

    int total = corpus.values().size();
    await().atMost(Duration.ofSeconds(90)).pollInterval(Duration.ofMillis(200)).untilAsserted(() -> {
      for (Map.Entry<String, Subscription> e : subs.entrySet()) {
        SubscriptionMetrics m = e.getValue().metrics();
        assertThat(m.handled() + m.decodeErrors()).as(e.getKey() + " " + m).isEqualTo(total);
      }
    });
    Duration took = Duration.ofNanos(System.nanoTime() - t0);
    for (Map.Entry<String, Subscription> e : subs.entrySet()) {
      SubscriptionMetrics m = e.getValue().metrics();
      assertThat(List.of(m.received(), m.handled(), m.failed(), m.decodeErrors(), m.dropped()))
          .as("%s: received, handled, failed, decodeErrors, dropped of %s", e.getKey(), m)
          .containsExactly((long) total, (long) corpus.valid(), 0L, (long) corpus.bad(), 0L);
      assertThat(e.getValue().state()).isEqualTo(Subscription.State.RUNNING);
      assertThat(handled.get(e.getKey())).as(e.getKey()).hasSize(corpus.valid());
    }
    // Dead letters: one per bad value, with the reason; nothing left in processing or pending.
    await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
      assertThat(redis.command("LLEN", "{poison-jobs}:dlq")).isEqualTo((long) corpus.bad());
      assertThat(redis.command("XLEN", "{poison-events}:dlq")).isEqualTo((long) corpus.bad());
      assertThat(((List<?>) redis.command("XPENDING", "poison-events", "g")).get(0)).isEqualTo(0L);
      assertThat((List<?>) redis.command("KEYS", "{poison-jobs}:processing:*")).allMatch(k -> (Long) redis.command("LLEN", (String) k) == 0);
    });
    byte[] firstDead = raw().sync().lindex(utf8("{poison-jobs}:dlq"), 0);
    assertThat(Envelope.decode(firstDead).header("x-error")).startsWith("cannot decode into " + Order.class.getName() + ": ");

    // The log: at most 10 lines a minute per subscription for unreadable messages (and 10 for the
    // stream's dead letters), not 10,000 each.
    List<ILoggingEvent> warnings = log.list.stream().filter(e -> e.getLevel() == Level.WARN).toList();
    System.out.printf("POISON handled %d values x 6 kinds in %d ms; %d WARN lines under dev.brook%n",
        total, took.toMillis(), warnings.size());
    assertThat(warnings).hasSizeLessThanOrEqualTo(7 * 11);
    assertThat(warnings).allMatch(e -> e.getFormattedMessage().startsWith("Cannot decode message ")
        || e.getFormattedMessage().startsWith("Entry ") && e.getFormattedMessage().contains(" went to the dead-letter stream "));
    assertThat(Threads.brookThreads()).contains("brook-list:poison-jobs", "brook-list:poison-amo",
        "brook-stream:poison-events", "brook-stream:poison-log");
  }

  private static dev.brook.Handler<Order> record(Map<String, Set<Long>> handled, String kind) {
    Set<Long> ids = handled.computeIfAbsent(kind, k -> ConcurrentHashMap.newKeySet());
    return (order, ctx) -> {
      ids.add(order.id());
      return null;
    };
  }

  /** A channel under poison.p. with a suffix that may be long, empty-ish or not UTF-8. */
  private static byte[] hostileChannel(Random random) {
    byte[] suffix = new byte[1 + random.nextInt(random.nextInt(20) == 0 ? 5_000 : 20)];
    random.nextBytes(suffix);
    byte[] prefix = utf8("poison.p.");
    byte[] name = new byte[prefix.length + suffix.length];
    System.arraycopy(prefix, 0, name, 0, prefix.length);
    System.arraycopy(suffix, 0, name, prefix.length, suffix.length);
    return name;
  }

  // ---- the corpus ------------------------------------------------------------------------------

  private static final Codec.Decoder ORACLE = new Codec(Codec.defaultMapper()).decoderFor(Order.class);

  /** Whether Brook's reader and codec turn {@code raw} into an Order (exactly what a subscription runs). */
  private static boolean decodes(byte[] raw) {
    try {
      return ORACLE.decode(Envelope.decode(raw)) instanceof Order;
    } catch (IOException | RuntimeException e) {
      return false;
    }
  }

  private static Corpus corpus(Random random) {
    List<byte[]> values = new ArrayList<>();
    int bad = 0;
    int valid = 0;
    long nextValidId = 1_000_000;
    while (bad < BAD) {
      if (values.size() % VALID_EVERY == 0) {
        Order order = new Order(nextValidId++, "valid");
        values.add(Envelope.encode(Map.of("content-type", "application/json"),
            ("{\"id\":" + order.id() + ",\"item\":\"valid\"}").getBytes(StandardCharsets.UTF_8)));
        valid++;
        continue;
      }
      byte[] v = poison(random);
      if (decodes(v)) {
        continue; // damage that happens to leave a readable Order: not poison, skip it
      }
      values.add(v);
      bad++;
    }
    return new Corpus(values, bad, valid);
  }

  private static byte[] poison(Random random) {
    byte[] good = Envelope.encode(Map.of("correlation_id", "c-" + random.nextInt(), "content-type", "application/json"),
        ("{\"id\":" + random.nextInt(1000) + ",\"item\":\"x\"}").getBytes(StandardCharsets.UTF_8));
    switch (random.nextInt(12)) {
      case 0, 1, 2, 3 -> { // random bytes, sometimes long
        byte[] b = new byte[random.nextInt(random.nextInt(10) == 0 ? 100_000 : 200)];
        random.nextBytes(b);
        return b;
      }
      case 4 -> { // a valid envelope cut short
        return java.util.Arrays.copyOf(good, random.nextInt(good.length));
      }
      case 5 -> { // a byte flipped anywhere: lengths, counts, offsets, payload
        byte[] b = good.clone();
        b[random.nextInt(b.length)] ^= (byte) (1 + random.nextInt(255));
        return b;
      }
      case 6 -> { // a huge declared header count with a short buffer
        ByteBuffer b = ByteBuffer.allocate(24);
        b.put(good, 0, 8).putShort((short) 1).putInt(18).putInt(20 + random.nextInt(4)).putShort((short) 0xFFFF)
            .putShort((short) 0xFFFF).putShort((short) 0x7FFF);
        return b.array();
      }
      case 7 -> { // a payload offset far past the end
        byte[] b = good.clone();
        ByteBuffer.wrap(b).putInt(14, 0x7FFFFFFF + random.nextInt(1000));
        return b;
      }
      case 8 -> { // a header with invalid UTF-8
        byte[] b = Envelope.encode(Map.of("k", "vv"), utf8("{\"id\":1}"));
        b[20 + 2 + 1 + 2] = (byte) 0xC0;
        b[20 + 2 + 1 + 3] = (byte) 0xAF;
        return b;
      }
      case 9 -> { // a valid envelope whose payload is not JSON, or invalid UTF-8
        byte[] payload = new byte[1 + random.nextInt(50)];
        random.nextBytes(payload);
        payload[0] = (byte) 0xFF;
        return Envelope.encode(Map.of("content-type", "application/json"), payload);
      }
      case 10 -> { // the legacy JSON envelope with a payload that is not an Order
        return utf8("{\"data\":\"" + "not json ".repeat(1 + random.nextInt(5)) + "\",\"headers\":{\"x\":\"\\u0000\"}}");
      }
      default -> { // hostile JSON: deep nesting, huge numbers, wrong shapes
        return switch (random.nextInt(4)) {
          case 0 -> utf8("[".repeat(10_000));
          case 1 -> utf8("{\"id\":" + "9".repeat(5_000) + "}");
          case 2 -> utf8("{\"id\":[" + "{\"a\":".repeat(2_000) + "}");
          default -> utf8("\"" + "\\u12".repeat(100) + "\"");
        };
      }
    }
  }
}
