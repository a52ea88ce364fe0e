package dev.brook.redis.internal.jobs;

import dev.brook.Destination;
import dev.brook.internal.WarnLimit;
import dev.brook.redis.MissedTicks;
import dev.brook.redis.Schedule;
import dev.brook.redis.ScheduleHandle;
import dev.brook.redis.internal.Keys;
import dev.brook.redis.internal.RedisConnections;
import dev.brook.redis.internal.Script;
import io.lettuce.core.ScriptOutputType;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One schedule on one broker. The broker's {@code brook-timer} wakes it at each tick; the tick's
 * work (Redis round trips, the supplier, the publish) runs on a short virtual thread {@code
 * brook-schedule:<name>}, never on the timer. Each replica computes the same ticks; {@link #CLAIM}
 * lets one replica fire each: the key {@code {brook:schedule:<name>}:last} holds the latest tick
 * fired (or skipped), and a tick is claimed only when it is later. Claims are in tick order, so a
 * tick is fired at most once across replicas; one key per schedule, whatever the period.
 *
 * <p>Missed ticks (those between the stored last tick and now) follow the schedule's {@link
 * MissedTicks}. A schedule never seen before fires only a tick reached on time.
 *
 * <p>Lifecycle: {@link #cancel()} cancels the timer task; closing the broker {@link #close()}s every
 * schedule it runs before its connections close: cancelled, and a tick thread in flight waited for.
 */
public final class ScheduleRunner implements ScheduleHandle {

  private static final Logger LOG = LoggerFactory.getLogger(ScheduleRunner.class);
  /** How late a tick may be looked at and still count as on time. */
  static final long ON_TIME_MILLIS = 1000;
  static final int MAX_CATCH_UP = 1000;

  /** KEYS[1] last tick; ARGV[1] the tick: 1 when it is later than the last one (and now is), else 0. */
  static final Script CLAIM = new Script("""
      local last = redis.call('GET', KEYS[1])
      if last and tonumber(last) >= tonumber(ARGV[1]) then return 0 end
      redis.call('SET', KEYS[1], ARGV[1])
      return 1
      """);

  private final String name;
  private final Schedule schedule;
  private final Supplier<?> payload;
  private final Destination destination;
  private final Publish publish;
  private final Host host;
  private final Consumer<ScheduleRunner> onCancel;
  private final AtomicLong fired = new AtomicLong();
  private final WarnLimit warnings = WarnLimit.perMinute(10);
  /**
   * Failed fires: a supplier or destination that fails every tick of a fast schedule would
   * otherwise log an ERROR with a stack trace per tick; 10 lines a minute, then a count.
   */
  private final WarnLimit fireErrors = WarnLimit.perMinute(10);
  private volatile boolean cancelled;
  private ScheduledFuture<?> next;
  /** The latest tick thread started (it may have ended), for {@link #close()}. */
  private volatile Thread ticking;

  /** How a tick publishes: the broker's own publish (codec, middlewares). */
  public interface Publish {
    void publish(Object payload, Destination destination, Map<String, String> headers);
  }

  /**
   * Where a schedule keeps its last tick and what drives it: Redis and the broker's timer ({@link
   * #redis}), or the test broker's in-memory Redis and manual clock, which has no timer and calls
   * {@link #checkNow()} when its clock moves.
   */
  public interface Host {
    /** The latest tick fired or skipped, or null when the schedule was never seen. */
    Long last(String name);

    /** Records the tick when it is later than the last one: whether this caller won it. */
    boolean claim(String name, long tick);

    /** The timer that wakes the schedule at its ticks, or null when the host calls {@link #checkNow()}. */
    java.util.concurrent.ScheduledExecutorService timer();

    boolean isClosed();

    /** Epoch milliseconds. */
    long now();

    /** The runner started (the in-memory host keeps it to check it when its clock moves). */
    default void started(ScheduleRunner runner) {}

    default void cancelled(ScheduleRunner runner) {}
  }

  /** Redis ({@link #CLAIM} on {@code {brook:schedule:<name>}:last}), the broker's timer and the system clock. */
  public static Host redis(RedisConnections connections, java.util.Set<ScheduleRunner> live) {
    return new Host() {
      @Override
      public void started(ScheduleRunner runner) {
        live.add(runner);
      }

      @Override
      public void cancelled(ScheduleRunner runner) {
        live.remove(runner);
      }

      @Override
      public Long last(String name) {
        byte[] stored = connections.syncCommands().get(key(name));
        return stored == null ? null : Long.parseLong(new String(stored, StandardCharsets.US_ASCII));
      }

      @Override
      public boolean claim(String name, long tick) {
        Long won = CLAIM.call(connections.syncCommands(), ScriptOutputType.INTEGER, new byte[][] {key(name)},
            Long.toString(tick).getBytes(StandardCharsets.US_ASCII));
        return won != null && won == 1L;
      }

      @Override
      public java.util.concurrent.ScheduledExecutorService timer() {
        return connections.timer();
      }

      @Override
      public boolean isClosed() {
        return connections.isClosed();
      }

      @Override
      public long now() {
        return System.currentTimeMillis();
      }

      private byte[] key(String name) {
        return lastKey(name).getBytes(StandardCharsets.UTF_8);
      }
    };
  }

  public ScheduleRunner(String name, Schedule schedule, Supplier<?> payload, Destination destination, Publish publish,
      Host host, Consumer<ScheduleRunner> onCancel) {
    this.name = name;
    this.schedule = schedule;
    this.payload = payload;
    this.destination = destination;
    this.publish = publish;
    this.host = host;
    this.onCancel = onCancel;
  }

  /**
   * {@code {brook:schedule:<name>}:last}, whatever the name holds: not {@link Keys#derived}, which
   * would cut a name with braces down to its tag ({@code a{t}} and {@code b{t}} sharing one last
   * tick, each then skipping the other's ticks). The key is only ever used alone, so its slot
   * does not matter; the console finds it by this prefix and suffix.
   */
  public static String lastKey(String name) {
    return "{brook:schedule:" + name + "}:last";
  }

  /** Looks at once (catching up per the policy), then at every tick. */
  public void start() {
    host.started(this);
    if (host.timer() == null) {
      checkNow();
      return;
    }
    arm(0);
  }

  /**
   * Hosts without a timer (the in-memory clock): looks at the ticks now, on the caller's thread, as
   * a timer wake-up would (catching up per the policy, each tick fired once across replicas).
   */
  public void checkNow() {
    checkAt(host.now());
  }

  /**
   * Hosts without a timer whose clock jumped from {@code from} to {@code to} (the test broker's
   * {@code advance}): looks at every tick in between at its own time, as the timer would have woken
   * at each, so a jump over ticks fires them on time rather than as missed ones. At most {@value
   * #MAX_CATCH_UP} ticks this way; the rest are looked at once at {@code to}, by the policy.
   */
  public void checkThrough(long from, long to) {
    int n = 0;
    for (long t = schedule.nextTick(from); t <= to && !cancelled; t = schedule.nextTick(t)) {
      if (++n > MAX_CATCH_UP) {
        break;
      }
      checkAt(t);
    }
    checkAt(to);
  }

  private void checkAt(long now) {
    if (cancelled) {
      return;
    }
    try {
      check(now);
    } catch (RuntimeException e) {
      if (!cancelled && !host.isClosed()) {
        LOG.warn("Schedule '{}' could not check its tick: {}. It looks again when the clock moves.", name, e.toString());
      }
    }
  }

  private synchronized void arm(long delayMillis) {
    if (cancelled) {
      return;
    }
    next = host.timer().schedule(() -> {
      try {
        // Under the lock that cancel() takes: once cancelled, no tick thread starts, and close()
        // knows the last one to wait for.
        synchronized (this) {
          if (cancelled) {
            return;
          }
          Thread t = Thread.ofVirtual().name("brook-schedule:" + name).unstarted(this::tick);
          ticking = t;
          t.start();
        }
      } catch (RuntimeException e) {
        LOG.warn("Schedule '{}' could not start its tick: {}", name, e.toString());
      }
    }, Math.max(0, delayMillis), TimeUnit.MILLISECONDS);
  }

  /**
   * The broker closes: cancels the schedule, then lets a tick in flight end (up to a second; it
   * normally takes a few Redis round trips) before interrupting it, so that no thread of the
   * schedule outlives the close and the tick's publish still finds the connections open. Called
   * before the connections close.
   */
  public void close() {
    cancel();
    Thread t = ticking;
    if (t == null || t == Thread.currentThread()) {
      return;
    }
    try {
      if (!t.join(java.time.Duration.ofSeconds(1))) {
        t.interrupt();
        if (!t.join(java.time.Duration.ofSeconds(1))) {
          LOG.warn("The tick of schedule '{}' did not end within 2 s of the broker's close (its supplier ignores the "
              + "interrupt); it publishes nothing.", name);
        }
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private void tick() {
    if (cancelled) {
      return;
    }
    try {
      check(host.now());
    } catch (RuntimeException e) {
      if (cancelled || host.isClosed()) {
        return;
      }
      long suppressed = warnings.acquire();
      if (suppressed >= 0) {
        LOG.warn("Schedule '{}' could not check its tick: {}. It looks again at the next tick.", name, e.toString());
      }
    }
    long now = host.now();
    long nextTick = schedule.nextTick(now);
    if (nextTick == Long.MAX_VALUE || host.isClosed()) {
      return;
    }
    try {
      arm(nextTick - now);
    } catch (RuntimeException e) {
      // The timer is gone: the broker closed.
    }
  }

  private void check(long now) {
    long latest = schedule.lastTick(now);
    if (latest == Long.MIN_VALUE) {
      return;
    }
    Long stored = host.last(name);
    boolean onTime = now - latest <= ON_TIME_MILLIS;
    List<Long> due = new ArrayList<>();
    if (stored == null) {
      if (onTime) {
        due.add(latest);
      }
    } else {
      long last = stored;
      if (latest <= last) {
        return;
      }
      switch (schedule.missedTicks()) {
        case SKIP -> {
          if (onTime) {
            due.add(latest);
          }
        }
        case FIRE_ONCE -> due.add(latest);
        case FIRE_ALL -> {
          ArrayDeque<Long> ticks = new ArrayDeque<>();
          long dropped = 0;
          for (long t = schedule.nextTick(last); t <= latest; t = schedule.nextTick(t)) {
            ticks.addLast(t);
            if (ticks.size() > MAX_CATCH_UP) {
              ticks.removeFirst();
              dropped++;
            }
          }
          if (dropped > 0) {
            LOG.warn("Schedule '{}' missed {} ticks; firing the latest {} and dropping the older {}.", name,
                dropped + ticks.size(), ticks.size(), dropped);
          }
          due.addAll(ticks);
        }
      }
    }
    for (long t : due) {
      if (cancelled) {
        return;
      }
      if (claim(t)) {
        fire(t);
      }
    }
    if (due.isEmpty() || due.getLast() < latest) {
      claim(latest); // skipped: recorded so the next look does not count it as missed again
    }
  }

  private boolean claim(long tick) {
    return host.claim(name, tick);
  }

  private void fire(long tick) {
    try {
      Object value = payload.get();
      publish.publish(value, destination, Map.of("x-schedule", name, "x-schedule-tick", Instant.ofEpochMilli(tick).toString()));
      fired.incrementAndGet();
    } catch (RuntimeException e) {
      if (cancelled || host.isClosed()) {
        return;
      }
      // The tick is claimed: it is not fired again by another replica. Say so (rate-limited; the
      // suppressed ones at DEBUG, counted in the next line).
      long suppressed = fireErrors.acquire();
      if (suppressed < 0) {
        LOG.debug("Schedule '{}' failed to fire its tick {} to {}: {}", name, Instant.ofEpochMilli(tick), destination, e.toString(), e);
        return;
      }
      LOG.error("Schedule '{}' failed to fire its tick {} to {}: {}. The tick is lost; the schedule goes on.{}", name,
          Instant.ofEpochMilli(tick), destination, e.toString(),
          suppressed > 0 ? " " + suppressed + " more failed ticks in the last minute were logged at DEBUG only." : "", e);
    }
  }

  @Override
  public String name() {
    return name;
  }

  @Override
  public Schedule schedule() {
    return schedule;
  }

  @Override
  public long fired() {
    return fired.get();
  }

  @Override
  public void cancel() {
    ScheduledFuture<?> f;
    synchronized (this) {
      if (cancelled) {
        return;
      }
      cancelled = true;
      f = next;
    }
    if (f != null) {
      f.cancel(false);
    }
    host.cancelled(this);
    onCancel.accept(this);
  }

  @Override
  public boolean isCancelled() {
    return cancelled;
  }

  @Override
  public String toString() {
    return "schedule '" + name + "' " + schedule + " → " + destination;
  }
}
