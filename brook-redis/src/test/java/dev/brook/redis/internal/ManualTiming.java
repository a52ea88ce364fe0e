package dev.brook.redis.internal;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.Condition;

/**
 * A {@link Timing} for tests: the clock moves only when told ({@link #advance}) or when someone
 * waits on it — a wait moves it by the time waited and returns at once — and every wait is recorded.
 */
public final class ManualTiming implements Timing {

  private final AtomicLong nanos = new AtomicLong(TimeUnit.DAYS.toNanos(1));
  private final List<Duration> waits = new CopyOnWriteArrayList<>();

  @Override
  public long nanoTime() {
    return nanos.get();
  }

  @Override
  public long currentTimeMillis() {
    return TimeUnit.NANOSECONDS.toMillis(nanos.get());
  }

  @Override
  public long awaitNanos(Condition condition, long nanos) {
    sleep(nanos);
    return 0;
  }

  @Override
  public void sleep(long nanos) {
    waits.add(Duration.ofNanos(nanos));
    this.nanos.addAndGet(nanos);
  }

  public void advance(Duration d) {
    nanos.addAndGet(d.toNanos());
  }

  /** Every wait so far, in order. */
  public List<Duration> waits() {
    return List.copyOf(waits);
  }
}
