package dev.brook.redis.internal.stream;

import static org.assertj.core.api.Assertions.assertThat;

import dev.brook.redis.internal.Backoffs;
import dev.brook.redis.internal.ManualTiming;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/** When nacked Stream entries are claimed again, on a manual clock. */
class StreamRetriesTest {

  private final ManualTiming clock = new ManualTiming();
  private final StreamRetries retries = new StreamRetries(clock, Backoffs.STREAM_NACK);

  @Test
  void aNackedEntryIsDueAfter100MsDoublingPerAttemptTo2s() {
    retries.schedule("5-0", 1);
    clock.advance(Duration.ofMillis(99));
    assertThat(retries.takeDue(10)).isEmpty();
    assertThat(retries.contains("5-0")).isTrue();
    clock.advance(Duration.ofMillis(1));
    assertThat(retries.takeDue(10)).containsExactly("5-0");
    assertThat(retries.contains("5-0")).isFalse();
    assertThat(retries.takeDue(10)).isEmpty();

    retries.schedule("5-0", 3);
    clock.advance(Duration.ofMillis(399));
    assertThat(retries.takeDue(10)).isEmpty();
    clock.advance(Duration.ofMillis(1));
    assertThat(retries.takeDue(10)).containsExactly("5-0");

    retries.schedule("5-0", 9);
    clock.advance(Duration.ofMillis(1999));
    assertThat(retries.takeDue(10)).isEmpty();
    clock.advance(Duration.ofMillis(1));
    assertThat(retries.takeDue(10)).containsExactly("5-0");
  }

  @Test
  void dueEntriesComeInIdOrderAtMostMaxAtATime() {
    retries.schedule("10-0", 1);
    retries.schedule("9-1", 1);
    retries.schedule("9-0", 1);
    clock.advance(Duration.ofMillis(100));
    assertThat(retries.takeDue(3)).containsExactly("9-0", "9-1", "10-0");

    for (int i = 0; i < 5; i++) {
      retries.schedule(i + "-0", 1);
    }
    clock.advance(Duration.ofMillis(100));
    assertThat(retries.takeDue(2)).hasSize(2);
    assertThat(retries.takeDue(10)).hasSize(3);
  }

  @Test
  void aBlockingReadWaitsNoLongerThanTheNextRetry() {
    assertThat(retries.blockMillis(2_000)).isEqualTo(2_000);
    retries.schedule("1-0", 2); // due in 200 ms
    assertThat(retries.blockMillis(2_000)).isEqualTo(201);
    clock.advance(Duration.ofMillis(150));
    assertThat(retries.blockMillis(2_000)).isEqualTo(51);
    clock.advance(Duration.ofMillis(100));
    assertThat(retries.blockMillis(2_000)).isEqualTo(1); // overdue: a short read, then the claim
    assertThat(retries.blockMillis(100)).isEqualTo(1);
  }
}
