package dev.brook.redis.internal;

/**
 * Names of the keys Brook derives from a destination (processing lists, heartbeats, dead letters).
 * They carry the destination's hash tag, so in Redis Cluster they share its slot and multi-key
 * commands (BLMOVE, Lua moves) stay legal: for {@code jobs} they are {@code {jobs}:processing:c1},
 * {@code {jobs}:dlq}; a name that already has a tag ({@code {q}jobs}) keeps it and is used whole
 * ({@code {q}jobs:dlq}).
 */
public final class Keys {

  private Keys() {}

  /** The hash tag of a key as Redis Cluster computes it, or the whole name when it has none. */
  public static String tag(String name) {
    int open = name.indexOf('{');
    if (open >= 0) {
      int close = name.indexOf('}', open + 1);
      if (close > open + 1) {
        return name.substring(open + 1, close);
      }
    }
    return name;
  }

  /**
   * {@code {name}:suffix}, or {@code name:suffix} when the name has a tag of its own. Not {@code
   * {tag}:suffix} for a tagged name: destinations given one tag to share a cluster node ({@code
   * {q}a}, {@code {q}b}) would then share their delayed sets, processing lists, dead letters, rate
   * buckets and done sets, and one's consumers would move the other's jobs into their own queue.
   */
  public static String derived(String name, String suffix) {
    int open = name.indexOf('{');
    boolean tagged = open >= 0 && name.indexOf('}', open + 1) > open + 1;
    return (tagged ? name : "{" + name + "}") + ":" + suffix;
  }
}
