package dev.brook.internal;

import dev.brook.RequestMetrics;

/** A snapshot of {@link Requests}' counters: a value, printed as the public view's name with its counters. */
record RequestSnapshot(long pending, long replied, long timedOut, long lateReplies) implements RequestMetrics {
  @Override
  public String toString() {
    return "RequestMetrics[pending=" + pending + ", replied=" + replied + ", timedOut=" + timedOut
        + ", lateReplies=" + lateReplies + "]";
  }
}
