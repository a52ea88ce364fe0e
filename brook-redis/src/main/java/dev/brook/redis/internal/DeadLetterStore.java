package dev.brook.redis.internal;

import java.util.List;

/**
 * Where {@code DeadLetters} finds a destination's dead letters: Redis ({@link RedisDeadLetterStore})
 * or the in-memory models of the test broker. Ids and the revived envelope are {@code DeadLetters}'
 * business; a store only reads, moves and deletes stored values.
 */
public interface DeadLetterStore {

  /** One stored dead letter: its entry id in the dead-letter stream (null for a list) and its envelope. */
  record Stored(String streamId, byte[] raw) {}

  long count();

  /** The first {@code max} dead letters, oldest first. */
  List<Stored> read(int max);

  /** A stream's dead letter by entry id, or null. */
  Stored find(String streamId);

  /**
   * Removes the dead letter and publishes {@code revived} to the destination (the tail of the list,
   * a new stream entry), in one atomic step; false when it was gone already.
   */
  boolean replay(Stored dead, byte[] revived);

  /** Deletes this one dead letter without replaying it; false when it was gone already. */
  boolean delete(Stored dead);

  /** Deletes every dead letter; how many it deleted, counted in the same atomic step (a count taken before would miss one added meanwhile). */
  long purge();
}
