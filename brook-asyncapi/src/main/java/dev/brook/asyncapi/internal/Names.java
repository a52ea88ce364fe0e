package dev.brook.asyncapi.internal;

import java.util.HashSet;
import java.util.Set;

/**
 * Keys of AsyncAPI maps (channels, operations, messages, schemas). The specification allows
 * {@code [A-Za-z0-9_.-]} in component keys and keys appear in {@code $ref} JSON pointers, so every
 * key Brook writes uses only those characters.
 */
final class Names {

  private final Set<String> used = new HashSet<>();

  /** Replaces every character outside {@code [A-Za-z0-9_.-]} with {@code _}; never empty. */
  static String sanitize(String text) {
    StringBuilder out = new StringBuilder(text.length());
    for (int i = 0; i < text.length(); i++) {
      char c = text.charAt(i);
      boolean ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
      if (c == '{' || c == '}') {
        continue;
      }
      out.append(ok ? c : '_');
    }
    return out.isEmpty() ? "_" : out.toString();
  }

  /** A key not handed out before by this instance: {@code base}, else {@code base-2}, {@code base-3}, ... */
  String unique(String base) {
    String key = sanitize(base);
    if (used.add(key)) {
      return key;
    }
    for (int i = 2; ; i++) {
      String candidate = key + "-" + i;
      if (used.add(candidate)) {
        return candidate;
      }
    }
  }
}
