package dev.brook;

/**
 * What became of a publish with {@link PublishOptions}: taken by the server ({@link #PUBLISHED}),
 * or dropped because a publish with the same {@link PublishOptions#dedupKey dedup key} was taken
 * within its ttl ({@link #DUPLICATE}). A publish that fails throws (or completes its future
 * exceptionally) instead.
 */
public enum PublishResult {
  /** The server took the message (to deliver now, or when its delay is over). */
  PUBLISHED,
  /** Dropped: another publish with the same dedup key was taken within the ttl. Nothing was written. */
  DUPLICATE;

  /** Whether the server took the message. */
  public boolean published() {
    return this == PUBLISHED;
  }

  /** Whether it was dropped as a duplicate. */
  public boolean duplicate() {
    return this == DUPLICATE;
  }
}
