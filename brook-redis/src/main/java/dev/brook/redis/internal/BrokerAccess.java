package dev.brook.redis.internal;

import dev.brook.internal.BrokerEngine;
import dev.brook.redis.RedisBroker;
import java.util.function.Function;

/**
 * Reaches a {@link RedisBroker}'s engine from Brook's own modules (the in-memory test broker)
 * without making it public API: {@code RedisBroker} installs the accessor when its class loads.
 */
public final class BrokerAccess {

  private static volatile Function<RedisBroker, BrokerEngine> accessor;

  private BrokerAccess() {}

  /** Called once by RedisBroker's static initializer. */
  public static void install(Function<RedisBroker, BrokerEngine> engineOf) {
    accessor = engineOf;
  }

  public static BrokerEngine engine(RedisBroker broker) {
    return accessor.apply(broker);
  }
}
