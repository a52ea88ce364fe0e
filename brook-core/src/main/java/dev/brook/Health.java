package dev.brook;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Objects;

/**
 * A broker's health at one moment, from {@link Broker#health()}: an overall {@link Status}, the
 * server's reachability and round-trip time, and one {@link SubscriptionHealth} per registered
 * subscription. An immutable value: take a new one to see a change.
 *
 * <p>The rules, checked in this order:
 *
 * <ul>
 *   <li>{@link Status#DOWN} when the broker is closed, or the server does not answer a PING within
 *       {@link Options#timeout()} (a broker that has not connected yet connects for the check);
 *   <li>{@link Status#DEGRADED} when the server answers but a connection is reconnecting, or any
 *       subscription is DEGRADED: it is not running (registered and not started, or stopped), its
 *       handlers are stuck (every one of its {@code concurrency} workers is busy and the oldest has
 *       been busy longer than {@link Options#stuckAfter()}), its consume loop has not polled the
 *       server for longer than {@code stuckAfter}, or its stream lag is above {@link
 *       Options#maxLag()} (pull subscriptions, whose handler and loop wait for callers by
 *       design, are never stuck);
 *   <li>{@link Status#UP} otherwise.
 * </ul>
 *
 * <p>{@link #problems()} names every reason for a status other than UP, each naming the
 * subscription it is about. {@link #toString()} is the human-readable report, {@link #toJson()} the
 * same as JSON.
 *
 * @param status the overall status
 * @param checkedAt when the check ran
 * @param server the server as this broker reaches it
 * @param subscriptions one entry per registered subscription, by id
 * @param problems why the status is not UP; empty when UP
 */
public record Health(Status status, Instant checkedAt, Server server, List<SubscriptionHealth> subscriptions,
    List<String> problems) {

  public Health {
    Objects.requireNonNull(status, "status");
    Objects.requireNonNull(checkedAt, "checkedAt");
    Objects.requireNonNull(server, "server");
    subscriptions = List.copyOf(subscriptions);
    problems = List.copyOf(problems);
  }

  /** UP: everything works; DEGRADED: the server answers but something needs a look; DOWN: no service. */
  public enum Status {
    UP, DEGRADED, DOWN;

    /** The worse of the two. */
    public Status and(Status other) {
      return other.ordinal() > ordinal() ? other : this;
    }
  }

  /**
   * The server as the broker reaches it.
   *
   * @param name the server in text, password masked ({@code redis://127.0.0.1:6379})
   * @param reachable whether it answered a PING in time
   * @param roundTrip how long the PING took; null when it did not answer
   * @param reconnecting whether one of the broker's connections is lost and being reconnected
   */
  public record Server(String name, boolean reachable, Duration roundTrip, boolean reconnecting) {}

  /**
   * One subscription's health.
   *
   * @param id the subscription's id
   * @param destination its destination's key ({@code stream:events/billing/...})
   * @param state its lifecycle state
   * @param status DEGRADED with a {@code problem}, else UP
   * @param lastPoll when its consume loop last read from the server (Lists and Streams, which poll);
   *     null for destinations the server pushes (Pub/Sub), for the in-memory test broker, and when
   *     it is not running
   * @param busyWorkers handlers running now
   * @param concurrency how many may run at once
   * @param oldestBusy how long the longest-running handler has been running; {@link Duration#ZERO}
   *     when none runs
   * @param lag entries of its stream the group has not read yet; -1 when not a stream group, or
   *     unknown (the server did not answer, or cannot tell after deletions)
   * @param problem why it is DEGRADED, or null
   */
  public record SubscriptionHealth(String id, String destination, Subscription.State state, Status status,
      Instant lastPoll, int busyWorkers, int concurrency, Duration oldestBusy, long lag, String problem) {}

  /**
   * The thresholds of a check.
   *
   * @param timeout how long the server may take to answer the PING (default 1 s)
   * @param stuckAfter how long all of a subscription's handlers may be busy, or its consume loop
   *     silent, before it counts as stuck (default 60 s)
   * @param maxLag the stream lag above which a subscription is DEGRADED (default 10,000 entries)
   */
  public record Options(Duration timeout, Duration stuckAfter, long maxLag) {

    /** 1 s, 60 s, 10,000 entries. */
    public static final Options DEFAULT = new Options(Duration.ofSeconds(1), Duration.ofSeconds(60), 10_000);

    public Options {
      positive(timeout, "timeout");
      positive(stuckAfter, "stuckAfter");
      if (maxLag < 0) {
        throw new IllegalArgumentException("maxLag must be 0 or more, was " + maxLag + ".");
      }
    }

    public Options withTimeout(Duration timeout) {
      return new Options(timeout, stuckAfter, maxLag);
    }

    public Options withStuckAfter(Duration stuckAfter) {
      return new Options(timeout, stuckAfter, maxLag);
    }

    public Options withMaxLag(long maxLag) {
      return new Options(timeout, stuckAfter, maxLag);
    }

    private static void positive(Duration d, String name) {
      Objects.requireNonNull(d, name);
      if (d.isNegative() || d.isZero()) {
        throw new IllegalArgumentException(name + " must be positive, was " + d + ".");
      }
    }
  }

  /** The subscription with this id, or null. */
  public SubscriptionHealth subscription(String id) {
    for (SubscriptionHealth s : subscriptions) {
      if (s.id().equals(id)) {
        return s;
      }
    }
    return null;
  }

  /** The report as JSON: {@code {"status":"UP","checkedAt":"...","server":{...},"subscriptions":[...],"problems":[]}}. */
  public String toJson() {
    StringBuilder b = new StringBuilder(256);
    b.append("{\"status\":\"").append(status).append("\",\"checkedAt\":\"").append(checkedAt).append("\",\"server\":{");
    b.append("\"name\":");
    string(b, server.name());
    b.append(",\"reachable\":").append(server.reachable()).append(",\"roundTripMillis\":")
        .append(server.roundTrip() == null ? "null" : String.format(java.util.Locale.ROOT, "%.3f", server.roundTrip().toNanos() / 1e6))
        .append(",\"reconnecting\":").append(server.reconnecting()).append("},\"subscriptions\":[");
    for (int i = 0; i < subscriptions.size(); i++) {
      SubscriptionHealth s = subscriptions.get(i);
      b.append(i == 0 ? "{" : ",{").append("\"id\":");
      string(b, s.id());
      b.append(",\"destination\":");
      string(b, s.destination());
      b.append(",\"state\":\"").append(s.state()).append("\",\"status\":\"").append(s.status()).append("\",\"lastPoll\":");
      if (s.lastPoll() == null) {
        b.append("null");
      } else {
        b.append('"').append(s.lastPoll()).append('"');
      }
      b.append(",\"busyWorkers\":").append(s.busyWorkers()).append(",\"concurrency\":").append(s.concurrency())
          .append(",\"oldestBusyMillis\":").append(s.oldestBusy().toMillis()).append(",\"lag\":").append(s.lag())
          .append(",\"problem\":");
      string(b, s.problem());
      b.append('}');
    }
    b.append("],\"problems\":[");
    for (int i = 0; i < problems.size(); i++) {
      if (i > 0) {
        b.append(',');
      }
      string(b, problems.get(i));
    }
    return b.append("]}").toString();
  }

  private static void string(StringBuilder b, String s) {
    if (s == null) {
      b.append("null");
      return;
    }
    b.append('"');
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      switch (c) {
        case '"' -> b.append("\\\"");
        case '\\' -> b.append("\\\\");
        case '\n' -> b.append("\\n");
        case '\r' -> b.append("\\r");
        case '\t' -> b.append("\\t");
        default -> {
          if (c < 0x20) {
            b.append(String.format("\\u%04x", (int) c));
          } else {
            b.append(c);
          }
        }
      }
    }
    b.append('"');
  }

  /**
   * The report for people, e.g.
   *
   * <pre>
   * DEGRADED  redis://127.0.0.1:6379  reachable, round trip 0.21 ms
   *   - subscription 'orders': all 1 handler(s) busy for 61 s (stuck?)
   *   orders          RUNNING  DEGRADED  list:orders  busy 1/1 for 61 s  polled 61 s ago
   * </pre>
   */
  @Override
  public String toString() {
    StringBuilder b = new StringBuilder();
    b.append(status).append("  ").append(server.name()).append("  ");
    if (server.reachable()) {
      b.append("reachable, round trip ")
          .append(String.format(java.util.Locale.ROOT, "%.2f ms", server.roundTrip().toNanos() / 1e6));
    } else {
      b.append("not reachable");
    }
    if (server.reconnecting()) {
      b.append(", reconnecting");
    }
    b.append('\n');
    for (String p : problems) {
      b.append("  - ").append(p).append('\n');
    }
    for (SubscriptionHealth s : subscriptions) {
      b.append("  ").append(s.id()).append("  ").append(s.state()).append("  ").append(s.status()).append("  ")
          .append(s.destination()).append("  busy ").append(s.busyWorkers()).append('/').append(s.concurrency());
      if (s.busyWorkers() > 0) {
        b.append(" for ").append(s.oldestBusy().toMillis()).append(" ms");
      }
      if (s.lastPoll() != null) {
        b.append("  polled ").append(Math.max(0, Duration.between(s.lastPoll(), checkedAt).toMillis())).append(" ms ago");
      }
      if (s.lag() >= 0) {
        b.append("  lag ").append(s.lag());
      }
      b.append('\n');
    }
    return b.toString();
  }
}
