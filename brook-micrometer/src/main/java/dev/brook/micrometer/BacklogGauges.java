package dev.brook.micrometer;

import dev.brook.Subscription;
import dev.brook.redis.Backlog;
import dev.brook.redis.ListDestination;
import dev.brook.redis.RedisBroker;
import dev.brook.redis.StreamDestination;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.Tags;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The backlog gauges of a binding ({@link BrookMetrics#STREAM_LAG} and the rest): one daemon thread,
 * {@code brook-metrics-backlog}, asks {@link RedisBroker#backlog} for every List and Stream subscription
 * each interval and stores the figures; the gauges only read what it stored, so a scrape never waits
 * for Redis. Started by the binding, stopped by its close (or when the broker is found closed).
 *
 * <p>A failed refresh sets the subscription's figures to NaN (unknown, not zero) and is logged at WARN
 * at most once a minute (the rest at DEBUG); the thread goes on.
 */
final class BacklogGauges {

  private static final Logger log = LoggerFactory.getLogger(BrookMetrics.class);
  private static final long WARN_EVERY_NANOS = Duration.ofMinutes(1).toNanos();

  /** The figures, in the order of {@link Backlog}'s components after the destination. */
  private static final int LENGTH = 0;
  private static final int LAG = 1;
  private static final int PENDING = 2;
  private static final int CONSUMER_PENDING = 3;
  private static final int PROCESSING = 4;
  private static final int DEAD_LETTERS = 5;

  private final RedisBroker broker;
  private final Scheme scheme;
  private final long intervalNanos;
  private final ConcurrentHashMap<String, Figures> bySubscription = new ConcurrentHashMap<>();
  private final Object wakeUp = new Object();
  private final Thread thread;
  private volatile boolean closed;
  private long lastWarn;
  private int unwarned;

  BacklogGauges(RedisBroker broker, Scheme scheme, Duration interval) {
    this.broker = broker;
    this.scheme = scheme;
    this.intervalNanos = interval.toNanos();
    this.thread = Thread.ofPlatform().daemon().name("brook-metrics-backlog").unstarted(this::run);
  }

  void start() {
    thread.start();
  }

  /** Stops the thread (waiting for a refresh in progress: at most a command timeout) and removes the gauges. */
  void close() {
    closed = true;
    synchronized (wakeUp) {
      wakeUp.notifyAll();
    }
    if (Thread.currentThread() != thread) {
      try {
        thread.join(Duration.ofSeconds(10));
        if (thread.isAlive()) {
          thread.interrupt(); // a command that outlived its timeout: cancel it
          thread.join(Duration.ofSeconds(1));
        }
      } catch (InterruptedException e) {
        thread.interrupt();
        Thread.currentThread().interrupt();
      }
    }
    bySubscription.values().forEach(f -> f.remove(scheme));
    bySubscription.clear();
  }

  private void run() {
    while (!closed) {
      try {
        if (!refresh()) {
          return; // the broker was closed: it never reopens
        }
      } catch (Throwable t) {
        failed("the backlog figures", t); // never let the refresher die
      }
      long deadline = System.nanoTime() + intervalNanos;
      synchronized (wakeUp) {
        long left;
        while (!closed && (left = deadline - System.nanoTime()) > 0) {
          try {
            wakeUp.wait(Math.max(1, left / 1_000_000));
          } catch (InterruptedException e) {
            return;
          }
        }
      }
    }
  }

  /** One round over the broker's subscriptions; false when the broker is closed. */
  boolean refresh() {
    Set<String> seen = new HashSet<>();
    for (Subscription s : broker.subscriptions()) {
      if (closed) {
        return true;
      }
      if (!(s.destination() instanceof ListDestination) && !(s.destination() instanceof StreamDestination)) {
        continue; // Pub/Sub keeps nothing waiting in Redis
      }
      seen.add(s.id());
      Figures f = bySubscription.get(s.id());
      if (f == null || !f.destination.equals(s.destination())) {
        if (f != null) {
          f.remove(scheme);
        }
        f = new Figures(s.destination());
        bySubscription.put(s.id(), f);
        f.register(scheme, s);
      }
      try {
        Backlog b = broker.backlog(s);
        f.values = new double[] {figure(b.length()), figure(b.lag()), figure(b.pending()),
            figure(b.consumerPending()), figure(b.processing()), figure(b.deadLetters())};
      } catch (IllegalArgumentException e) {
        // Unregistered (or replaced) between subscriptions() and backlog(): the next round sees the truth.
      } catch (IllegalStateException e) {
        return false; // the broker is closed
      } catch (RuntimeException e) {
        f.values = Figures.UNKNOWN;
        failed("the backlog of subscription '" + s.id() + "'", e);
      }
    }
    // Subscriptions removed from the broker: their series go too.
    bySubscription.entrySet().removeIf(e -> {
      if (seen.contains(e.getKey())) {
        return false;
      }
      e.getValue().remove(scheme);
      return true;
    });
    return true;
  }

  private static double figure(long value) {
    return value < 0 ? Double.NaN : value;
  }

  private void failed(String what, Throwable t) {
    long now = System.nanoTime();
    if (lastWarn == 0 || now - lastWarn >= WARN_EVERY_NANOS) {
      log.warn("Could not read {} from {}{}; the gauges show NaN until the next refresh succeeds. Is Redis reachable?",
          what, broker, unwarned == 0 ? "" : " (" + unwarned + " more failures since the last warning)", t);
      lastWarn = now == 0 ? 1 : now;
      unwarned = 0;
    } else {
      unwarned++;
      log.debug("Could not read {} from {}", what, broker, t);
    }
  }

  /** One subscription's figures and the gauges that read them. */
  private static final class Figures {
    static final double[] UNKNOWN = {Double.NaN, Double.NaN, Double.NaN, Double.NaN, Double.NaN, Double.NaN};

    final dev.brook.Destination destination; // not the subscription: a replaced one must not stay reachable
    final List<Meter> gauges = new ArrayList<>();
    volatile double[] values = UNKNOWN;

    Figures(dev.brook.Destination destination) {
      this.destination = destination;
    }

    void register(Scheme scheme, Subscription subscription) {
      Tags tags = Tags.of("messaging.system", "redis", "messaging.destination.name", Labels.destination(subscription),
          "messaging.destination.subscription.name", subscription.id(),
          "messaging.consumer.group.name", Labels.group(subscription));
      if (destination instanceof ListDestination list) {
        gauge(scheme, BrookMetrics.LIST_LENGTH, "Items waiting in the list, not yet taken", tags, LENGTH);
        if (!list.isAtMostOnce()) {
          gauge(scheme, BrookMetrics.LIST_PROCESSING, "Items taken by this subscription and not yet settled", tags,
              PROCESSING);
        }
        if (list.deadLetterKey() != null) {
          gauge(scheme, BrookMetrics.DEAD_LETTERS, "Messages in the destination's dead letter", tags, DEAD_LETTERS);
        }
      } else if (destination instanceof StreamDestination stream) {
        gauge(scheme, BrookMetrics.STREAM_LENGTH, "Entries in the stream (XLEN)", tags, LENGTH);
        if (stream.groupName() != null) {
          gauge(scheme, BrookMetrics.STREAM_LAG, "Entries added and not yet read by the group", tags, LAG);
          gauge(scheme, BrookMetrics.STREAM_PENDING, "Entries the group read and did not acknowledge", tags, PENDING);
          gauge(scheme, BrookMetrics.STREAM_CONSUMER_PENDING,
              "Entries pending for this subscription's consumer", tags, CONSUMER_PENDING);
          gauge(scheme, BrookMetrics.DEAD_LETTERS, "Messages in the destination's dead letter", tags, DEAD_LETTERS);
        }
      }
    }

    private void gauge(Scheme scheme, String name, String description, Tags tags, int figure) {
      gauges.add(scheme.track(Gauge.builder(name, this, f -> f.values[figure]).description(description).tags(tags)
          .strongReference(true).register(scheme.registry)));
    }

    void remove(Scheme scheme) {
      gauges.forEach(scheme::untrack);
      gauges.clear();
    }
  }
}
