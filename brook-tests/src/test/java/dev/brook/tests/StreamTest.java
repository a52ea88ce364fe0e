package dev.brook.tests;

import static dev.brook.redis.Redis.stream;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import dev.brook.Subscription;
import dev.brook.redis.RedisBroker;
import dev.brook.redis.StreamDestination;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

/**
 * Streams under load and in Redis' own terms: many consumers, a deleted stream, entries other tools
 * wrote, stop under load. What a stream does for a handler is in {@code behaviour.StreamBehaviour},
 * on Redis and in memory.
 */
class StreamTest extends RedisTestBase {

  private long pending(String stream, String group) {
    return (Long) ((List<?>) redis.command("XPENDING", stream, group)).get(0);
  }

  private long xlen(String stream) {
    return (Long) redis.command("XLEN", stream);
  }

  @Test
  void tenThousandMessagesThreeConsumersEachHandledOnce() {
    int n = 10_000;
    Map<String, AtomicInteger> seen = new ConcurrentHashMap<>();
    AtomicInteger total = new AtomicInteger();
    for (int c = 0; c < 3; c++) {
      RedisBroker b = broker();
      b.subscriber(stream("big").group("g").consumer("c" + c)).handle(String.class, (s, ctx) -> {
        seen.computeIfAbsent(s, k -> new AtomicInteger()).incrementAndGet();
        total.incrementAndGet();
        return null;
      });
      b.start();
    }
    RedisBroker publisher = broker();
    List<String> payloads = IntStream.range(0, n).mapToObj(i -> "m" + i).toList();
    for (int i = 0; i < n; i += 500) {
      publisher.publishBatch(payloads.subList(i, i + 500), stream("big"));
    }
    await().atMost(Duration.ofSeconds(60)).until(() -> total.get() >= n);
    assertThat(seen).hasSize(n);
    assertThat(seen.values()).allMatch(count -> count.get() == 1);
    await().atMost(Duration.ofSeconds(5)).until(() -> pending("big", "g") == 0);
  }

  private static byte[] utf8Key(Map<byte[], byte[]> body, String key) {
    return body.keySet().stream().filter(k -> new String(k).equals(key)).findFirst().orElseThrow();
  }

  @Test
  void deletingTheStreamRecreatesTheGroupWithOneLogLine() {
    ListAppender<ILoggingEvent> log = new ListAppender<>();
    log.start();
    Logger logger = (Logger) LoggerFactory.getLogger("dev.brook.redis.Stream");
    logger.addAppender(log);
    try {
      RedisBroker broker = broker();
      Calls<String> recorder = new Calls<>();
      broker.subscriber(stream("fragile").group("g")).handle(String.class, recorder);
      broker.start();
      broker.publish("before", stream("fragile"));
      recorder.awaitOne();
      redis.command("DEL", "fragile");
      // Publish until the recreated group picks messages up again.
      await().atMost(Duration.ofSeconds(15)).pollInterval(Duration.ofMillis(100)).until(() -> {
        broker.publish("after", stream("fragile"));
        return recorder.payloads().contains("after");
      });
      List<String> warnings = log.list.stream().filter(e -> e.getLevel() == Level.WARN).map(ILoggingEvent::getFormattedMessage).toList();
      assertThat(warnings).hasSize(1);
      assertThat(warnings.get(0)).startsWith("Consumer group 'g' of stream fragile is gone");
    } finally {
      logger.detachAppender(log);
    }
  }

  @Test
  void entriesWithoutDataFieldAreDecodedAsJsonOfTheirFields() {
    record Reading(String sensor, String value) {}
    RedisBroker broker = broker();
    Calls<Reading> recorder = new Calls<>();
    broker.subscriber(stream("sensors").group("g")).handle(Reading.class, recorder);
    broker.start();
    redis.command("XADD", "sensors", "*", "sensor", "t1", "value", "21.5");
    assertThat(recorder.awaitOne().payload()).isEqualTo(new Reading("t1", "21.5"));
  }

  @Test
  void anEntryWithADataFieldIsUnwrappedAsFastStreamDoes() {
    RedisBroker broker = broker();
    Calls<String> recorder = new Calls<>();
    broker.subscriber(stream("plain").group("g")).handle(String.class, recorder);
    broker.start();
    redis.command("XADD", "plain", "*", "kind", "event", "data", "Zürich");
    var call = recorder.awaitOne();
    assertThat(call.payload()).isEqualTo("Zürich");
    assertThat(call.context().headers()).isEmpty();
  }

  @Test
  void stopDuringLoadLosesNothing() {
    int n = 2_000;
    Set<String> handled = ConcurrentHashMap.newKeySet();
    RedisBroker broker = broker();
    StreamDestination dest = stream("sload").group("g").consumer("c1").startFrom(StreamDestination.BEGINNING);
    Subscription sub = broker.subscriber(dest).concurrency(4).handle(String.class, (s, ctx) -> {
      Thread.sleep(1); // simulated work
      handled.add(s);
      return null;
    });
    broker.publishBatch(IntStream.range(0, n).mapToObj(i -> "x" + i).toList(), stream("sload"));
    broker.start();
    await().atMost(Duration.ofSeconds(10)).until(() -> handled.size() > 100);
    sub.stop();
    assertThat(handled.size()).isLessThan(n);
    // What the stopped consumer had read but not handled is pending, and delivered on restart.
    sub.start();
    await().atMost(Duration.ofSeconds(30)).until(() -> handled.size() == n);
    await().atMost(Duration.ofSeconds(5)).until(() -> pending("sload", "g") == 0);
  }
}
