package dev.brook.spring.boot.autoconfigure;

import dev.brook.Broker;
import dev.brook.Health;
import java.util.LinkedHashMap;
import java.util.Map;
import org.springframework.boot.health.contributor.HealthIndicator;
import org.springframework.boot.health.contributor.Status;

/**
 * {@code /actuator/health/brook}: {@link Broker#health()} as a Spring Boot health. Brook's UP is UP,
 * DOWN is DOWN, and DEGRADED (a subscription stalled or failing, Redis slow) is reported as the
 * status {@code DEGRADED}, which Boot's default status order does not list: it does not change the
 * aggregate status of a group and answers HTTP 200, so it does not fail a readiness probe by itself
 * (list it in {@code management.endpoint.health.status.order} and {@code .http-mapping} to change that). Details: the server (reachable, round trip), each subscription's state and problem,
 * and the problems. Never throws: {@code broker.health()} never does, also on a closed broker.
 */
public final class BrookHealthIndicator implements HealthIndicator {

  /** The status Boot reports for Brook's DEGRADED. */
  public static final Status DEGRADED = new Status("DEGRADED", "Brook is running with problems (see problems).");

  private final Broker broker;

  public BrookHealthIndicator(Broker broker) {
    this.broker = broker;
  }

  @Override
  public org.springframework.boot.health.contributor.Health health() {
    Health h = broker.health();
    org.springframework.boot.health.contributor.Health.Builder b = switch (h.status()) {
      case UP -> org.springframework.boot.health.contributor.Health.up();
      case DOWN -> org.springframework.boot.health.contributor.Health.down();
      case DEGRADED -> org.springframework.boot.health.contributor.Health.status(DEGRADED);
    };
    if (h.server() != null) {
      Map<String, Object> server = new LinkedHashMap<>();
      server.put("name", h.server().name());
      server.put("reachable", h.server().reachable());
      server.put("reconnecting", h.server().reconnecting());
      if (h.server().roundTrip() != null) {
        server.put("roundTripMs", h.server().roundTrip().toNanos() / 1e6);
      }
      b.withDetail("server", server);
    }
    Map<String, Object> subs = new LinkedHashMap<>();
    for (Health.SubscriptionHealth s : h.subscriptions()) {
      Map<String, Object> d = new LinkedHashMap<>();
      d.put("status", s.status().name());
      d.put("state", s.state().name());
      d.put("destination", s.destination());
      if (s.problem() != null) {
        d.put("problem", s.problem());
      }
      subs.put(s.id(), d);
    }
    b.withDetail("subscriptions", subs);
    if (!h.problems().isEmpty()) {
      b.withDetail("problems", h.problems());
    }
    return b.build();
  }
}
