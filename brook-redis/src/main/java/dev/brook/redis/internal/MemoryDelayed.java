package dev.brook.redis.internal;

import dev.brook.Destination;
import dev.brook.PublishOptions;
import dev.brook.PublishResult;
import dev.brook.spi.Frame;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.function.BiFunction;

/**
 * The in-memory model of {@link Delayed} for a List or Stream model: delayed messages by due time
 * on the manual clock ({@link MemoryRedis#now()}), FIFO within a millisecond, promoted when {@link
 * MemoryRedis#advance} reaches them; dedup keys expiring on the same clock. An instant ({@code
 * PublishOptions.at}) becomes a delay from the real clock at publish time, since the manual clock
 * starts at 0. Used under the {@link MemoryRedis} lock.
 *
 * @param <D> the destination class of the model
 */
public final class MemoryDelayed<D extends Destination> {

  private record Key(long due, long seq) implements Comparable<Key> {
    @Override
    public int compareTo(Key o) {
      int c = Long.compare(due, o.due);
      return c != 0 ? c : Long.compare(seq, o.seq);
    }
  }

  private record Waiting(Object destination, Frame frame) {}

  private final MemoryRedis redis;
  private final BiFunction<D, List<Frame>, CompletableFuture<Void>> write;
  private final TreeMap<Key, Waiting> waiting = new TreeMap<>();
  /** Dedup key → when it expires (manual clock). */
  private final Map<String, Long> dedup = new HashMap<>();
  private long seq;

  public MemoryDelayed(MemoryRedis redis, BiFunction<D, List<Frame>, CompletableFuture<Void>> write) {
    this.redis = redis;
    this.write = write;
  }

  /** A publish with options: dropped as a duplicate, written now, or kept until due. */
  public CompletableFuture<PublishResult> send(D destination, String name, Frame frame, PublishOptions options) {
    return redis.lockedGet(() -> {
      long now = redis.now();
      if (options.dedupKey() != null) {
        String k = Delayed.dedupKey(name, options.dedupKey());
        Long until = dedup.get(k);
        if (until != null && now < until) {
          return CompletableFuture.completedFuture(PublishResult.DUPLICATE);
        }
        dedup.put(k, now + options.dedupTtl().toMillis());
      }
      long due = now;
      if (options.at() != null) {
        due = now + options.at().toEpochMilli() - System.currentTimeMillis();
      } else if (options.delay() != null) {
        due = now + options.delay().toMillis();
      }
      if (due > now || hasDue(destination.key(), due)) {
        waiting.put(new Key(due, ++seq), new Waiting(destination, frame));
        return CompletableFuture.completedFuture(PublishResult.PUBLISHED);
      }
      return write.apply(destination, List.of(frame)).thenApply(v -> PublishResult.PUBLISHED);
    });
  }

  private boolean hasDue(String destinationKey, long due) {
    for (Map.Entry<Key, Waiting> e : waiting.entrySet()) {
      if (e.getKey().due > due) {
        return false;
      }
      if (((Destination) e.getValue().destination).key().equals(destinationKey)) {
        return true;
      }
    }
    return false;
  }

  /** Under the lock, when the clock moved: writes what is due, in due order. */
  @SuppressWarnings("unchecked")
  public void clockMoved() {
    long now = redis.now();
    dedup.values().removeIf(until -> until <= now);
    List<Waiting> due = new ArrayList<>();
    while (!waiting.isEmpty() && waiting.firstKey().due <= now) {
      due.add(waiting.pollFirstEntry().getValue());
    }
    for (Waiting w : due) {
      write.apply((D) w.destination, List.of(w.frame));
    }
  }

  /** How many messages wait (for tests and backlog). */
  public int size() {
    return redis.lockedGet(waiting::size);
  }
}
