package dev.brook.tests;

import static dev.brook.redis.Redis.channel;
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

/** A message that cannot be decoded never kills a consume loop. */
class BadInputTest extends RedisTestBase {

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

  private List<String> warnings() {
    return log.list.stream().filter(e -> e.getLevel() == Level.WARN).map(ILoggingEvent::getFormattedMessage).toList();
  }

  @Test
  void garbageToABytesHandlerIsDeliveredRaw() {
    RedisBroker broker = broker();
    Calls<byte[]> recorder = new Calls<>();
    broker.subscriber(channel("bad")).handle(byte[].class, recorder);
    broker.start();
    byte[] garbage = {(byte) 0xC3, 0x28, 0x00, (byte) 0xFF, '{', '}'};
    raw().sync().publish(utf8("bad"), garbage);
    assertThat(recorder.awaitOne().payload()).containsExactly(garbage);
  }

  @Test
  void garbageToARecordHandlerIsLoggedOnceCountedAndSkipped() {
    RedisBroker broker = broker();
    Calls<Order> recorder = new Calls<>();
    Subscription sub = broker.subscriber(channel("bad")).handle(Order.class, recorder);
    broker.start();
    raw().sync().publish(utf8("bad"), utf8("this is not json"));
    broker.publish(new Order(1, "good"), channel("bad"), Map.of("correlation_id", "good-1"));

    assertThat(recorder.awaitOne().payload()).isEqualTo(new Order(1, "good"));
    assertThat(sub.metrics().decodeErrors()).isEqualTo(1);
    assertThat(sub.metrics().received()).isEqualTo(2);
    assertThat(sub.metrics().handled()).isEqualTo(1);
    List<String> warnings = warnings();
    assertThat(warnings).hasSize(1);
    assertThat(warnings.get(0))
        .startsWith("Cannot decode message ")
        .contains(" from bad (subscription 'channel:bad') into dev.brook.tests.BadInputTest$Order: Unrecognized token 'this'")
        .endsWith(". Skipped; the subscription goes on.");
  }

  @Test
  void wrongShapeAndEmptyAndNullAreDecodeErrorsToo() {
    RedisBroker broker = broker();
    Calls<Order> recorder = new Calls<>();
    Subscription sub = broker.subscriber(channel("bad")).handle(Order.class, recorder);
    broker.start();
    var redisConnection = raw().sync();
    redisConnection.publish(utf8("bad"), utf8("[1, 2, 3]"));
    redisConnection.publish(utf8("bad"), new byte[0]);
    redisConnection.publish(utf8("bad"), utf8("null"));
    redisConnection.publish(utf8("bad"), utf8("{\"id\": \"not a number\"}"));
    broker.publish(new Order(2, "still fine"), channel("bad"));
    assertThat(recorder.awaitOne().payload()).isEqualTo(new Order(2, "still fine"));
    assertThat(sub.metrics().decodeErrors()).isEqualTo(4);
    assertThat(warnings()).hasSize(4).allMatch(w -> w.startsWith("Cannot decode message "));
  }
}
