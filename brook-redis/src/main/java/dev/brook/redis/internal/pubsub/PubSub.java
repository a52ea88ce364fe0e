package dev.brook.redis.internal.pubsub;

import dev.brook.redis.PubSubMetrics;
import dev.brook.redis.internal.OpenOnce;
import dev.brook.redis.internal.RedisConnections;
import dev.brook.redis.internal.RedisContext;
import dev.brook.spi.Transport;
import io.lettuce.core.pubsub.StatefulRedisPubSubConnection;
import java.util.function.Supplier;

/**
 * Pub/Sub for one transport: the shared {@link PubSubHub} (one connection for every channel and
 * pattern subscription, opened by the first of them to start) and the two kinds that use it,
 * {@link ChannelKind} and {@link PatternKind}. The transport's connections own the hub's connection
 * and close it; {@link #metrics()} reports what it saw.
 */
public final class PubSub {

  private final RedisContext context;
  private final ChannelKind channels;
  private final PatternKind patterns;
  private final OpenOnce<PubSubHub> hub = new OpenOnce<>();

  public PubSub(RedisContext context) {
    this.context = context;
    this.channels = new ChannelKind(this, context.producer());
    this.patterns = new PatternKind(this);
  }

  public ChannelKind channels() {
    return channels;
  }

  public PatternKind patterns() {
    return patterns;
  }

  /** What the shared Pub/Sub connection saw: messages, losses and the messages estimated lost with them. */
  public PubSubMetrics metrics() {
    PubSubHub h = hub.peek();
    return h == null ? PubSubMetrics.NONE : h.metrics();
  }

  /** Opens the shared Pub/Sub connection once; concurrent callers wait for the first one's. */
  PubSubHub hub() {
    RedisConnections connections = context.connections();
    return hub.get(connections, () -> {
      StatefulRedisPubSubConnection<byte[], byte[]> connection = connections.connectPubSub();
      PubSubHub created = new PubSubHub(connection, connections.masked(), context.options().maxMessageSize(),
          context.timing(), () -> connections.isClosed() ? connections.closedError() : null);
      connections.adopt(connection, created); // closes it and throws when the transport closed meanwhile
      if (connections.isCluster()) {
        created.startProbe(connections); // Brook's own check that the connection hears (PubSubProbe)
      }
      return created;
    });
  }

  /** Opens the Pub/Sub connection at start, not when the subscription is declared. */
  static Transport.Consumer lazy(Supplier<Transport.Consumer> factory) {
    return new Transport.Consumer() {
      private Transport.Consumer delegate;

      @Override
      public void start() {
        delegate = factory.get();
        delegate.start();
      }

      @Override
      public void stop() {
        if (delegate != null) {
          delegate.stop();
        }
      }
    };
  }
}
