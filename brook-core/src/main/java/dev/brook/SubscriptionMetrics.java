package dev.brook;

/**
 * A snapshot of one subscription's counters since it was registered.
 *
 * @param received messages taken from Redis
 * @param handled messages whose handler returned normally
 * @param failed messages whose handler threw
 * @param decodeErrors messages that could not be decoded into the handler's type (the handler
 *     was not called)
 * @param dropped messages received but never handled because the buffer was full or the
 *     graceful timeout ran out during a stop (at-most-once destinations only)
 */
public record SubscriptionMetrics(long received, long handled, long failed, long decodeErrors, long dropped) {}
