package dev.brook;

/**
 * A snapshot of one broker's request/reply counters since it was created; see {@link
 * Broker#requestMetrics()}. Its {@code toString()} names every counter.
 *
 * <p>An interface so that Brook can add counters without breaking code that reads these; Brook
 * implements it, applications only read it.
 */
public interface RequestMetrics {

  /** Requests waiting for their reply now. */
  long pending();

  /** Requests that received their reply. */
  long replied();

  /** Requests that failed with {@link RequestTimeoutException}. */
  long timedOut();

  /**
   * Replies that matched no waiting request (it had timed out, was cancelled, or another subscriber
   * had replied first) and were dropped.
   */
  long lateReplies();
}
