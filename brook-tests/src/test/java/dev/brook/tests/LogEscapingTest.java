package dev.brook.tests;

import static dev.brook.redis.Redis.channel;
import static dev.brook.redis.Redis.pattern;
import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import dev.brook.Subscription;
import dev.brook.redis.RedisBroker;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

/**
 * Log forging: what a producer chooses (a channel a pattern matched, a message id) reaches the log
 * with its line breaks and terminal escapes escaped, so it cannot start a forged line or rewrite the
 * terminal of whoever reads the log.
 */
class LogEscapingTest extends RedisTestBase {

  record Order(long id, String item) {}

  private final ListAppender<ILoggingEvent> log = new ListAppender<>();
  private final Logger logger = (Logger) LoggerFactory.getLogger("dev.brook.Subscription");

  @BeforeEach
  void captureLog() {
    log.start();
    logger.addAppender(log);
  }

  @AfterEach
  void releaseLog() {
    logger.detachAppender(log);
  }

  @Test
  void aChannelNameAndMessageIdWithLineBreaksAndEscBytesAreLoggedEscaped() {
    RedisBroker broker = broker();
    Calls<Order> recorder = new Calls<>();
    Subscription sub = broker.subscriber(pattern("evil.*")).handle(Order.class, recorder);
    broker.start();
    String forgedChannel = "evil.x\n12:00:00.000 ERROR [main] d.b.Forged - all is well\u001b[2J";
    String forgedId = "m-1\r\n\u001b[31mforged\u0085\u2028";
    broker.publish(utf8("not an order"), channel(forgedChannel), Map.of("message_id", forgedId));
    broker.publish(new Order(1, "good"), channel("evil.ok"));

    assertThat(recorder.awaitOne().payload()).isEqualTo(new Order(1, "good"));
    assertThat(sub.metrics().decodeErrors()).isEqualTo(1);
    List<String> warnings = log.list.stream().filter(e -> e.getLevel() == Level.WARN)
        .map(ILoggingEvent::getFormattedMessage).toList();
    assertThat(warnings).hasSize(1);
    assertThat(warnings.get(0))
        .startsWith("Cannot decode message m-1\\r\\n\\x1b[31mforged\\x85\\u2028 from "
            + "evil.x\\n12:00:00.000 ERROR [main] d.b.Forged - all is well\\x1b[2J (subscription 'pattern:evil.*') into ")
        .doesNotContain("\n", "\r", "\u001b", "\u0085", "\u2028");
  }
}
