package dev.brook.spi;

import dev.brook.Broker;
import dev.brook.Middleware;
import java.lang.reflect.Type;
import java.util.Objects;

/**
 * What a test broker or a benchmark needs from a {@link BrokerBase} beyond the public {@link
 * Broker} API. Not for applications.
 */
public final class Brokers {

  private Brokers() {}

  /**
   * Runs the broker on another transport until the returned handle is closed: how the in-memory test
   * broker takes over a real broker. Running subscriptions stop, the transport is replaced, and the
   * broker starts on it with {@code extra} middlewares added after its own (subscriptions the user
   * stopped stay stopped). Closing the handle stops everything again, removes the extra middlewares,
   * puts the original transport back, and leaves the broker as it was: started again if it was
   * running. The replacement is not closed.
   */
  public static AutoCloseable runOn(Broker broker, Transport replacement, Middleware... extra) {
    var engine = base(broker).engine();
    for (Middleware m : extra) {
      engine.middleware(m);
    }
    AutoCloseable restore = engine.switchTransport(replacement);
    return () -> {
      try {
        restore.close();
      } finally {
        for (Middleware m : extra) {
          engine.removeMiddleware(m);
        }
      }
    };
  }

  /** Decodes a frame into {@code type} with the broker's codec, as a handler of that type gets it. */
  public static Object decode(Broker broker, Type type, Frame frame) throws Exception {
    return base(broker).engine().codec().decoderFor(type).decode(frame);
  }

  /** Encodes a payload as the broker's codec does for publishing. */
  public static Frame encode(Broker broker, Object payload, java.util.Map<String, String> headers) {
    return base(broker).engine().codec().encode(payload, headers);
  }

  private static BrokerBase base(Broker broker) {
    Objects.requireNonNull(broker, "broker");
    if (broker instanceof BrokerBase b) {
      return b;
    }
    throw new IllegalArgumentException(broker.getClass().getName() + " is not a BrokerBase; only Brook's own brokers "
        + "(RedisBroker and other subclasses of dev.brook.spi.BrokerBase) can be run on another transport.");
  }
}
