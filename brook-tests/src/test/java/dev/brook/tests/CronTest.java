package dev.brook.tests;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.brook.redis.Schedule;
import dev.brook.redis.internal.jobs.Cron;
import java.time.Duration;
import java.time.ZoneId;
import java.time.ZonedDateTime;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The five-field cron parser: each field's syntax, the day-of-month/day-of-week OR rule, month
 * lengths, leap years, daylight-saving gaps and overlaps, and the errors. Brute force checks the
 * next-time search against a minute-by-minute scan for many expressions.
 */
class CronTest {

  private static final ZoneId UTC = ZoneId.of("UTC");
  private static final ZoneId PARIS = ZoneId.of("Europe/Paris");

  private static ZonedDateTime at(String local, ZoneId zone) {
    return java.time.LocalDateTime.parse(local).atZone(zone);
  }

  @ParameterizedTest(name = "{0} after {1} -> {2}")
  @CsvSource(delimiter = '|', value = {
      "0 3 * * *        | 2026-01-01T00:00 | 2026-01-01T03:00",
      "0 3 * * *        | 2026-01-01T03:00 | 2026-01-02T03:00",
      "*/15 * * * *     | 2026-01-01T10:07 | 2026-01-01T10:15",
      "5,10 * * * *     | 2026-01-01T10:07 | 2026-01-01T10:10",
      "0 9-17/4 * * *   | 2026-01-01T10:00 | 2026-01-01T13:00",
      "0 0 29 2 *       | 2026-03-01T00:00 | 2028-02-29T00:00",
      "0 0 31 * *       | 2026-04-01T00:00 | 2026-05-31T00:00",
      "0 12 * * MON-FRI | 2026-01-03T13:00 | 2026-01-05T12:00",
      "0 12 * * 0       | 2026-01-01T00:00 | 2026-01-04T12:00",
      "0 12 * * 7       | 2026-01-01T00:00 | 2026-01-04T12:00",
      "0 0 1 JAN *      | 2026-06-01T00:00 | 2027-01-01T00:00",
      "0 0 13 * FRI     | 2026-01-01T00:00 | 2026-01-02T00:00",
      "30 23 L-ignored * * | 2026-01-01T00:00 | error",
  })
  void nextTimes(String expression, String after, String expected) {
    if (expected.equals("error")) {
      assertThatThrownBy(() -> Cron.parse(expression)).isInstanceOf(IllegalArgumentException.class);
      return;
    }
    Cron cron = Cron.parse(expression);
    assertThat(cron.next(at(after, UTC), UTC)).isEqualTo(at(expected, UTC));
  }

  @Test
  void daylightSavingGapIsSkipped_andOverlapFiresOnce() {
    Cron halfPastTwo = Cron.parse("30 2 * * *");
    // 2026-03-29: Paris jumps from 02:00 to 03:00; 02:30 does not exist that day.
    assertThat(halfPastTwo.next(at("2026-03-28T12:00", PARIS), PARIS)).isEqualTo(at("2026-03-30T02:30", PARIS));
    // 2026-10-25: 02:30 happens twice; it fires once.
    ZonedDateTime first = halfPastTwo.next(at("2026-10-25T00:00", PARIS), PARIS);
    assertThat(first.toLocalDateTime()).isEqualTo(java.time.LocalDateTime.parse("2026-10-25T02:30"));
    assertThat(halfPastTwo.next(first, PARIS)).isEqualTo(at("2026-10-26T02:30", PARIS));
  }

  @ParameterizedTest
  @CsvSource(delimiter = '|', value = {
      "* * * *         | 4 fields",
      "60 * * * *      | outside 0-59",
      "* 24 * * *      | outside 0-23",
      "* * 0 * *       | outside 1-31",
      "* * * 13 *      | outside 1-12",
      "* * * * 8       | outside 0-7",
      "5-1 * * * *     | ends before it starts",
      "a * * * *       | not a number",
      "1,,2 * * * *    | empty list element",
      "*/0 * * * *     | outside",
  })
  void errorsNameTheProblem(String expression, String message) {
    assertThatThrownBy(() -> Cron.parse(expression)).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("Invalid cron expression '" + expression + "'").hasMessageContaining(message);
  }

  /** The search agrees with a minute-by-minute scan over 10 days, for each expression. */
  @Test
  void nextAgreesWithABruteForceScan() {
    String[] expressions = {"* * * * *", "*/7 * * * *", "0 */5 * * *", "15 10 * * 1,3,5", "0 0 1,15 * *",
        "0 0 1 * 0", "59 23 * * SAT", "10-20/5 3 * * *", "0 12 6-9 * *", "0 0 * * 1-5"};
    ZonedDateTime start = at("2026-02-25T00:00", PARIS);
    for (String e : expressions) {
      Cron cron = Cron.parse(e);
      List<ZonedDateTime> byNext = new ArrayList<>();
      ZonedDateTime t = start;
      while (true) {
        t = cron.next(t, PARIS);
        if (t == null || !t.isBefore(start.plusDays(10))) {
          break;
        }
        byNext.add(t);
      }
      List<ZonedDateTime> byScan = new ArrayList<>();
      for (ZonedDateTime m = start.plusMinutes(1); m.isBefore(start.plusDays(10)); m = m.plusMinutes(1)) {
        if (matches(e, m)) {
          byScan.add(m);
        }
      }
      assertThat(byNext).as(e).isEqualTo(byScan);
    }
  }

  /** An independent reading of the expression: each field as a set, the OR rule for days. */
  private static boolean matches(String expression, ZonedDateTime t) {
    String[] f = expression.split(" ");
    boolean dom = in(f[2], t.getDayOfMonth(), 1, 31);
    boolean dow = in(f[4].replace("SAT", "6"), t.getDayOfWeek().getValue() % 7, 0, 6);
    boolean day = f[2].equals("*") || f[4].equals("*") ? dom && dow : dom || dow;
    return in(f[0], t.getMinute(), 0, 59) && in(f[1], t.getHour(), 0, 23) && in(f[3], t.getMonthValue(), 1, 12) && day;
  }

  private static boolean in(String field, int v, int min, int max) {
    for (String part : field.split(",")) {
      int step = 1;
      String range = part;
      if (part.contains("/")) {
        step = Integer.parseInt(part.substring(part.indexOf('/') + 1));
        range = part.substring(0, part.indexOf('/'));
      }
      int lo = min;
      int hi = max;
      if (!range.equals("*")) {
        String[] ab = range.split("-");
        lo = Integer.parseInt(ab[0]);
        hi = ab.length > 1 ? Integer.parseInt(ab[1]) : (part.contains("/") ? max : lo);
      }
      if (v >= lo && v <= hi && (v - lo) % step == 0) {
        return true;
      }
    }
    return false;
  }

  @Test
  void everyTicksAtMultiplesOfThePeriod_andLastTickLooksBack() {
    Schedule s = Schedule.every(Duration.ofMillis(200));
    assertThat(s.nextTick(1_000)).isEqualTo(1_200);
    assertThat(s.nextTick(1_199)).isEqualTo(1_200);
    assertThat(s.lastTick(1_199)).isEqualTo(1_000);
    assertThat(s.lastTick(1_200)).isEqualTo(1_200);
    Schedule nightly = Schedule.cron("0 3 * * *", PARIS);
    long noon = at("2026-01-10T12:00", PARIS).toInstant().toEpochMilli();
    assertThat(nightly.lastTick(noon)).isEqualTo(at("2026-01-10T03:00", PARIS).toInstant().toEpochMilli());
    Schedule yearly = Schedule.cron("0 0 1 JAN *", UTC);
    assertThat(yearly.lastTick(at("2026-06-01T00:00", UTC).toInstant().toEpochMilli()))
        .isEqualTo(at("2026-01-01T00:00", UTC).toInstant().toEpochMilli());
    assertThatThrownBy(() -> Schedule.every(Duration.ofMillis(5))).hasMessageContaining("at least 10 ms");
  }
}
