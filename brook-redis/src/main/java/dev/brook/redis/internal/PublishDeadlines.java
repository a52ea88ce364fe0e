package dev.brook.redis.internal;

import io.lettuce.core.RedisCommandTimeoutException;
import io.lettuce.core.TimeoutOptions;
import io.lettuce.core.protocol.AsyncCommand;
import io.lettuce.core.protocol.RedisCommand;
import java.time.Duration;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Supplier;

/**
 * The {@code commandTimeout} of the hot publish paths (one PUBLISH, RPUSH or XADD per message, and
 * the hand-built commands of batches and pipelines) without a timer per command. Lettuce's {@code TimeoutOptions} schedule a Netty timer entry for every command and cancel
 * it at the reply: in JFR profiles of pipelined Pub/Sub that was about 4 % of all CPU samples and 40
 * bytes per message (issue 21). A {@link Tracked} command gets no such entry ({@link #source}
 * returns 0 for it); instead it joins this queue in the order it is sent, and one sweep every
 * {@link #tick} on {@code brook-timer} fails, with the same {@link RedisCommandTimeoutException}
 * Lettuce would raise, every command at the head that is older than the timeout and still
 * unanswered. Redis answers a connection's commands in order, so the unanswered ones are a prefix
 * of the queue and a sweep looks at no more than it fails plus one.
 *
 * <p>Guarantees, as with Lettuce's timers: a tracked publish completes within {@code commandTimeout
 * + tick} (the tick is at most 100 ms, Lettuce's own timer resolution); a command failed this way
 * and not yet written is never written later (Lettuce skips completed commands); every other
 * command keeps Lettuce's per-command timer. The queue holds only commands in flight: publishers
 * drop the answered ones at the head as they add theirs.
 *
 * <p>Threads: {@link #track} on any publishing thread; {@link #sweep} on the transport's timer, which
 * {@link RedisConnections#close} stops (so the sweep ends with the connections).
 */
final class PublishDeadlines {

  /**
   * A command whose timeout this class keeps rather than a Lettuce timer, from {@link #start} on.
   * One that is dispatched without having been started keeps Lettuce's timer ({@link #source}), so
   * a path that forgets to start it loses nothing but the saving.
   */
  static final class Tracked<T> extends AsyncCommand<byte[], byte[], T> {
    volatile long sentAt;
    volatile boolean started;

    Tracked(RedisCommand<byte[], byte[], T> command) {
      super(command);
    }
  }

  /**
   * Lettuce's timeout per command: {@code timeout} for every command but a {@link Tracked} one. A
   * broker's own client uses it in place of {@code TimeoutOptions.enabled(timeout)}.
   */
  static TimeoutOptions.TimeoutSource source(Duration timeout) {
    long nanos = timeout.toNanos();
    return new TimeoutOptions.TimeoutSource() {
      @Override
      public long getTimeout(RedisCommand<?, ?, ?> command) {
        return command instanceof Tracked<?> t && t.started ? 0 : nanos;
      }

      @Override
      public TimeUnit getTimeUnit() {
        return TimeUnit.NANOSECONDS;
      }
    };
  }

  private final Duration timeout;
  private final long timeoutNanos;
  private final Supplier<ScheduledExecutorService> timer;
  private final ConcurrentLinkedQueue<Tracked<?>> inFlight = new ConcurrentLinkedQueue<>();
  /**
   * One thread at a time removes from the head (a publisher trimming, or the sweep): a second
   * remover between another's peek and poll would take a command that is still unanswered out of
   * the queue, and it would then never time out.
   */
  private final AtomicBoolean removing = new AtomicBoolean();
  private final AtomicBoolean sweeping = new AtomicBoolean();

  PublishDeadlines(Duration timeout, Supplier<ScheduledExecutorService> timer) {
    this.timeout = timeout;
    this.timeoutNanos = timeout.toNanos();
    this.timer = timer;
  }

  /** How often the sweep runs: a tenth of the timeout, between 10 and 100 ms. */
  Duration tick() {
    return Duration.ofMillis(Math.max(10, Math.min(100, timeout.toMillis() / 10)));
  }

  /**
   * Wraps {@code command} for sending and starts its clock. Call right before dispatching it on the
   * command connection; a command that is then refused must be completed exceptionally.
   */
  <T> Tracked<T> track(RedisCommand<byte[], byte[], T> command) {
    Tracked<T> tracked = new Tracked<>(command);
    start(tracked);
    return tracked;
  }

  /**
   * {@code command} wrapped for tracking, its clock not yet started: for commands built before they
   * are sent (a batch goes out in several writes, each after the previous one was answered, and a
   * command's timeout counts from its own write, as Lettuce's does). {@link #start} it right before
   * dispatching it.
   */
  static <T> Tracked<T> prepare(RedisCommand<byte[], byte[], T> command) {
    return new Tracked<>(command);
  }

  /** Starts {@code tracked}'s clock and queues it for the sweep; right before it is dispatched. */
  void start(Tracked<?> tracked) {
    tracked.sentAt = System.nanoTime();
    if (!sweeping.get() && sweeping.compareAndSet(false, true)) {
      long tick = tick().toNanos();
      try {
        timer.get().scheduleWithFixedDelay(this::sweep, tick, tick, TimeUnit.NANOSECONDS);
      } catch (RuntimeException closed) {
        sweeping.set(false);
        throw closed;
      }
    }
    tracked.started = true;
    inFlight.add(tracked);
    dropAnswered();
  }

  /** Removes answered commands at the head, unless another thread is removing now (it will). */
  private void dropAnswered() {
    if (!removing.compareAndSet(false, true)) {
      return;
    }
    try {
      Tracked<?> head;
      while ((head = inFlight.peek()) != null && head.isDone()) {
        inFlight.poll();
      }
    } finally {
      removing.set(false);
    }
  }

  /** Fails the unanswered commands older than the timeout; on the timer. */
  void sweep() {
    // Wait for a publisher that is trimming (a few peeks and polls): skipping the tick instead could,
    // under many busy publishers, skip several in a row and stretch the bound.
    while (!removing.compareAndSet(false, true)) {
      Thread.onSpinWait();
    }
    try {
      long now = System.nanoTime();
      Tracked<?> head;
      while ((head = inFlight.peek()) != null) {
        if (!head.isDone()) {
          if (now - head.sentAt < timeoutNanos) {
            break;
          }
          head.completeExceptionally(new RedisCommandTimeoutException(
              "Command timed out after " + describe(timeout)));
        }
        inFlight.poll();
      }
    } finally {
      removing.set(false);
    }
  }

  /** Commands tracked and not yet seen answered (for tests). */
  int inFlight() {
    return inFlight.size();
  }

  private static String describe(Duration d) {
    long ms = d.toMillis();
    return ms % 1000 == 0 ? ms / 1000 + " second(s)" : ms + " millisecond(s)";
  }
}
