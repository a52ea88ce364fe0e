package dev.brook.internal;

import java.time.Duration;
import org.awaitility.Awaitility;
import org.awaitility.core.ConditionFactory;

/** Awaitility for conditions that hold within moments: looks at once, then every 5 ms, for up to 10 s. */
final class Soon {

  private Soon() {}

  static ConditionFactory soon() {
    return Awaitility.await().atMost(Duration.ofSeconds(10)).pollDelay(Duration.ZERO).pollInterval(Duration.ofMillis(5));
  }
}
