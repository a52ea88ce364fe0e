package dev.brook.spi;

import dev.brook.Broker;
import dev.brook.Destination;
import dev.brook.Middleware;
import dev.brook.Subscription;
import java.lang.reflect.Type;
import java.util.Objects;
import java.util.Optional;

/**
 * What a test broker, a benchmark or the documentation ({@code brook-asyncapi}) needs from a {@link
 * BrokerBase} beyond the public {@link Broker} API. Not for applications.
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

  /**
   * Removes a middleware added with {@link Broker#middleware} (the first one equal to it; nothing when
   * there is none): running subscriptions drop it from their next message. How an extension that
   * added one (metrics, tracing) releases it when it is closed, so the broker keeps no reference to it.
   */
  public static void removeMiddleware(Broker broker, Middleware middleware) {
    base(broker).engine().removeMiddleware(Objects.requireNonNull(middleware, "middleware"));
  }

  /**
   * The broker's subscription a handle stands for: what {@code router.subscriber(...).handle(...)}
   * returned resolves to the live subscription it became in the broker of the router's latest
   * include (itself before any include); a broker's own subscription is itself. How a test broker
   * matches the subscription its handlers run under ({@code MessageContext}, middlewares) to the
   * handle the test holds.
   */
  public static Subscription live(Subscription handle) {
    return dev.brook.internal.DefaultRouter.live(handle);
  }

  /**
   * The transport the broker runs on now: its own, or the one {@link #runOn} put in its place (a
   * test broker's in-memory Redis). How a broker's server-specific figures (a Redis broker's
   * backlog) reach the transport that holds them.
   */
  public static Transport transport(Broker broker) {
    return base(broker).engine().transport();
  }

  /**
   * The transport the broker was built with (its real one, also while {@link #runOn} runs it on
   * another): what a test broker that records a real broker wraps.
   */
  public static Transport ownTransport(Broker broker) {
    return base(broker).ownTransport();
  }

  /** Decodes a frame into {@code type} with the broker's codec, as a handler of that type gets it. */
  public static Object decode(Broker broker, Type type, Frame frame) throws Exception {
    return base(broker).engine().codec().decoderFor(type).decode(frame);
  }

  /** Encodes a payload as the broker's codec does for publishing. */
  public static Frame encode(Broker broker, Object payload, java.util.Map<String, String> headers) {
    return base(broker).engine().codec().encode(payload, headers);
  }

  /**
   * What documentation says about a destination of this broker: its own transport's {@link
   * Transport#describe(Destination)} (the transport it was built with, also while {@link #runOn}
   * runs it on another, since a document describes the service as deployed); {@link
   * DestinationDescription#generic} for a broker that is not a {@link BrokerBase}.
   */
  public static DestinationDescription describe(Broker broker, Destination destination) {
    Objects.requireNonNull(destination, "destination");
    return Objects.requireNonNull(broker, "broker") instanceof BrokerBase b
        ? b.ownTransport().describe(destination) : DestinationDescription.generic(destination);
  }

  /**
   * What documentation says about the server of this broker (its own transport's {@link
   * Transport#describeServer()}); empty for a broker that is not a {@link BrokerBase}.
   */
  public static Optional<ServerDescription> describeServer(Broker broker) {
    return Objects.requireNonNull(broker, "broker") instanceof BrokerBase b
        ? b.ownTransport().describeServer() : Optional.empty();
  }

  /**
   * What documentation says about the destinations replies to requests travel on (the {@link
   * Transport#replyChannel} of the broker's own transport, described; its address is a
   * placeholder, since each requester names its own); empty when the broker has no request/reply or
   * is not a {@link BrokerBase}.
   */
  public static Optional<DestinationDescription> describeReplies(Broker broker) {
    if (!(Objects.requireNonNull(broker, "broker") instanceof BrokerBase b)) {
      return Optional.empty();
    }
    Transport transport = b.ownTransport();
    Destination replies;
    try {
      replies = transport.replyChannel("brook.reply");
    } catch (UnsupportedOperationException e) {
      return Optional.empty(); // the transport's documented answer for "no request/reply"
    }
    return Optional.of(transport.describe(replies));
  }

  /**
   * Adds an instrumentation link to the broker until the returned handle is closed: a middleware
   * whose consume scope runs around a message's whole processing, outside Brook's own links (the
   * access log, settlement, publishing the result, decoding), first for every subscription's
   * messages from their next one. So what it makes current on the worker thread (a tracing span)
   * is current while the result is published, replies are sent and the message is settled. It
   * never sees an exception ({@link dev.brook.AckPolicy settlement} catches them): after {@code
   * proceed()} it reads {@link #failure} and {@link #settlement}. Its publish scope is not used
   * (register a broker middleware for that), and it does not run on replies to requests. For
   * observability modules (brook-opentelemetry), not for applications; without any the per-message
   * cost is one more volatile read.
   */
  public static AutoCloseable instrument(Broker broker, Middleware link) {
    var engine = base(broker).engine();
    engine.instrument(link);
    return () -> engine.removeInstrumentation(link);
  }

  /**
   * How Brook settled the message of an instrumentation link's chain: {@code "ack"}, {@code
   * "nack"}, {@code "reject"} (dead-lettered where the destination keeps dead letters), {@code
   * "release"} (given back at a stop), or null (not settled: Pub/Sub, {@code SkipMessage}, {@code
   * MANUAL} without a settlement).
   */
  public static String settlement(dev.brook.MessageContext context) {
    return dev.brook.internal.Instrumentation.settlement(Objects.requireNonNull(context, "context"));
  }

  /** The exception the message of an instrumentation link's chain failed with (handler, decoding, validation), or null. */
  public static Throwable failure(dev.brook.MessageContext context) {
    return dev.brook.internal.Instrumentation.failure(Objects.requireNonNull(context, "context"));
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
