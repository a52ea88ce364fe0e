package dev.brook.redis.internal.pubsub;

import dev.brook.redis.PubSubMetrics;
import dev.brook.redis.internal.OpenOnce;
import dev.brook.redis.internal.RedisConnections;
import dev.brook.redis.internal.RedisContext;
import dev.brook.spi.Transport;
import dev.brook.redis.internal.TransportOptions;
import io.lettuce.core.RedisCredentials;
import io.lettuce.core.RedisURI;
import java.util.function.Supplier;

/**
 * Pub/Sub for one transport: the shared {@link PubSubHub} (one connection for every channel and
 * pattern subscription, opened by the first of them to start) and the two kinds that use it,
 * {@link ChannelKind} and {@link PatternKind}. The transport's connections own the hub's connection
 * and close it; {@link #metrics()} reports what it saw. On a standalone Redis the connection is
 * Brook's own reader ({@link SocketPubSub}); on a cluster, through Sentinel, with a Lettuce client
 * the user passed, and with {@code -Dbrook.pubsub.reader=lettuce}, Lettuce's ({@link LettucePubSub}).
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

  /**
   * Which reader a standalone Redis gets: Brook's own ({@link SocketPubSub}, the default) or, with
   * {@code -Dbrook.pubsub.reader=lettuce}, Lettuce's. A switch for A/B benchmarks and for ruling the
   * reader out when hunting a problem, not a setting: it is read when the hub opens.
   */
  static final String READER_PROPERTY = "brook.pubsub.reader";

  private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger("dev.brook.redis.PubSub");

  /** Opens the shared Pub/Sub connection once; concurrent callers wait for the first one's. */
  PubSubHub hub() {
    RedisConnections connections = context.connections();
    return hub.get(connections, () -> {
      RedisURI standalone = connections.standaloneUri();
      if (standalone != null && !"lettuce".equalsIgnoreCase(System.getProperty(READER_PROPERTY, "socket"))) {
        try {
          return socketHub(connections, standalone);
        } catch (SocketPubSub.Unsupported e) {
          LOG.info("{}; reading Pub/Sub through Lettuce instead.", e.getMessage());
        }
      }
      LettucePubSub connection = new LettucePubSub(connections.connectPubSub());
      PubSubHub created = hub(connection, connections);
      connections.adopt(connection.lettuce(), connection); // closes it and throws when the transport closed meanwhile
      if (connections.isCluster()) {
        created.startProbe(connections); // Brook's own check that the connection hears (PubSubProbe)
      }
      return created;
    });
  }

  private PubSubHub hub(PubSubConnection connection, RedisConnections connections) {
    return new PubSubHub(connection, connections.masked(), context.options().maxMessageSize(), context.timing(),
        () -> connections.isClosed() ? connections.closedError() : null);
  }

  /** The hub on Brook's own reader: a socket read by a platform thread of its own (issue 21). */
  private PubSubHub socketHub(RedisConnections connections, RedisURI uri) {
    TransportOptions options = connections.options();
    RedisCredentials credentials = uri.getCredentialsProvider() == null ? null
        : uri.getCredentialsProvider().resolveCredentials().block(options.connectTimeout());
    SocketPubSub.Settings settings = new SocketPubSub.Settings(uri.getHost(), uri.getPort(), uri.isSsl(),
        uri.getVerifyMode() == null ? "FULL" : uri.getVerifyMode().name(), options.caCertificate(),
        credentials != null && credentials.hasUsername() ? credentials.getUsername() : null,
        credentials != null && credentials.hasPassword() ? credentials.getPassword() : null,
        options.clientName(), options.connectTimeout(), options.commandTimeout(), options.maxMessageSize(),
        connections.masked());
    SocketPubSub socket = new SocketPubSub(settings, () -> connections.isClosed() ? connections.closedError() : null);
    PubSubHub created = hub(socket, connections);
    RedisConnections.Events losses = connections.adoptOwn(socket); // closes it and throws when the transport closed meanwhile
    try {
      socket.start(losses, connections.timer());
    } catch (RuntimeException | Error e) {
      connections.disown(socket);
      socket.close();
      throw e;
    }
    return created;
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
