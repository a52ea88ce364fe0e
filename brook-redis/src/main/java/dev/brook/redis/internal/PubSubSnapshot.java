package dev.brook.redis.internal;

import dev.brook.redis.PubSubMetrics;
import java.time.Duration;

/** A snapshot of the shared Pub/Sub connection's counters: a value, printed as the public view's name with its counters. */
public record PubSubSnapshot(long received, long disconnects, Duration downtime, long estimatedLost)
    implements PubSubMetrics {
  @Override
  public String toString() {
    return "PubSubMetrics[received=" + received + ", disconnects=" + disconnects + ", downtime=" + downtime
        + ", estimatedLost=" + estimatedLost + "]";
  }
}
