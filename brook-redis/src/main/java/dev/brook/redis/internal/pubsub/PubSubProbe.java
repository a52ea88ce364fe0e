package dev.brook.redis.internal.pubsub;

import dev.brook.redis.internal.RedisConnections;
import dev.brook.redis.internal.Timing;
import java.nio.charset.StandardCharsets;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Brook's own check, on a Redis Cluster, that the shared Pub/Sub connection still hears what is published, and
 * its repair when it does not. Lettuce subscribes again after every reconnect, on whichever node it reconnects to,
 * but a cluster Pub/Sub connection can be open and deaf: when its node leaves the cluster while still running (every
 * other node forgot it), the others stop forwarding {@code PUBLISH} to it, and Lettuce closes the connection only at
 * the next topology refresh that no longer lists the node ({@code setPartitions}, periodic: every 30 s), or never if
 * the refresh does not run (the deaf node's own view of the cluster, which still lists it, wins Lettuce's
 * known-majority vote while it runs). Resubscribing on the same connection would not help; another node does.
 *
 * <p>Every second the command connection publishes a probe (a sequence number) on a channel of this hub's own,
 * another each time ({@code brook.probe.<uuid>.<n>}, subscribed with one pattern), so the probes reach the cluster
 * through every master in turn: a node can be deaf to some masters only (it may still get the PUBLISHes of its own
 * master). A probe Redis accepted that has not come back on the Pub/Sub connection within {@link #DEAF_NANOS}, while that
 * connection is open (a closed one is Lettuce's to reconnect), makes the hub end that connection ({@link
 * PubSubHub#endDeafConnection}), on a short-lived virtual thread: Lettuce reconnects it to the next node of the
 * cluster and subscribes every channel and pattern again, as after any loss. A probe that Redis did not accept (its
 * master is failing over) proves nothing and is not waited for. One PUBLISH a second per broker, off the message
 * path; single-node brokers have no probe.
 */
final class PubSubProbe implements Runnable {

  private static final Logger LOG = LoggerFactory.getLogger("dev.brook.redis.PubSub");
  static final long INTERVAL_MILLIS = 1_000;
  /** Far above a healthy round trip, so a connection that is only slow is not taken for deaf. */
  static final long DEAF_NANOS = TimeUnit.SECONDS.toNanos(5);
  /** Accepted probes remembered at most (a deaf connection is closed long before this many pile up). */
  private static final int MAX_REMEMBERED = 64;

  private final PubSubHub hub;
  private final RedisConnections connections;
  private final Timing timing;
  /** Probe {@code n} goes to channel {@code <prefix>n}: another slot each time, so through every master in turn. */
  private final String prefix = "brook.probe." + UUID.randomUUID() + ".";
  private final String pattern = prefix + "*";
  private final AtomicLong sequence = new AtomicLong();
  /** Probes Redis accepted and not yet heard: sequence → nanoTime sent; with {@code early}, guarded by itself. */
  private final java.util.TreeMap<Long, Long> accepted = new java.util.TreeMap<>();
  /** Probes heard before Redis' acceptance of their PUBLISH arrived on the other connection. */
  private final java.util.Set<Long> early = new java.util.HashSet<>();
  private final AtomicBoolean repairing = new AtomicBoolean();
  private volatile long lastFailureLog;

  PubSubProbe(PubSubHub hub, RedisConnections connections, Timing timing) {
    this.hub = hub;
    this.connections = connections;
    this.timing = timing;
  }

  /** The pattern the hub subscribes for the probes. */
  String pattern() {
    return pattern;
  }

  void start() {
    connections.timer().scheduleWithFixedDelay(this, INTERVAL_MILLIS, INTERVAL_MILLIS, TimeUnit.MILLISECONDS);
  }

  /** A probe came back; on the Pub/Sub connection's I/O thread. */
  void heard(byte[] message) {
    long n;
    try {
      n = Long.parseLong(new String(message, StandardCharsets.US_ASCII));
    } catch (NumberFormatException foreign) {
      return; // someone else published on our channel: not a probe
    }
    synchronized (accepted) {
      if (accepted.remove(n) == null && early.size() < MAX_REMEMBERED) {
        early.add(n);
      }
    }
  }

  /** The connection dropped or is back: it is judged again by probes sent from now on. */
  void reset() {
    synchronized (accepted) {
      accepted.clear();
      early.clear();
    }
  }

  /** On brook-timer: publishes the next probe, then looks whether an accepted one is overdue. */
  @Override
  public void run() {
    if (connections.isClosed() || repairing.get() || !hub.connectionOpen()) {
      return; // a closed connection is Lettuce's to reconnect; probes sent meanwhile would prove nothing
    }
    long n = sequence.incrementAndGet();
    long sent = timing.nanoTime();
    try {
      byte[] number = Long.toString(n).getBytes(StandardCharsets.US_ASCII);
      connections.commands().publish((prefix + n).getBytes(StandardCharsets.UTF_8), number)
          .whenComplete((receivers, e) -> {
            if (e == null) {
              synchronized (accepted) {
                if (!early.remove(n) && accepted.size() < MAX_REMEMBERED) {
                  accepted.put(n, sent);
                }
              }
            }
          });
    } catch (RuntimeException e) {
      return; // the command connection is closing or its queue is full: nothing to learn this round
    }
    long overdueSince = overdueSince(sent);
    if (overdueSince != 0 && repairing.compareAndSet(false, true)) {
      Thread.ofVirtual().name("brook-pubsub-repair").start(() -> repair(overdueSince));
    }
  }

  /** When the oldest accepted probe not yet heard was sent, if longer than {@link #DEAF_NANOS} ago; else 0. */
  private long overdueSince(long now) {
    synchronized (accepted) {
      java.util.Map.Entry<Long, Long> oldest = accepted.firstEntry();
      return oldest != null && now - oldest.getValue() > DEAF_NANOS ? oldest.getValue() : 0;
    }
  }

  /** Ends the deaf connection (Lettuce reconnects it to another node and resubscribes); on a virtual thread. */
  private void repair(long deafSince) {
    long deafMillis = TimeUnit.NANOSECONDS.toMillis(timing.nanoTime() - deafSince);
    LOG.warn("The Pub/Sub connection to {} stopped hearing what is published: Brook's probe, published every second, "
        + "has not come back for {} ms although the connection is open (its node may have left the cluster while "
        + "running). Closing it, so that it reconnects to another node and subscribes every channel and pattern again.",
        connections.masked(), deafMillis);
    try {
      hub.endDeafConnection(deafSince).toCompletableFuture().get(DEAF_NANOS, TimeUnit.NANOSECONDS);
    } catch (java.util.concurrent.ExecutionException e) {
      // The connection closed under the CLIENT KILL, as it should; anything else is worth a (rare) line.
      if (!(e.getCause() instanceof io.lettuce.core.RedisConnectionException)
          && !String.valueOf(e.getCause()).contains("closed")) {
        failed(e.getCause());
      }
    } catch (java.util.concurrent.TimeoutException e) {
      failed(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } finally {
      reset();
      repairing.set(false);
    }
  }

  private void failed(Throwable e) {
    if (connections.isClosed()) {
      return;
    }
    long now = timing.nanoTime();
    if (lastFailureLog == 0 || now - lastFailureLog > TimeUnit.MINUTES.toNanos(1)) {
      lastFailureLog = now;
      LOG.warn("Could not close the deaf Pub/Sub connection to {} ({}); trying again while it stays deaf. On RESP2 "
          + "a subscribed connection accepts no CLIENT command: Brook needs RESP3 (Redis 6 or later) for this repair.",
          connections.masked(), e.toString());
    }
  }
}
