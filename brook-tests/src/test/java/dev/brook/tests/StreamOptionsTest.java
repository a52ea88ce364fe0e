package dev.brook.tests;

import static dev.brook.redis.Redis.list;
import static dev.brook.redis.Redis.stream;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.brook.BrookException;
import dev.brook.redis.RedisBroker;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/**
 * Redis-only sides of the stream and list options: a poll interval Redis could not answer within
 * the command timeout is refused at start. (declare(false) is in StreamOptionsBehaviour, on both backends.)
 */
class StreamOptionsTest extends RedisTestBase {

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
