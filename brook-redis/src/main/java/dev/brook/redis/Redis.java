package dev.brook.redis;

/**
 * Factories for Redis destinations, meant for static import:
 *
 * <pre>{@code
 * import static dev.brook.redis.Redis.*;
 *
 * broker.subscriber(channel("orders"))...
 * broker.subscriber(shardChannel("orders"))...
 * broker.subscriber(pattern("logs.{level}"))...
 * broker.subscriber(list("jobs"))...
 * broker.subscriber(stream("events").group("g").consumer("c1"))...
 * }</pre>
 */
public final class Redis {

  private Redis() {}

  /** A Pub/Sub channel (at-most-once, fan-out). */
  public static ChannelDestination channel(String name) {
    return new ChannelDestination(name);
  }

  /**
   * A Redis 7 sharded Pub/Sub channel (SSUBSCRIBE/SPUBLISH; at-most-once, fan-out): in a Redis
   * Cluster its messages stay on the master owning its slot instead of reaching every node.
   */
  public static ShardChannelDestination shardChannel(String name) {
    return new ShardChannelDestination(name);
  }

  /** Pub/Sub channels matching a glob, with optional {@code {name}} parts (see {@link PatternDestination}). */
  public static PatternDestination pattern(String pattern) {
    return new PatternDestination(pattern);
  }

  /** A List used as a queue; reliable (at-least-once) unless {@link ListDestination#atMostOnce()}. */
  public static ListDestination list(String name) {
    return new ListDestination(name);
  }

  /** A Stream; add {@link StreamDestination#group(String)} for a consumer group (at-least-once). */
  public static StreamDestination stream(String name) {
    return new StreamDestination(name);
  }

  /** The URL with any password replaced by {@code ****}, for log lines and messages. */
  public static String maskedUrl(String url) {
    return dev.brook.redis.internal.RedisUrls.mask(url);
  }

  /**
   * The consumer name used when a List or Stream group subscription names none: host, process id
   * and a short random part, fixed for the life of the process (so re-registering in the same
   * process keeps its id and its pending messages).
   */
  public static String defaultConsumerName() {
    return DefaultConsumer.NAME;
  }

  private static final class DefaultConsumer {
    static final String NAME = compute();

    private static String compute() {
      String host;
      try {
        host = java.net.InetAddress.getLocalHost().getHostName();
      } catch (java.io.IOException | RuntimeException e) {
        host = "host";
      }
      String random = Long.toString(java.util.concurrent.ThreadLocalRandom.current().nextLong(36L * 36 * 36 * 36), 36);
      return host + "-" + ProcessHandle.current().pid() + "-" + random;
    }
  }
}
