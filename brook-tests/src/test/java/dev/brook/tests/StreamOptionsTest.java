package dev.brook.tests;

import static dev.brook.redis.Redis.list;
import static dev.brook.redis.Redis.stream;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import dev.brook.BrookException;
import dev.brook.redis.RedisBroker;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

/**
 * Redis-only sides of the stream and list options: a stream that disappears under a {@code
 * declare(false)} consumer is reported, not created again, and read once it is back; a poll
 * interval Redis could not answer within the command timeout is refused at start.
 */
class StreamOptionsTest extends RedisTestBase {

  @Test
  void aStreamDeletedUnderADeclareFalseConsumerIsReportedNotRecreated() {
    ListAppender<ILoggingEvent> log = new ListAppender<>();
    log.start();
    Logger streamLog = (Logger) LoggerFactory.getLogger("dev.brook.redis.Stream");
    streamLog.addAppender(log);
    try {
      var raw = raw().sync();
      RedisBroker broker = broker();
      broker.start();
      broker.publish("zero", stream("ext")); // the stream exists: the group is made on it
      Calls<String> calls = new Calls<>();
      broker.subscriber(stream("ext").group("g").consumer("c").declare(false)).handle(String.class, calls);
      broker.publish("one", stream("ext"));
      calls.awaitOne();
      assertThat(log.list).noneMatch(e -> e.getLevel() == Level.ERROR);

      raw.del(utf8("ext"));
      await().atMost(Duration.ofSeconds(10)).until(() -> log.list.stream().anyMatch(e -> e.getLevel() == Level.ERROR
          && e.getFormattedMessage().contains("declare(false)")));
      // not created again by Brook, and not a hot loop: one ERROR, a few retries
      await().pollDelay(Duration.ofSeconds(2)).until(() -> true);
      assertThat(raw.exists(utf8("ext"))).isZero();
      assertThat(log.list).filteredOn(e -> e.getLevel() == Level.ERROR).hasSize(1);

      broker.publish("two", stream("ext"));
      await().atMost(Duration.ofSeconds(10)).until(() -> calls.payloads().contains("two"));
    } finally {
      streamLog.detachAppender(log);
    }
  }

  @Test
  void aPollIntervalTheCommandTimeoutCannotCoverIsRefusedAtStart() {
    RedisBroker broker = broker(b -> b.commandTimeout(Duration.ofSeconds(2)));
    broker.subscriber(stream("slow").pollInterval(Duration.ofSeconds(1))).handle(String.class, (s, c) -> null);
    assertThatThrownBy(broker::start).hasStackTraceContaining("pollInterval PT1S of stream:slow must be shorter than half");
    RedisBroker other = broker(b -> b.commandTimeout(Duration.ofSeconds(2)));
    other.subscriber(list("slow").pollInterval(Duration.ofSeconds(5))).handle(String.class, (s, c) -> null);
    assertThatThrownBy(other::start).isInstanceOf(BrookException.class)
        .hasStackTraceContaining("pollInterval PT5S of list:slow must be shorter than half");
  }
}
