package dev.brook.redis;

import dev.brook.redis.internal.jobs.Cron;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZonedDateTime;
import java.util.Objects;

/**
 * When a schedule registered with {@link RedisBroker#schedule} fires: a cron expression in a zone
 * ({@link #cron(String, ZoneId)}) or a fixed period ({@link #every(Duration)}), plus what happens to
 * ticks missed while no replica ran ({@link #missedTicks(MissedTicks)}, default {@link
 * MissedTicks#SKIP}).
 *
 * <p>Ticks are points in time every replica computes alike (a period counts from the Unix epoch,
 * not from a start), so replicas agree on them and Redis lets one replica fire each.
 *
 * <p>Immutable and thread-safe.
 */
public final class Schedule {

  private final Cron cron;
  private final ZoneId zone;
  private final long periodMillis;
  private final MissedTicks missed;

  private Schedule(Cron cron, ZoneId zone, long periodMillis, MissedTicks missed) {
    this.cron = cron;
    this.zone = zone;
    this.periodMillis = periodMillis;
    this.missed = missed;
  }

  /**
   * A five-field cron expression ({@code minute hour day-of-month month day-of-week}; {@code *},
   * lists, ranges, steps, {@code JAN}/{@code MON} names) evaluated in {@code zone}: {@code
   * cron("0 3 * * *", ZoneId.of("Europe/Paris"))} fires at 03:00 Paris time every day.
   *
   * @throws IllegalArgumentException when the expression is not valid, naming what is wrong
   */
  public static Schedule cron(String expression, ZoneId zone) {
    Objects.requireNonNull(zone, "zone");
    return new Schedule(Cron.parse(expression), zone, 0, MissedTicks.SKIP);
  }

  /** Every {@code period} (at least 10 ms), at multiples of it since the Unix epoch. */
  public static Schedule every(Duration period) {
    Objects.requireNonNull(period, "period");
    if (period.toMillis() < 10) {
      throw new IllegalArgumentException("A schedule's period must be at least 10 ms, was " + period + ".");
    }
    return new Schedule(null, null, period.toMillis(), MissedTicks.SKIP);
  }

  /** What to do with ticks missed while no replica ran; see {@link MissedTicks}. */
  public Schedule missedTicks(MissedTicks policy) {
    return new Schedule(cron, zone, periodMillis, Objects.requireNonNull(policy, "policy"));
  }

  public MissedTicks missedTicks() {
    return missed;
  }

  /** The first tick strictly after {@code after} (epoch ms), or {@code Long.MAX_VALUE} when there is none. */
  public long nextTick(long after) {
    if (cron == null) {
      return Math.floorDiv(after, periodMillis) * periodMillis + periodMillis;
    }
    ZonedDateTime next = cron.next(Instant.ofEpochMilli(after).atZone(zone), zone);
    return next == null ? Long.MAX_VALUE : next.toInstant().toEpochMilli();
  }

  /** The last tick at or before {@code at} (epoch ms), looking back at most a year; {@code Long.MIN_VALUE} when none. */
  public long lastTick(long at) {
    if (cron == null) {
      return Math.floorDiv(at, periodMillis) * periodMillis;
    }
    // Walk forward from a day (then a year) back: cron has no cheap "previous".
    for (long back : new long[] {86_400_000L, 366L * 86_400_000L}) {
      long t = nextTick(at - back);
      if (t > at) {
        continue;
      }
      long last = t;
      while (true) {
        long n = nextTick(last);
        if (n > at) {
          return last;
        }
        last = n;
      }
    }
    return Long.MIN_VALUE;
  }

  @Override
  public String toString() {
    return (cron != null ? "cron(" + cron + ", " + zone + ")" : "every(" + Duration.ofMillis(periodMillis) + ")")
        + (missed != MissedTicks.SKIP ? " missed " + missed : "");
  }
}
