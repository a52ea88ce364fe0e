package dev.brook.micrometer;

import dev.brook.Subscription;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * One naming of the message meters (OpenTelemetry's or FastStream's): what a received, a processed and a
 * sent message record. Every meter it registers is tracked, so that closing the binding removes it.
 * Thread-safe: called by every worker and publishing thread.
 */
abstract class Scheme {

  /** What one subscription's messages record; made once per subscription. */
  interface Consumed {
    /** Before the handler: {@code count} messages (a batch's size), the first one's body size. */
    void received(int count, int bytes);

    /** After it: how long, and the failure (null, or a signal such as {@code AckMessage}). */
    void processed(long nanos, Throwable error, int count);
  }

  /** What messages sent to one destination (label) record. */
  interface Sent {
    void sent(long nanos, Throwable error);
  }

  final MeterRegistry registry;
  private final Set<Meter> meters = ConcurrentHashMap.newKeySet();
  private final ConcurrentHashMap<String, Sent> sent = new ConcurrentHashMap<>();
  private volatile boolean closed;

  Scheme(MeterRegistry registry) {
    this.registry = registry;
  }

  abstract Consumed consumed(Subscription s);

  abstract Sent newSent(String destination);

  /** The meters of messages sent to this destination label (cached: one lookup per publish). */
  final Sent sent(String destination) {
    Sent s = sent.get(destination);
    return s != null ? s : sent.computeIfAbsent(destination, this::newSent);
  }

  /** Registers nothing itself: remembers a meter the scheme (or the binding) registered, to remove it on close. */
  final <M extends Meter> M track(M meter) {
    meters.add(meter);
    if (closed) {
      registry.remove(meter); // made by a message that passed the middleware while the binding closed
    }
    return meter;
  }

  /** Removes one meter this scheme tracks (a backlog gauge of a subscription that went away). */
  final void untrack(Meter meter) {
    meters.remove(meter);
    registry.remove(meter);
  }

  final void removeAll() {
    closed = true;
    for (Meter m : meters) {
      registry.remove(m);
    }
    meters.clear();
    sent.clear();
  }
}
