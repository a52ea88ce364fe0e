package dev.brook.tests.behaviour;

import static dev.brook.redis.Redis.list;
import static dev.brook.redis.Redis.stream;
import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import dev.brook.Subscription;
import dev.brook.redis.RedisBroker;
import dev.brook.tests.Calls;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

/**
 * FastStream's stream and list subscriber options: a group Brook does not create ({@code
 * declare(false)}), NOACK reads ({@code no_ack}) and the read's block time ({@code
 * polling_interval}).
 */
abstract class StreamOptionsBehaviour extends Behaviour {

  StreamOptionsBehaviour(Backend backend) {
    super(backend);
  }

  @Test
  void aNoAckGroupKeepsNothingPendingAFailedEntryIsGone() {
    RedisBroker broker = started();
    List<String> seen = new CopyOnWriteArrayList<>();
    Subscription sub = broker.subscriber(stream("na").group("g").consumer("c").noAck()).handle(String.class, (s, ctx) -> {
      seen.add(s);
      if (s.equals("bad")) {
        throw new IllegalStateException("bad");
      }
      return null;
    });
    assertThat(sub.destination().atLeastOnce()).isFalse();
    backend.despiteFailures(() -> broker.publish("bad", stream("na")));
    broker.publish("good", stream("na"));
    eventually().until(() -> seen.size() == 2);
    backend.pass(Duration.ofSeconds(1));
    assertThat(seen).containsExactly("bad", "good");
    assertThat(backend.pending("na", "g")).isEmpty();
    assertThat(backend.stream("{na}:dlq")).isEmpty();
    assertThat(backend.stream("na")).hasSize(2); // not deleted: NOACK only skips the pending list
    eventually().until(() -> sub.metrics().failed() == 1);
  }

  @Test
  void withoutDeclareAMissingStreamAndGroupAreReportedNotCreatedAndReadOnceAnOperatorCreatesThem() {
    ListAppender<ILoggingEvent> log = new ListAppender<>();
    log.start();
    Logger streamLog = (Logger) LoggerFactory.getLogger("dev.brook.redis.Stream");
    streamLog.addAppender(log);
    try {
      RedisBroker broker = started();
      Calls<String> calls = new Calls<>();
      broker.subscriber(stream("owned").group("g").consumer("a").declare(false)).handle(String.class, calls);
      eventually().until(() -> errors(log).size() == 1);
      assertThat(errors(log).get(0)).contains("Consumer group 'g' of stream 'owned' does not exist", "declare(false)",
          "XGROUP CREATE owned g $ MKSTREAM", "drop declare(false)");
      backend.pass(Duration.ofMillis(1500)); // Redis: the consumer backs off and retries, reporting no more yet
      assertThat(errors(log)).hasSize(1);
      assertThat(backend.stream("owned")).as("not created by the subscription").isEmpty();

      // the producer creates the stream, but not the group: nothing is read, nothing is created
      broker.publish("first", stream("owned"));
      backend.pass(Duration.ofMillis(500));
      assertThat(calls.payloads()).isEmpty();
      // the operator creates the group (from the start): the consumer reads it, without a restart
      assertThat(backend.command("XGROUP", "CREATE", "owned", "g", "0")).isEqualTo("OK"); // not BUSYGROUP
      eventually().until(() -> calls.payloads().equals(List.of("first")));
      eventually().until(() -> backend.pending("owned", "g").isEmpty());
      assertThat(errors(log)).hasSize(1);
    } finally {
      streamLog.detachAppender(log);
    }
  }

  @Test
  void withoutDeclareAGroupIsNotMadeOnAStreamThatExistsTheOperatorMakesIt() {
    ListAppender<ILoggingEvent> log = new ListAppender<>();
    log.start();
    Logger streamLog = (Logger) LoggerFactory.getLogger("dev.brook.redis.Stream");
    streamLog.addAppender(log);
    try {
      RedisBroker broker = started();
      broker.publish("old", stream("exists"));
      Calls<String> calls = new Calls<>();
      broker.subscriber(stream("exists").group("g").consumer("a").declare(false)).handle(String.class, calls);
      eventually().until(() -> errors(log).size() == 1);
      assertThat(errors(log).get(0)).contains("Consumer group 'g' of stream 'exists' does not exist",
          "XGROUP CREATE exists g $ MKSTREAM");
      backend.pass(Duration.ofMillis(300));
      // the group was not made by the subscription: the operator's XGROUP CREATE is not BUSYGROUP
      assertThat(backend.command("XGROUP", "CREATE", "exists", "g", "$")).isEqualTo("OK");
      broker.publish("new", stream("exists"));
      eventually().until(() -> calls.payloads().equals(List.of("new"))); // at "$", as the operator said
      assertThat(errors(log)).hasSize(1);
    } finally {
      streamLog.detachAppender(log);
    }
  }

  @Test
  void aStreamDeletedUnderADeclareFalseConsumerIsReportedNotRecreatedAndReadOnceTheGroupIsBack() {
    ListAppender<ILoggingEvent> log = new ListAppender<>();
    log.start();
    Logger streamLog = (Logger) LoggerFactory.getLogger("dev.brook.redis.Stream");
    streamLog.addAppender(log);
    try {
      RedisBroker broker = started();
      backend.command("XGROUP", "CREATE", "ext", "g", "$", "MKSTREAM");
      Calls<String> calls = new Calls<>();
      broker.subscriber(stream("ext").group("g").consumer("c").declare(false)).handle(String.class, calls);
      broker.publish("one", stream("ext"));
      eventually().until(() -> calls.payloads().equals(List.of("one")));
      assertThat(errors(log)).isEmpty();

      assertThat(backend.command("DEL", "ext")).isEqualTo(1L); // NOGROUP from now on
      eventually().until(() -> errors(log).size() == 1);
      assertThat(errors(log).get(0)).contains("Consumer group 'g' of stream 'ext' does not exist", "declare(false)");
      backend.pass(Duration.ofSeconds(2)); // not created again, and not a hot loop: one ERROR, a few retries
      assertThat(backend.stream("ext")).isEmpty();
      assertThat(errors(log)).hasSize(1);

      broker.publish("two", stream("ext")); // the stream is back, its group is not
      backend.pass(Duration.ofMillis(300));
      assertThat(calls.payloads()).containsExactly("one");
      assertThat(backend.command("XGROUP", "CREATE", "ext", "g", "0")).isEqualTo("OK");
      eventually().until(() -> calls.payloads().equals(List.of("one", "two")));
      assertThat(errors(log)).hasSize(1);
    } finally {
      streamLog.detachAppender(log);
    }
  }

  @Test
  void aHandlerDeletesOneEntryWithCtxDeleteTheOthersStay() {
    RedisBroker broker = started();
    List<String> seen = new CopyOnWriteArrayList<>();
    broker.subscriber(stream("del").group("g").consumer("c")).handle(String.class, (s, ctx) -> {
      if (s.startsWith("drop")) {
        ctx.delete();
      }
      seen.add(s);
      return null;
    });
    broker.subscriber(list("del-list").consumer("c")).handle(String.class, (s, ctx) -> {
      ctx.delete(); // nothing to delete on a list: a no-op
      seen.add(s);
      return null;
    });
    broker.publish("keep", stream("del"));
    broker.publish("drop", stream("del"));
    broker.publish("item", list("del-list"));
    eventually().until(() -> seen.size() == 3);
    eventually().until(() -> backend.pending("del", "g").isEmpty());
    assertThat(backend.stream("del")).extracting(Backend.Stored::text).containsExactly("keep");
    eventually().until(() -> backend.list("{del-list}:processing:c").isEmpty());
  }

  @Test
  void noAckOrDeclareWithoutAGroupWarnsThatItHasNoEffect() {
    ListAppender<ILoggingEvent> log = new ListAppender<>();
    log.start();
    Logger streamLog = (Logger) LoggerFactory.getLogger("dev.brook.redis.Stream");
    streamLog.addAppender(log);
    try {
      RedisBroker broker = started();
      Calls<String> calls = new Calls<>();
      broker.subscriber(stream("plain").noAck()).handle(String.class, calls);
      eventually().until(() -> log.list.stream().anyMatch(e -> e.getLevel() == Level.WARN
          && e.getFormattedMessage().contains("noAck() on stream plain without a group")));
      broker.publish("still read", stream("plain"));
      assertThat(calls.awaitOne().payload()).isEqualTo("still read");
    } finally {
      streamLog.detachAppender(log);
    }
  }

  private static List<String> errors(ListAppender<ILoggingEvent> log) {
    return log.list.stream().filter(e -> e.getLevel() == Level.ERROR).map(ILoggingEvent::getFormattedMessage).toList();
  }

  @Test
  void aPollIntervalChangesHowLongAReadWaitsNotWhatArrives() {
    RedisBroker broker = started();
    Calls<String> fromStream = new Calls<>();
    Calls<String> fromGroup = new Calls<>();
    Calls<String> fromList = new Calls<>();
    Calls<String> fromPlainList = new Calls<>();
    broker.subscriber(stream("ps").pollInterval(Duration.ofMillis(20))).handle(String.class, fromStream);
    broker.subscriber(stream("pg").group("g").consumer("c").pollInterval(Duration.ofMillis(20))).handle(String.class, fromGroup);
    broker.subscriber(list("pl").consumer("c").pollInterval(Duration.ofMillis(20))).handle(String.class, fromList);
    broker.subscriber(list("pp").atMostOnce().pollInterval(Duration.ofMillis(20))).handle(String.class, fromPlainList);
    backend.pass(Duration.ofMillis(100)); // several empty reads on Redis
    broker.publish("s", stream("ps"));
    broker.publish("g", stream("pg"));
    broker.publish("l", list("pl"));
    broker.publish("p", list("pp"));
    assertThat(fromStream.awaitOne().payload()).isEqualTo("s");
    assertThat(fromGroup.awaitOne().payload()).isEqualTo("g");
    assertThat(fromList.awaitOne().payload()).isEqualTo("l");
    assertThat(fromPlainList.awaitOne().payload()).isEqualTo("p");
    eventually().until(() -> backend.pending("pg", "g").isEmpty() && backend.list("{pl}:processing:c").isEmpty());
  }
}
