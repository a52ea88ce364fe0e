package dev.brook.redis.internal;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Supplier;

/**
 * A resource a transport opens lazily, once, for every user at once: the shared Pub/Sub and
 * sharded Pub/Sub hubs. The first caller of {@link #get} opens it (with I/O, outside any lock);
 * concurrent callers wait for that attempt's outcome instead of opening a second one, which is
 * what keeps one connection per hub however many subscriptions start together. A failed attempt is
 * forgotten, so the next caller tries again.
 *
 * <p>Thread-safe. The opened value is owned by whoever {@code open} hands it to (the transport's
 * {@link RedisConnections} adopts the connection and closes it); this class closes nothing.
 */
public final class OpenOnce<T> {

  /** Guards {@code opening}; never held across I/O. */
  private final ReentrantLock lock = new ReentrantLock();
  /** The value being opened or open; null before and after a failed attempt. */
  private CompletableFuture<T> opening;
  private volatile T value;

  /**
   * The value, opened by {@code open} on the first call: connects {@code connections} first, and
   * refuses (with {@link RedisConnections#closedError()}) once they are closed.
   */
  public T get(RedisConnections connections, Supplier<T> open) {
    T v = value;
    if (v != null) {
      return v;
    }
    connections.connect();
    CompletableFuture<T> attempt;
    boolean mine;
    lock.lock();
    try {
      if (connections.isClosed()) {
        throw connections.closedError();
      }
      mine = opening == null;
      if (mine) {
        opening = new CompletableFuture<>();
      }
      attempt = opening;
    } finally {
      lock.unlock();
    }
    if (!mine) {
      return connections.await(attempt);
    }
    try {
      T created = open.get();
      value = created;
      attempt.complete(created);
      return created;
    } catch (RuntimeException | Error e) {
      lock.lock();
      try {
        if (opening == attempt) {
          opening = null;
        }
      } finally {
        lock.unlock();
      }
      attempt.completeExceptionally(e);
      throw e;
    }
  }

  /** The value once opened, else null; never opens it. */
  public T peek() {
    return value;
  }
}
