package dev.brook.tests;

import static dev.brook.redis.Redis.list;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import dev.brook.redis.RedisBroker;
import dev.brook.redis.Schedule;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

/**
 * A schedule whose every tick fails (its supplier throws) logs a bounded number of lines, not one
 * ERROR with a stack trace per tick: 60 failing ticks at 20 ms give at most 10 lines plus a summary.
 */
class ProbeScheduleLogTest extends RedisTestBase {

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

  @Test
  void aScheduleFailingEveryTickLogsABoundedNumberOfLines() {
    RedisBroker broker = broker();
    AtomicInteger ticks = new AtomicInteger();
    broker.schedule("failing", Schedule.every(Duration.ofMillis(20)), () -> {
      ticks.incrementAndGet();
      throw new IllegalStateException("the report service is down");
    }, list("reports"));
    await().atMost(Duration.ofSeconds(20)).until(() -> ticks.get() >= 60);
    List<ILoggingEvent> lines = log.list.stream().filter(e -> e.getLevel().isGreaterOrEqual(Level.WARN)).toList();
    assertThat(lines.size()).as("lines for %d failed ticks: %s", ticks.get(),
        lines.stream().map(ILoggingEvent::getFormattedMessage).toList()).isLessThanOrEqualTo(11);
    assertThat(lines.get(0).getFormattedMessage()).contains("Schedule 'failing' failed to fire its tick", "the report service is down");
  }
}
