package dev.brook.redis.internal.jobs;

import java.time.ZoneId;
import java.time.ZonedDateTime;
import java.time.temporal.ChronoUnit;
import java.util.BitSet;
import java.util.Locale;

/**
 * A classic five-field cron expression ({@code minute hour day-of-month month day-of-week}) and
 * its next firing time in a zone. Fields take {@code *}, numbers, ranges {@code a-b}, lists {@code
 * a,b}, steps {@code * /n} and {@code a-b/n}, month names {@code JAN}–{@code DEC} and day names
 * {@code SUN}–{@code SAT} (0 and 7 are Sunday). As in Vixie cron, when both day fields are
 * restricted a day matches if either does. Hand-written (no cron library resolves offline for the
 * build; the grammar is small and tested exhaustively in {@code CronTest}).
 *
 * <p>Times follow the zone's rules: a local time skipped by a daylight-saving gap does not fire; a
 * repeated one fires once, at its first occurrence.
 */
public final class Cron {

  private static final String[] MONTHS = {"JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"};
  private static final String[] DAYS = {"SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"};

  private final String expression;
  private final BitSet minutes;
  private final BitSet hours;
  private final BitSet daysOfMonth;
  private final BitSet months;
  private final BitSet daysOfWeek;
  private final boolean domStar;
  private final boolean dowStar;

  private Cron(String expression) {
    this.expression = expression;
    String[] f = expression.trim().split("\\s+");
    if (f.length != 5) {
      throw bad(expression, "it has " + f.length + " fields, a cron expression has 5 (minute hour day-of-month month day-of-week)");
    }
    minutes = field(expression, f[0], 0, 59, null, 0);
    hours = field(expression, f[1], 0, 23, null, 0);
    daysOfMonth = field(expression, f[2], 1, 31, null, 0);
    months = field(expression, f[3], 1, 12, MONTHS, 1);
    daysOfWeek = field(expression, f[4], 0, 7, DAYS, 0);
    if (daysOfWeek.get(7)) {
      daysOfWeek.set(0);
      daysOfWeek.clear(7);
    }
    domStar = f[2].startsWith("*");
    dowStar = f[4].startsWith("*");
  }

  /** Parses {@code expression}; throws {@link IllegalArgumentException} naming what is wrong. */
  public static Cron parse(String expression) {
    if (expression == null) {
      throw new IllegalArgumentException("A cron expression must not be null.");
    }
    return new Cron(expression);
  }

  public String expression() {
    return expression;
  }

  private static IllegalArgumentException bad(String expression, String why) {
    return new IllegalArgumentException("Invalid cron expression '" + expression + "': " + why
        + ". Example: '0 3 * * *' (03:00 every day), '*/5 * * * MON-FRI'.");
  }

  private static BitSet field(String expression, String text, int min, int max, String[] names, int nameBase) {
    BitSet set = new BitSet(max + 1);
    for (String part : text.split(",", -1)) {
      if (part.isEmpty()) {
        throw bad(expression, "empty list element in '" + text + "'");
      }
      int step = 1;
      String range = part;
      int slash = part.indexOf('/');
      if (slash >= 0) {
        step = number(expression, part.substring(slash + 1), 1, max - min + 1, null, 0, text);
        range = part.substring(0, slash);
      }
      int from;
      int to;
      if (range.equals("*")) {
        from = min;
        to = max == 7 ? 6 : max;
      } else {
        int dash = range.indexOf('-');
        if (dash > 0) {
          from = number(expression, range.substring(0, dash), min, max, names, nameBase, text);
          to = number(expression, range.substring(dash + 1), min, max, names, nameBase, text);
          if (to < from) {
            throw bad(expression, "range '" + range + "' ends before it starts");
          }
        } else {
          from = number(expression, range, min, max, names, nameBase, text);
          to = slash >= 0 ? (max == 7 ? 6 : max) : from;
        }
      }
      for (int v = from; v <= to; v += step) {
        set.set(v);
      }
    }
    return set;
  }

  private static int number(String expression, String s, int min, int max, String[] names, int nameBase, String field) {
    if (names != null) {
      String upper = s.toUpperCase(Locale.ROOT);
      for (int i = 0; i < names.length; i++) {
        if (names[i].equals(upper)) {
          return i + nameBase;
        }
      }
    }
    int v;
    try {
      v = Integer.parseInt(s);
    } catch (NumberFormatException e) {
      throw bad(expression, "'" + s + "' in '" + field + "' is not a number" + (names != null ? " or a name" : ""));
    }
    if (v < min || v > max) {
      throw bad(expression, s + " in '" + field + "' is outside " + min + "-" + max);
    }
    return v;
  }

  private boolean dayMatches(ZonedDateTime t) {
    boolean dom = daysOfMonth.get(t.getDayOfMonth());
    boolean dow = daysOfWeek.get(t.getDayOfWeek().getValue() % 7);
    if (domStar || dowStar) {
      return dom && dow;
    }
    return dom || dow;
  }

  /** The first firing time strictly after {@code after}, in {@code zone}; null when none within 5 years (e.g. Feb 30). */
  public ZonedDateTime next(ZonedDateTime after, ZoneId zone) {
    ZonedDateTime from = after.withZoneSameInstant(zone);
    // A local time repeated by a daylight-saving overlap fires once: a candidate must be later in local time too.
    java.time.LocalDateTime local = from.toLocalDateTime();
    ZonedDateTime t = from.truncatedTo(ChronoUnit.MINUTES).plusMinutes(1);
    ZonedDateTime limit = t.plusYears(5);
    while (t.isBefore(limit)) {
      if (!months.get(t.getMonthValue())) {
        t = t.withDayOfMonth(1).truncatedTo(ChronoUnit.DAYS).plusMonths(1);
        continue;
      }
      if (!dayMatches(t)) {
        t = t.truncatedTo(ChronoUnit.DAYS).plusDays(1);
        continue;
      }
      if (!hours.get(t.getHour())) {
        t = t.truncatedTo(ChronoUnit.HOURS).plusHours(1);
        continue;
      }
      if (!minutes.get(t.getMinute()) || !t.toLocalDateTime().isAfter(local)) {
        t = t.plusMinutes(1);
        continue;
      }
      return t;
    }
    return null;
  }

  @Override
  public String toString() {
    return expression;
  }
}
