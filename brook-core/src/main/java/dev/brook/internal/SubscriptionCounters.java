package dev.brook.internal;

import dev.brook.SubscriptionMetrics;
import java.util.concurrent.atomic.LongAdder;

/**
 * The counters of one subscription, behind its {@link SubscriptionMetrics}. Counted by the
 * subscription's workers and, for dropped messages, by the transport's threads; read by anyone.
 * Thread-safe.
 */
final class SubscriptionCounters {

  /** A snapshot: a value, printed as the public view's name with its counters. */
  record Snapshot(long received, long handled, long failed, long decodeErrors, long dropped, long rejected)
      implements SubscriptionMetrics {
    @Override
    public String toString() {
      return "SubscriptionMetrics[received=" + received + ", handled=" + handled + ", failed=" + failed
          + ", decodeErrors=" + decodeErrors + ", dropped=" + dropped + ", rejected=" + rejected + "]";
    }
  }

  /** Every counter zero: a subscription not registered yet (a router's, before the router is included). */
  static final SubscriptionMetrics NONE = new Snapshot(0, 0, 0, 0, 0, 0);

  final LongAdder received = new LongAdder();
  final LongAdder handled = new LongAdder();
  final LongAdder failed = new LongAdder();
  final LongAdder decodeErrors = new LongAdder();
  final LongAdder dropped = new LongAdder();
  /** Counted where a message is rejected (DefaultMessageContext.reject): off the handled path. */
  final LongAdder rejected = new LongAdder();

  SubscriptionMetrics snapshot() {
    return new Snapshot(received.sum(), handled.sum(), failed.sum(), decodeErrors.sum(), dropped.sum(), rejected.sum());
  }
}
