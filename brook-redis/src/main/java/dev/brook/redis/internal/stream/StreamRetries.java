package dev.brook.redis.internal.stream;

import dev.brook.redis.internal.Backoffs;
import dev.brook.redis.internal.Timing;
import io.lettuce.core.resource.Delay;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * The nacked entries of one Stream-group consumer waiting for their retry: each stays pending for
 * this consumer and is claimed again once its back-off ({@link Backoffs#STREAM_NACK}: 100 ms
 * doubling per attempt, at most 2 s) has passed on the transport's {@link Timing}. Handlers nack on
 * their threads; the consume loop takes what is due and shortens its blocking reads so a retry is
 * not late.
 */
final class StreamRetries {

  private final Timing timing;
  private final Delay backoff;
  /** Entry id → when (on {@code timing}'s nanoTime) it is due. */
  private final Map<String, Long> due = new ConcurrentHashMap<>();

  StreamRetries(Timing timing, Delay backoff) {
    this.timing = timing;
    this.backoff = backoff;
  }

  /** The handler's attempt {@code attempt} (from 1) of this entry failed: retry it after the back-off. */
  void schedule(String id, long attempt) {
    due.put(id, timing.nanoTime() + backoff.createDelay(attempt).toNanos());
  }

  /** Retry this entry after {@code delay} (a subscription's retry back-off). */
  void schedule(String id, java.time.Duration delay) {
    due.put(id, timing.nanoTime() + Math.max(0, delay.toNanos()));
  }

  /** The ids waiting now (any thread): their idle time is kept fresh in Redis while they wait. */
  List<String> waiting() {
    return new ArrayList<>(due.keySet());
  }

  boolean contains(String id) {
    return due.containsKey(id);
  }

  /** Up to {@code max} entries whose back-off has passed, in id order; they are no longer waiting. */
  List<String> takeDue(int max) {
    if (due.isEmpty()) {
      return List.of();
    }
    long now = timing.nanoTime();
    List<String> ids = new ArrayList<>();
    for (Map.Entry<String, Long> e : due.entrySet()) {
      if (ids.size() >= max) {
        break;
      }
      if (now - e.getValue() >= 0 && due.remove(e.getKey(), e.getValue())) {
        ids.add(e.getKey());
      }
    }
    ids.sort(StreamRetries::compareIds);
    return ids;
  }

  /** {@code blockMillis}, or less when a retry is due sooner: a blocking read must not hold it up. */
  long blockMillis(long blockMillis) {
    long block = blockMillis;
    long now = timing.nanoTime();
    for (Long when : due.values()) {
      block = Math.min(block, Math.max(1, TimeUnit.NANOSECONDS.toMillis(when - now) + 1));
    }
    return Math.max(1, block);
  }

  /** Orders stream ids numerically ({@code ms-seq}). */
  static int compareIds(String a, String b) {
    int da = a.indexOf('-');
    int db = b.indexOf('-');
    int c = Long.compare(Long.parseLong(a.substring(0, da)), Long.parseLong(b.substring(0, db)));
    return c != 0 ? c : Long.compare(Long.parseLong(a.substring(da + 1)), Long.parseLong(b.substring(db + 1)));
  }
}
