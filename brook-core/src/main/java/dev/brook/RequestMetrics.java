package dev.brook;

/**
 * A snapshot of one broker's request/reply counters since it was created; see {@link
 * Broker#requestMetrics()}.
 *
 * @param pending requests waiting for their reply now
 * @param replied requests that received their reply
 * @param timedOut requests that failed with {@link RequestTimeoutException}
 * @param lateReplies replies that matched no waiting request (it had timed out, was cancelled, or
 *     another subscriber had replied first) and were dropped
 */
public record RequestMetrics(long pending, long replied, long timedOut, long lateReplies) {}
