package dev.brook.redis;

/**
 * Factories for Redis destinations, meant for static import:
 *
 * <pre>{@code
 * import static dev.brook.redis.Redis.*;
 *
 * broker.subscriber(channel("orders"))...
 * broker.subscriber(pattern("logs.{level}"))...
 * }</pre>
 */
public final class Redis {

  private Redis() {}

  /** A Pub/Sub channel (at-most-once, fan-out). */
  public static ChannelDestination channel(String name) {
    return new ChannelDestination(name);
  }

  /** Pub/Sub channels matching a glob, with optional {@code {name}} parts (see {@link PatternDestination}). */
  public static PatternDestination pattern(String pattern) {
    return new PatternDestination(pattern);
  }
}
