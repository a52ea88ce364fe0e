package dev.brook.internal;

import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;

/**
 * Keeps a per-message WARN from flooding the log: at most {@code perWindow} lines in each window
 * (a minute); the rest of the window's events are counted and reported in one summary line before
 * the first line of a later window. Each event is therefore either logged at WARN on its own or
 * counted in a summary (and logged at DEBUG by the caller).
 *
 * <p>Thread-safe; a few field updates under the object's monitor per event. No timer: a summary
 * waits for the next event after its window, and the counters that matter (a subscription's
 * {@code decodeErrors}) count every event anyway.
 */
public final class WarnLimit {

  /** Lines a subscription may log per minute for messages it cannot read, before it summarizes. */
  public static final int DECODE_WARNINGS_PER_MINUTE = 10;

  private final int perWindow;
  private final long windowNanos;
  private final LongSupplier nanoTime;
  private long windowStart;
  private int logged;
  private long suppressed;

  WarnLimit(int perWindow, long window, TimeUnit unit, LongSupplier nanoTime) {
    this.perWindow = perWindow;
    this.windowNanos = unit.toNanos(window);
    this.nanoTime = nanoTime;
    this.windowStart = nanoTime.getAsLong();
  }

  public static WarnLimit perMinute(int lines) {
    return new WarnLimit(lines, 1, TimeUnit.MINUTES, System::nanoTime);
  }

  /**
   * Registers one event.
   *
   * @return -1 when this event must not get its own WARN line (it is counted for the summary);
   *     otherwise how many events were suppressed before it (report them first when above 0)
   */
  public synchronized long acquire() {
    long now = nanoTime.getAsLong();
    if (now - windowStart >= windowNanos) {
      long before = suppressed;
      windowStart = now;
      logged = 1;
      suppressed = 0;
      return before;
    }
    if (logged < perWindow) {
      logged++;
      return 0;
    }
    suppressed++;
    return -1;
  }
}
