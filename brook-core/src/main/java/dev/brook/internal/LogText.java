package dev.brook.internal;

/**
 * Makes a value that came from outside (a message id, a channel name Redis delivered, a header, a
 * reason built from a decoding exception) safe to put in a log line: a producer must not be able to
 * start a forged line (log forging), move the cursor or recolour a terminal, or hide text behind
 * bidirectional overrides.
 *
 * <p>{@code \n}, {@code \r} and {@code \t} become those two-character escapes; every other C0
 * control, DEL and the C1 controls become {@code \xNN}; the Unicode line and paragraph separators
 * and the bidirectional embedding, override and isolate controls become <code>&#92;uNNNN</code>. Everything
 * else, including the backslash and non-ASCII text, is kept as it is: the result is for people
 * reading a log, not a reversible encoding.
 *
 * <p>Allocation-free when nothing needs escaping (the same string is returned), so it may be used
 * on any log line.
 */
public final class LogText {

  private static final char[] HEX = "0123456789abcdef".toCharArray();

  private LogText() {}

  /** The value with control characters escaped; {@code null} stays {@code null}. */
  public static String escape(String value) {
    if (value == null) {
      return null;
    }
    int n = value.length();
    int i = 0;
    while (i < n && !needsEscape(value.charAt(i))) {
      i++;
    }
    if (i == n) {
      return value;
    }
    StringBuilder out = new StringBuilder(n + 16).append(value, 0, i);
    for (; i < n; i++) {
      char c = value.charAt(i);
      if (!needsEscape(c)) {
        out.append(c);
      } else if (c == '\n') {
        out.append("\\n");
      } else if (c == '\r') {
        out.append("\\r");
      } else if (c == '\t') {
        out.append("\\t");
      } else if (c <= 0xFF) {
        out.append("\\x").append(HEX[c >> 4]).append(HEX[c & 0xF]);
      } else {
        out.append("\\u").append(HEX[c >> 12]).append(HEX[(c >> 8) & 0xF]).append(HEX[(c >> 4) & 0xF]).append(HEX[c & 0xF]);
      }
    }
    return out.toString();
  }

  private static boolean needsEscape(char c) {
    if (c < 0x20 || (c >= 0x7F && c <= 0x9F)) {
      return true; // C0, DEL, C1 (including NEL, U+0085)
    }
    if (c < 0x2028) {
      return false; // the common case: one comparison for any printable Latin, Greek, Cyrillic... text
    }
    return c == 0x2028 || c == 0x2029 // line and paragraph separators
        || (c >= 0x202A && c <= 0x202E) // bidi embeddings and overrides
        || (c >= 0x2066 && c <= 0x2069); // bidi isolates
  }
}
