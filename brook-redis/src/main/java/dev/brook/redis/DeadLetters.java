package dev.brook.redis;

import dev.brook.redis.internal.DeadLetter;
import dev.brook.redis.internal.DeadLetterStore;
import dev.brook.redis.internal.DeadLetterStore.Stored;
import dev.brook.redis.internal.JobSupport;
import dev.brook.redis.internal.Envelope;
import dev.brook.spi.Frame;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.function.Predicate;

/**
 * The dead letters of one List or Stream, as a workflow: {@link #list}, {@link #replay(String)}
 * (one), {@link #replay(Predicate)} (those whose headers match), {@link #replayAll()}, {@link
 * #delete(String)} (one), {@link #purge()}. Obtained from {@link RedisBroker#deadLetters(dev.brook.Destination)}; each call is a
 * few commands on the broker's command connection. Thread-safe.
 *
 * <p>A List's dead letters are the list {@code {jobs}:dlq}, a Stream's the stream {@code
 * {events}:dlq} (a partitioned stream's, one per partition: {@code {events:i}:dlq}, read with
 * {@code deadLetters(stream.partition(i))}); each holds the original envelope plus {@code x-error} (the last error), {@code
 * x-delivery-count} (the attempts) and {@code x-original} (and for streams {@code x-original-id},
 * {@code x-group}). A replay removes the dead letter and publishes the original headers and payload
 * again, without those headers, in one Lua script (the dead-letter key shares the destination's
 * hash tag), so a replayed message is never both replayed and still dead, and starts with a fresh
 * count of deliveries. Replay appends at the tail of the queue, or as a new stream entry.
 *
 * <p>Ids: a stream dead letter's id is its entry id in the dead-letter stream; a list dead
 * letter's id is its {@code message_id} header when it has one, else {@code sha1:} and the first
 * 16 hex digits of its stored bytes' SHA-1 (identical dead letters share an id; replaying it takes
 * one of them).
 */
public final class DeadLetters {

  /** One dead letter: its id (see the class), headers (dead-letter headers included), payload, error and attempts. */
  public record Entry(String id, Map<String, String> headers, byte[] payload) {

    /** The last error ({@code x-error}), or an empty string. */
    public String error() {
      return headers.getOrDefault(DeadLetter.ERROR, "");
    }

    /** How many times it was delivered before it died ({@code x-delivery-count}), 0 when unknown. */
    public long attempts() {
      try {
        return Long.parseLong(headers.getOrDefault(DeadLetter.DELIVERIES, "0"));
      } catch (NumberFormatException e) {
        return 0;
      }
    }

    /** The payload as UTF-8 text. */
    public String payloadText() {
      return new String(payload, StandardCharsets.UTF_8);
    }
  }

  private static final java.util.Set<String> DEAD_HEADERS = java.util.Set.of(DeadLetter.ERROR, DeadLetter.DELIVERIES,
      DeadLetter.ORIGINAL, DeadLetter.ORIGINAL_ID, DeadLetter.GROUP);

  private final DeadLetterStore store;
  private final boolean stream;
  private final String destination;

  DeadLetters(JobSupport transport, dev.brook.Destination destination) {
    if (destination instanceof ListDestination l) {
      this.store = transport.deadLetters(destination, false, l.name(),
          l.deadLetterKey() != null ? l.deadLetterKey() : dev.brook.redis.internal.Keys.derived(l.name(), "dlq"));
    } else if (destination instanceof StreamDestination s) {
      if (s.partitionCount() > 1) {
        // Each partition dead-letters into its own {name:i}:dlq (one script with its XACK, one slot);
        // {name}:dlq is never written, so reading it would show an empty, misleading workflow.
        throw new IllegalArgumentException("Stream " + s.name() + " has " + s.partitionCount() + " partitions, each with "
            + "its own dead letters ({" + s.name() + ":i}:dlq): use broker.deadLetters(stream.partition(i)) for i in 0.."
            + (s.partitionCount() - 1) + ".");
      }
      this.store = transport.deadLetters(destination, true, s.name(), s.deadLetterKey());
    } else {
      throw new IllegalArgumentException("Only lists and streams have dead letters, not " + destination
          + ". Use Redis.list(name) or Redis.stream(name).");
    }
    this.stream = destination instanceof StreamDestination;
    this.destination = destination.toString();
  }

  /** How many dead letters wait. */
  public long count() {
    return store.count();
  }

  /** The first {@code max} dead letters, oldest first. */
  public List<Entry> list(int max) {
    if (max < 1) {
      throw new IllegalArgumentException("max must be at least 1, was " + max + ".");
    }
    List<Entry> out = new ArrayList<>();
    for (Stored d : store.read(max)) {
      out.add(entry(id(d), d.raw()));
    }
    return out;
  }

  /** Every dead letter, oldest first. */
  public List<Entry> list() {
    return list(Integer.MAX_VALUE);
  }

  private static String id(Stored d) {
    return d.streamId() != null ? d.streamId() : listId(d.raw());
  }

  private static Entry entry(String id, byte[] raw) {
    Frame f = Envelope.decode(raw);
    return new Entry(id, Map.copyOf(f.headers()), f.payload());
  }

  private static String listId(byte[] raw) {
    String messageId = Envelope.decode(raw).headers().get("message_id");
    if (messageId != null) {
      return messageId;
    }
    try {
      byte[] sha = java.security.MessageDigest.getInstance("SHA-1").digest(raw);
      return "sha1:" + HexFormat.of().formatHex(sha, 0, 8);
    } catch (java.security.NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  /** Replays the dead letter with this id; false when there is none (already replayed or purged). */
  public boolean replay(String id) {
    Objects.requireNonNull(id, "id");
    if (stream) {
      Stored d = findStream(id);
      return d != null && store.replay(d, revived(d.raw()));
    }
    for (Stored d : store.read(Integer.MAX_VALUE)) {
      if (listId(d.raw()).equals(id)) {
        return store.replay(d, revived(d.raw()));
      }
    }
    return false;
  }

  /** Replays every dead letter whose headers (dead-letter headers included) match; returns how many. */
  public int replay(Predicate<Map<String, String>> headers) {
    Objects.requireNonNull(headers, "headers");
    int n = 0;
    for (Stored d : store.read(Integer.MAX_VALUE)) {
      if (headers.test(Envelope.decode(d.raw()).headers()) && store.replay(d, revived(d.raw()))) {
        n++;
      }
    }
    return n;
  }

  /** Replays every dead letter, oldest first; returns how many. */
  public int replayAll() {
    return replay(h -> true);
  }

  /** Deletes the dead letter with this id without replaying it; false when there is none. */
  public boolean delete(String id) {
    Objects.requireNonNull(id, "id");
    if (stream) {
      Stored d = findStream(id);
      return d != null && store.delete(d);
    }
    for (Stored d : store.read(Integer.MAX_VALUE)) {
      if (listId(d.raw()).equals(id)) {
        return store.delete(d);
      }
    }
    return false;
  }

  /**
   * A stream dead letter by its entry id; null when there is none, also for an id that is not a
   * stream id at all (a list's {@code sha1:} id, a typo from the console): Redis would answer that
   * with an error, and "not found" is what the caller can act on.
   */
  private Stored findStream(String id) {
    int dash = id.indexOf('-');
    try {
      for (String part : dash < 0 ? new String[] {id} : new String[] {id.substring(0, dash), id.substring(dash + 1)}) {
        if (part.isEmpty() || part.charAt(0) == '+') {
          return null;
        }
        Long.parseUnsignedLong(part); // two unsigned 64-bit numbers, as Redis reads them
      }
    } catch (NumberFormatException notAStreamId) {
      return null;
    }
    return store.find(id);
  }

  /** Deletes every dead letter; returns how many there were. */
  public long purge() {
    return store.purge(); // counted in the same step as the delete: a dead letter arriving meanwhile is counted
  }

  /** The original envelope: the dead letter's headers without the dead-letter ones. */
  private static byte[] revived(byte[] raw) {
    Frame f = Envelope.decode(raw);
    Map<String, String> headers = new LinkedHashMap<>(f.headers());
    headers.keySet().removeAll(DEAD_HEADERS);
    return Envelope.encode(headers, f.payload());
  }

  @Override
  public String toString() {
    return "dead letters of " + destination;
  }
}
