package dev.brook.redis;

import dev.brook.redis.internal.PubSubSnapshot;
import java.time.Duration;

/**
 * What a broker's shared Pub/Sub connection saw since it was opened: a snapshot from {@link
 * RedisBroker#pubSubMetrics()}. Its {@code toString()} names every counter.
 *
 * <p>Pub/Sub is at-most-once: Redis keeps nothing for a subscriber that is not connected, and when
 * it closes a subscriber's connection — because Redis restarted, the network failed, or the
 * subscriber fell behind its {@code client-output-buffer-limit pubsub} — whatever it had not yet
 * sent is gone too. No client can count those messages; Brook counts the losses of the connection
 * (each one is a gap in every channel and pattern), how long they lasted, and estimates the
 * messages published meanwhile from the rate received before the loss. Messages that arrived but
 * found a subscription's buffer full are counted per subscription, in {@code
 * SubscriptionMetrics.dropped()}.
 *
 * <p>An interface so that Brook can add counters without breaking code that reads these; Brook
 * implements it, applications only read it.
 */
public interface PubSubMetrics {

  /** Before the first channel or pattern subscription opened the connection: every counter zero. */
  PubSubMetrics NONE = new PubSubSnapshot(0, 0, Duration.ZERO, 0);

  /** Messages received on the connection, for all its channels and patterns. */
  long received();

  /** Times the connection was lost and came back (each a gap in delivery). */
  long disconnects();

  /** Total time without the connection, from each loss until it was back. */
  Duration downtime();

  /**
   * Messages estimated to be lost in those gaps: for each, the rate received in the seconds before
   * it times its length. A lower bound of sorts: what Redis had buffered but not sent when it closed
   * the connection is not in it.
   */
  long estimatedLost();
}
