package dev.brook.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class WarnLimitTest {

  private final AtomicLong now = new AtomicLong(1_000);
  private final WarnLimit limit = new WarnLimit(3, 1, TimeUnit.MINUTES, now::get);

  private List<Long> events(int n) {
    List<Long> out = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      out.add(limit.acquire());
    }
    return out;
  }

  @Test
  void theFirstLinesOfAWindowAreLoggedTheRestCountedForTheNextWindow() {
    assertThat(events(5)).containsExactly(0L, 0L, 0L, -1L, -1L);
    now.addAndGet(TimeUnit.SECONDS.toNanos(59));
    assertThat(events(1)).containsExactly(-1L);
    now.addAndGet(TimeUnit.SECONDS.toNanos(1));
    // A new window: its first event reports the three suppressed before it, then logs.
    assertThat(events(4)).containsExactly(3L, 0L, 0L, -1L);
  }

  @Test
  void aQuietWindowReportsNothing() {
    assertThat(events(2)).containsExactly(0L, 0L);
    now.addAndGet(TimeUnit.MINUTES.toNanos(5));
    assertThat(events(1)).containsExactly(0L);
  }
}
