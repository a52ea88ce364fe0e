package dev.brook.redis.internal.pubsub;

import java.util.regex.Pattern;

/**
 * Redis' glob patterns (PSUBSCRIBE, KEYS) as regular expressions: {@code * ? [abc] [^a] \x}. For the
 * in-memory model ({@link PubSubModel}); on Redis, the server matches.
 */
final class Glob {

  private Glob() {}

  static Pattern compile(String glob) {
    StringBuilder re = new StringBuilder();
    for (int i = 0; i < glob.length(); i++) {
      char c = glob.charAt(i);
      switch (c) {
        case '*' -> re.append(".*");
        case '?' -> re.append('.');
        case '\\' -> {
          if (i + 1 < glob.length()) {
            re.append(Pattern.quote(String.valueOf(glob.charAt(++i))));
          }
        }
        case '[' -> {
          int end = glob.indexOf(']', i + 1);
          if (end < 0) {
            re.append("\\[");
          } else {
            re.append('[').append(charClass(glob.substring(i + 1, end))).append(']');
            i = end;
          }
        }
        default -> re.append(Pattern.quote(String.valueOf(c)));
      }
    }
    return Pattern.compile(re.toString(), Pattern.DOTALL);
  }

  /** The inside of {@code [...]}: {@code ^} first negates, {@code a-z} is a range, {@code \x} is x. */
  private static String charClass(String set) {
    StringBuilder out = new StringBuilder();
    int i = 0;
    if (set.startsWith("^")) {
      out.append('^');
      i = 1;
    }
    for (; i < set.length(); i++) {
      char c = set.charAt(i);
      if (c == '\\' && i + 1 < set.length()) {
        literal(out, set.charAt(++i));
      } else if (c == '-' && i > (set.startsWith("^") ? 1 : 0) && i + 1 < set.length()) {
        out.append('-');
      } else {
        literal(out, c);
      }
    }
    return out.toString();
  }

  /** A letter or digit as it is, anything else escaped (a backslash before a non-alphanumeric is always literal). */
  private static void literal(StringBuilder out, char c) {
    if (Character.isLetterOrDigit(c)) {
      out.append(c);
    } else {
      out.append('\\').append(c);
    }
  }
}
