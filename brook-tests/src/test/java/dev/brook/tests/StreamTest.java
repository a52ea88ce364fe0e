package dev.brook.tests;

import static dev.brook.redis.Redis.stream;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import dev.brook.AckPolicy;
import dev.brook.MessageContext;
import dev.brook.Subscription;
import dev.brook.redis.RedisBroker;
import dev.brook.redis.StreamDestination;
import dev.brook.redis.internal.Envelope;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

/** Streams with and without consumer groups. */
class StreamTest extends RedisTestBase {

  private long pending(String stream, String group) {
    return (Long) ((List<?>) redis.command("XPENDING", stream, group)).get(0);
  }

  private long xlen(String stream) {
    return (Long) redis.command("XLEN", stream);
  }

  @Test
  void groupRoundTripAcksEverything() {
    RedisBroker broker = broker();
    Recorder<String> recorder = new Recorder<>();
    Subscription sub = broker.subscriber(stream("events").group("g").consumer("c1")).handle(String.class, recorder);
    assertThat(sub.id()).isEqualTo("stream:events/g/c1");
    broker.start();
    for (int i = 0; i < 10; i++) {
      broker.publish("e" + i, stream("events"));
    }
    recorder.awaitCount(10);
    assertThat(recorder.payloads()).containsExactlyElementsOf(IntStream.range(0, 10).mapToObj(i -> "e" + i).toList());
    assertThat(recorder.calls().get(0).context().messageId()).matches("\\d+-\\d+");
    assertThat(recorder.calls().get(0).context().deliveryCount()).isEqualTo(1);
    await().atMost(Duration.ofSeconds(5)).until(() -> pending("events", "g") == 0);
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

  @Test
  void aFailingMessageIsRedeliveredUpToMaxDeliveriesThenDeadLettered() {
    RedisBroker broker = broker();
    AtomicInteger poisonAttempts = new AtomicInteger();
    Recorder<String> ok = new Recorder<>();
    StreamDestination dest = stream("orders").group("g").consumer("c1").minIdle(Duration.ofMillis(200)).maxDeliveries(3);
    broker.subscriber(dest).ackPolicy(AckPolicy.NACK_ON_ERROR).handle(String.class, (s, ctx) -> {
      if (s.equals("poison")) {
        poisonAttempts.incrementAndGet();
        throw new IllegalStateException("poison #" + ctx.deliveryCount());
      }
      return ok.handle(s, ctx);
    });
    broker.start();
    broker.publish("poison", stream("orders"));
    broker.publish("good", stream("orders"));
    assertThat(ok.awaitOne().payload()).isEqualTo("good");
    await().atMost(Duration.ofSeconds(15)).until(() -> xlen("{orders}:dlq") == 1);
    assertThat(poisonAttempts.get()).isEqualTo(3);
    var entry = raw().sync().xrange(utf8("{orders}:dlq"), io.lettuce.core.Range.create("-", "+")).get(0);
    var frame = Envelope.decode(entry.getBody().get(utf8Key(entry.getBody(), "__data__")));
    assertThat(new String(frame.payload())).isEqualTo("poison");
    assertThat(frame.header("x-original")).isEqualTo("orders");
    assertThat(frame.header("x-group")).isEqualTo("g");
    assertThat(frame.header("x-delivery-count")).isEqualTo("4");
    assertThat(frame.header("x-original-id")).matches("\\d+-\\d+");
    assertThat(frame.header("x-error")).isEqualTo("delivered 4 times, more than maxDeliveries 3; last error: java.lang.IllegalStateException: poison #3");
    await().atMost(Duration.ofSeconds(5)).until(() -> pending("orders", "g") == 0);
    broker.publish("still flowing", stream("orders"));
    ok.awaitCount(2);
  }

  private static byte[] utf8Key(Map<byte[], byte[]> body, String key) {
    return body.keySet().stream().filter(k -> new String(k).equals(key)).findFirst().orElseThrow();
  }

  @Test
  void rejectOnErrorDeadLettersAtOnce() {
    RedisBroker broker = broker();
    broker.subscriber(stream("r").group("g")).handle(String.class, (s, ctx) -> {
      throw new IllegalArgumentException("bad " + s);
    });
    broker.start();
    broker.publish("x", stream("r"));
    await().atMost(Duration.ofSeconds(5)).until(() -> xlen("{r}:dlq") == 1);
    await().atMost(Duration.ofSeconds(5)).until(() -> pending("r", "g") == 0);
    var entry = raw().sync().xrange(utf8("{r}:dlq"), io.lettuce.core.Range.create("-", "+")).get(0);
    var frame = Envelope.decode(entry.getBody().values().iterator().next());
    assertThat(frame.header("x-error")).isEqualTo("java.lang.IllegalArgumentException: bad x");
    assertThat(frame.header("x-delivery-count")).isEqualTo("1");
  }

  @Test
  void ackPoliciesLeaveTheRightPendingEntries() {
    record Case(AckPolicy policy, long pendingAfterFailure, long deadLetters) {}
    List<Case> cases = List.of(
        new Case(AckPolicy.ACK_FIRST, 0, 0), new Case(AckPolicy.ACK, 0, 0),
        new Case(AckPolicy.REJECT_ON_ERROR, 0, 1), new Case(AckPolicy.NACK_ON_ERROR, 1, 0),
        new Case(AckPolicy.MANUAL, 1, 0));
    for (Case c : cases) {
      String name = "ap-" + c.policy().name().toLowerCase();
      RedisBroker broker = broker();
      AtomicInteger calls = new AtomicInteger();
      broker.subscriber(stream(name).group("g").consumer("c")).ackPolicy(c.policy()).handle(String.class, (s, ctx) -> {
        calls.incrementAndGet();
        throw new IllegalStateException("fails");
      });
      broker.start();
      broker.publish("m", stream(name));
      await().atMost(Duration.ofSeconds(5)).until(() -> calls.get() == 1);
      await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> {
        assertThat(pending(name, "g")).as(c.policy() + " pending").isEqualTo(c.pendingAfterFailure());
        assertThat(xlen("{" + name + "}:dlq")).as(c.policy() + " dead letters").isEqualTo(c.deadLetters());
      });
    }
  }

  @Test
  void manualAckWithTheContext() {
    RedisBroker broker = broker();
    broker.subscriber(stream("man").group("g")).ackPolicy(AckPolicy.MANUAL).handle(String.class, (s, ctx) -> {
      if (s.equals("ack")) {
        ctx.ack();
      } else {
        ctx.reject();
      }
      return null;
    });
    broker.start();
    broker.publish("ack", stream("man"));
    broker.publish("reject", stream("man"));
    await().atMost(Duration.ofSeconds(5)).until(() -> pending("man", "g") == 0 && xlen("{man}:dlq") == 1);
  }

  @Test
  void deletingTheStreamRecreatesTheGroupWithOneLogLine() {
    ListAppender<ILoggingEvent> log = new ListAppender<>();
    log.start();
    Logger logger = (Logger) LoggerFactory.getLogger("dev.brook.redis.Stream");
    logger.addAppender(log);
    try {
      RedisBroker broker = broker();
      Recorder<String> recorder = new Recorder<>();
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
  void startFromBeginningReadsHistoryAndAnExistingGroupResumes() {
    RedisBroker publisher = broker();
    publisher.publishBatch(List.of("old1", "old2"), stream("hist"));

    RedisBroker first = broker();
    Recorder<String> fromStart = new Recorder<>();
    Subscription s1 = first.subscriber(stream("hist").group("g").consumer("a").startFrom(StreamDestination.BEGINNING))
        .handle(String.class, fromStart);
    first.start();
    fromStart.awaitCount(2);
    assertThat(fromStart.payloads()).containsExactly("old1", "old2");
    s1.close();

    publisher.publish("new1", stream("hist"));
    RedisBroker second = broker();
    Recorder<String> resumed = new Recorder<>();
    second.subscriber(stream("hist").group("g").consumer("b").startFrom(StreamDestination.BEGINNING)).handle(String.class, resumed);
    second.start();
    resumed.awaitOne();
    assertThat(resumed.payloads()).containsExactly("new1");

    RedisBroker latest = broker();
    Recorder<String> onlyNew = new Recorder<>();
    latest.subscriber(stream("hist").group("fresh")).handle(String.class, onlyNew);
    latest.start();
    publisher.publish("new2", stream("hist"));
    onlyNew.awaitOne();
    assertThat(onlyNew.payloads()).containsExactly("new2");
  }

  @Test
  void ownPendingEntriesAreDeliveredFirstAfterARestart() {
    RedisBroker broker = broker();
    List<String> firstRun = new CopyOnWriteArrayList<>();
    Subscription sub = broker.subscriber(stream("own").group("g").consumer("c1")).ackPolicy(AckPolicy.MANUAL)
        .handle(String.class, (s, ctx) -> {
          firstRun.add(s); // never acknowledged
          return null;
        });
    broker.start();
    broker.publishBatch(List.of("p1", "p2"), stream("own"));
    await().atMost(Duration.ofSeconds(5)).until(() -> firstRun.size() == 2);
    sub.close();
    assertThat(pending("own", "g")).isEqualTo(2);

    Recorder<String> again = new Recorder<>();
    broker.subscriber(stream("own").group("g").consumer("c1")).handle(String.class, again);
    again.awaitCount(2);
    assertThat(again.payloads()).containsExactly("p1", "p2");
    assertThat(again.calls().get(0).context().deliveryCount()).isEqualTo(2);
    await().atMost(Duration.ofSeconds(5)).until(() -> pending("own", "g") == 0);
  }

  @Test
  void idleEntriesOfAGoneConsumerAreClaimedWhileNewOnesKeepFlowing() {
    RedisBroker broker = broker();
    // A consumer that read two entries and vanished without acknowledging them.
    redis.command("XGROUP", "CREATE", "claim", "g", "$", "MKSTREAM");
    broker.publishBatch(List.of("orphan1", "orphan2"), stream("claim"));
    redis.command("XREADGROUP", "GROUP", "g", "ghost", "COUNT", "10", "STREAMS", "claim", ">");

    Recorder<String> live = new Recorder<>();
    broker.subscriber(stream("claim").group("g").consumer("live").minIdle(Duration.ofMillis(300))).handle(String.class, live);
    broker.start();
    broker.publish("fresh", stream("claim"));
    live.awaitCount(3);
    assertThat(live.payloads()).containsExactlyInAnyOrder("orphan1", "orphan2", "fresh");
    assertThat(live.payloads().get(0)).isEqualTo("fresh"); // new entries are not held up by the claim
    await().atMost(Duration.ofSeconds(5)).until(() -> pending("claim", "g") == 0);
  }

  @Test
  void streamWithoutGroupReadsFromNowAtMostOnce() {
    RedisBroker broker = broker();
    broker.publish("before", stream("plain"));
    Recorder<String> recorder = new Recorder<>();
    Subscription sub = broker.subscriber(stream("plain")).handle(String.class, recorder);
    assertThat(sub.id()).isEqualTo("stream:plain");
    broker.start();
    broker.publish("after", stream("plain"));
    recorder.awaitOne();
    assertThat(recorder.payloads()).containsExactly("after");
  }

  @Test
  void entriesWithoutDataFieldAreDecodedAsJsonOfTheirFields() {
    record Reading(String sensor, String value) {}
    RedisBroker broker = broker();
    Recorder<Reading> recorder = new Recorder<>();
    broker.subscriber(stream("sensors").group("g")).handle(Reading.class, recorder);
    broker.start();
    redis.command("XADD", "sensors", "*", "sensor", "t1", "value", "21.5");
    assertThat(recorder.awaitOne().payload()).isEqualTo(new Reading("t1", "21.5"));
  }

  @Test
  void maxLenTrimsApproximately() {
    RedisBroker broker = broker();
    for (int i = 0; i < 500; i++) {
      broker.publish("x" + i, stream("trim").maxLen(100));
    }
    assertThat(xlen("trim")).isBetween(100L, 300L);
  }

  @Test
  void deleteOnAckRemovesHandledEntries() {
    RedisBroker broker = broker();
    Recorder<String> recorder = new Recorder<>();
    broker.subscriber(stream("del").group("g").deleteOnAck()).handle(String.class, recorder);
    broker.start();
    broker.publishBatch(List.of("a", "b"), stream("del"));
    recorder.awaitCount(2);
    await().atMost(Duration.ofSeconds(5)).until(() -> xlen("del") == 0);
  }

  @Test
  void batchesWithOneAckPerBatch() {
    RedisBroker broker = broker();
    List<Integer> sizes = new CopyOnWriteArrayList<>();
    Set<String> all = ConcurrentHashMap.newKeySet();
    broker.subscriber(stream("sb").group("g")).batch(20).handle(String.class, (List<String> items, MessageContext ctx) -> {
      sizes.add(items.size());
      all.addAll(items);
      return null;
    });
    broker.start();
    broker.publishBatch(IntStream.range(0, 150).mapToObj(i -> "s" + i).toList(), stream("sb"));
    await().atMost(Duration.ofSeconds(10)).until(() -> all.size() == 150);
    assertThat(sizes).allMatch(s -> s >= 1 && s <= 20);
    await().atMost(Duration.ofSeconds(5)).until(() -> pending("sb", "g") == 0);
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
