package dev.brook.redis.internal;

import io.lettuce.core.AbstractRedisClient;
import io.lettuce.core.ClientOptions;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisConnectionStateListener;
import io.lettuce.core.SocketOptions;
import io.lettuce.core.SslOptions;
import io.lettuce.core.TimeoutOptions;
import io.lettuce.core.RedisURI;
import io.lettuce.core.cluster.ClusterClientOptions;
import io.lettuce.core.cluster.ClusterTopologyRefreshOptions;
import io.lettuce.core.cluster.RedisClusterClient;
import io.lettuce.core.event.DefaultEventPublisherOptions;
import io.lettuce.core.metrics.CommandLatencyRecorder;
import io.lettuce.core.resource.ClientResources;
import io.lettuce.core.resource.DefaultClientResources;
import io.lettuce.core.resource.Delay;
import io.lettuce.core.resource.NettyCustomizer;
import io.lettuce.core.resource.Transports;
import io.netty.channel.Channel;
import io.netty.channel.socket.SocketChannel;
import io.netty.handler.flush.FlushConsolidationHandler;
import io.netty.resolver.AddressResolverGroup;
import io.netty.resolver.dns.DefaultDnsCache;
import io.netty.resolver.dns.DefaultDnsCnameCache;
import io.netty.resolver.dns.DnsAddressResolverGroup;
import io.netty.resolver.dns.DnsNameResolverBuilder;
import io.netty.resolver.dns.DnsNameResolverChannelStrategy;
import io.netty.util.concurrent.DefaultThreadFactory;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The Lettuce client one transport connects with, and what came with it: the user's client as it
 * is; else a client on the user's resources; else a client on resources of Brook's own (two I/O
 * threads named {@code brook-...}, a reconnect back-off of 10 ms doubling to 1 s, one flush per
 * batch of pipelined commands, a DNS resolver of its own). {@link #release} releases only what
 * Brook created, in the reverse order of creation, and waits for the threads of its resources.
 *
 * <p>For a Redis Cluster ({@code redis-cluster://}) it is a {@link RedisClusterClient} with the same
 * settings and Lettuce's topology refresh: periodic, and adaptive (on MOVED/ASK redirects, persistent
 * reconnects, uncovered slots, unknown nodes) at most once a second, so a failover is followed within
 * about a second of the cluster's promoting a replica, rather than Lettuce's default 30 s.
 */
final class LettuceClient {

  private static final Logger LOG = LoggerFactory.getLogger("dev.brook.redis.Connection");

  /** A {@link RedisClient}, or a {@link RedisClusterClient} for a cluster. */
  private final AbstractRedisClient client;
  /** False for the user's client: left running, only our listener is removed. */
  private final boolean ownsClient;
  /** Ours only: null when the resources are the user's. */
  private final AddressResolverGroup<?> resolver;
  private final ClientResources resources;
  private final Set<Thread> threads;
  private final RedisConnectionStateListener listener;

  private LettuceClient(AbstractRedisClient client, boolean ownsClient, AddressResolverGroup<?> resolver,
      ClientResources resources, Set<Thread> threads, RedisConnectionStateListener listener) {
    this.client = client;
    this.ownsClient = ownsClient;
    this.resolver = resolver;
    this.resources = resources;
    this.threads = threads;
    this.listener = listener;
  }

  /** The single-node client; only when not {@link #cluster()}. */
  RedisClient client() {
    return (RedisClient) client;
  }

  /** The cluster client, or null when this is a single-node client. */
  RedisClusterClient cluster() {
    return client instanceof RedisClusterClient c ? c : null;
  }

  /** How often the cluster client asks for the topology when nothing triggered it sooner. */
  static final Duration TOPOLOGY_REFRESH_PERIOD = Duration.ofSeconds(30);
  /** At most one adaptive topology refresh in this time (Lettuce's default is 30 s). */
  static final Duration ADAPTIVE_REFRESH_TIMEOUT = Duration.ofSeconds(1);

  /** The client to connect with (no I/O yet), with {@code listener} added; release it with {@link #release}. */
  static LettuceClient create(TransportOptions options, RedisConnectionStateListener listener, String masked) {
    return create(options, listener, masked, null);
  }

  /**
   * As {@link #create(TransportOptions, RedisConnectionStateListener, String)}; with {@code clusterSeeds}
   * a cluster client for those nodes.
   */
  static LettuceClient create(TransportOptions options, RedisConnectionStateListener listener, String masked,
      List<RedisURI> clusterSeeds) {
    RedisClient provided = options.redisClient();
    if (provided != null && clusterSeeds != null) {
      throw new IllegalStateException("The URL " + masked + " is a Redis Cluster, but redisClient(...) passes a "
          + "single-node RedisClient. Leave redisClient out (Brook creates a RedisClusterClient; clientResources(...) "
          + "shares your resources), or use a redis:// URL.");
    }
    if (provided != null) {
      provided.addListener(listener); // removed at release: the user's client outlives us
      return new LettuceClient(provided, false, null, null, null, listener);
    }
    AddressResolverGroup<?> resolver = null;
    Set<Thread> threads = null;
    ClientResources resources = options.clientResources();
    boolean ownResources = resources == null;
    if (ownResources) {
      resolver = newResolver();
      threads = ConcurrentHashMap.newKeySet();
      resources = newResources(resolver, threads);
    }
    // Created on given resources, Lettuce's shutdown of the client leaves them running.
    AbstractRedisClient client = clusterSeeds == null ? RedisClient.create(resources)
        : RedisClusterClient.create(resources, clusterSeeds);
    LettuceClient created = new LettuceClient(client, true, resolver, ownResources ? resources : null, threads, listener);
    try {
      ClientOptions.Builder clientOptions = ClientOptions.builder()
          .autoReconnect(true)
          // While reconnecting, commands wait (bounded by requestQueueSize, each at most commandTimeout).
          .disconnectedBehavior(ClientOptions.DisconnectedBehavior.ACCEPT_COMMANDS)
          .requestQueueSize(options.requestQueueSize())
          .socketOptions(SocketOptions.builder().connectTimeout(options.connectTimeout()).keepAlive(true).build())
          .timeoutOptions(timeouts(options.commandTimeout()));
      SslOptions ssl = options.caCertificate() == null ? null
          : SslOptions.builder().jdkSslProvider().trustManager(options.caCertificate().toFile()).build();
      if (client instanceof RedisClusterClient cluster) {
        ClusterClientOptions.Builder clusterOptions = ClusterClientOptions.builder()
            .autoReconnect(true)
            .disconnectedBehavior(ClientOptions.DisconnectedBehavior.ACCEPT_COMMANDS)
            .requestQueueSize(options.requestQueueSize())
            .socketOptions(SocketOptions.builder().connectTimeout(options.connectTimeout()).keepAlive(true).build())
            .timeoutOptions(timeouts(options.commandTimeout()))
            .topologyRefreshOptions(ClusterTopologyRefreshOptions.builder()
                .enablePeriodicRefresh(TOPOLOGY_REFRESH_PERIOD)
                .enableAllAdaptiveRefreshTriggers()
                .adaptiveRefreshTriggersTimeout(ADAPTIVE_REFRESH_TIMEOUT)
                .build());
        if (ssl != null) {
          clusterOptions.sslOptions(ssl);
        }
        cluster.setOptions(clusterOptions.build());
        cluster.addListener(listener);
      } else {
        if (ssl != null) {
          clientOptions.sslOptions(ssl);
        }
        ((RedisClient) client).setOptions(clientOptions.build());
        ((RedisClient) client).addListener(listener);
      }
    } catch (RuntimeException e) {
      created.release(masked);
      throw e;
    }
    return created;
  }

  /**
   * Every command times out after {@code timeout}, by Lettuce's timer, except the publishes that
   * {@link PublishDeadlines} times out without a timer per command.
   */
  private static TimeoutOptions timeouts(Duration timeout) {
    return TimeoutOptions.builder().timeoutCommands(true).timeoutSource(PublishDeadlines.source(timeout)).build();
  }

  private static ClientResources newResources(AddressResolverGroup<?> resolver, Set<Thread> threads) {
    return DefaultClientResources.builder()
        .threadFactoryProvider(pool -> {
          ThreadFactory named = new DefaultThreadFactory("brook-" + pool.replace("lettuce-", ""), true);
          return task -> {
            Thread t = named.newThread(task);
            threads.add(t); // joined at release: close returns when they have ended, not just been told to
            return t;
          };
        })
        .ioThreadPoolSize(2)
        .computationThreadPoolSize(1)
        .commandLatencyRecorder(CommandLatencyRecorder.disabled())
        .commandLatencyPublisherOptions(DefaultEventPublisherOptions.disabled())
        // Lettuce's default grows to 30 s: a Redis back after a few seconds would wait that long.
        .reconnectDelay(Delay.exponential(Duration.ofMillis(10), Duration.ofSeconds(1), 2, TimeUnit.MILLISECONDS))
        .nettyCustomizer(new ConsolidatedFlushes())
        .addressResolverGroup(resolver)
        .build();
  }

  /**
   * Lettuce's default resolver group is one per JVM: it keeps a DNS resolver, with a UDP socket, for
   * each event loop it has seen and closes it when that loop has ended, too late for the close to
   * run, so every broker left sockets behind. This group is the transport's and is closed while its
   * event loops still run. It opens a socket per lookup, closed when the lookup is done, not one per
   * event loop: an IP address or a name in /etc/hosts needs none. Otherwise Lettuce's settings
   * (the native transport when it is on the class path, caches).
   */
  private static AddressResolverGroup<?> newResolver() {
    return new DnsAddressResolverGroup(new DnsNameResolverBuilder()
        .datagramChannelType(Transports.datagramChannelClass())
        .socketChannelType(Transports.socketChannelClass().asSubclass(SocketChannel.class))
        .datagramChannelStrategy(DnsNameResolverChannelStrategy.ChannelPerResolution)
        .cnameCache(new DefaultDnsCnameCache())
        .resolveCache(new DefaultDnsCache()));
  }

  /** Releases what Brook created (the user's client and resources stay as they are); never throws. */
  void release(String masked) {
    // The resolver first, while the event loops still run its close; the client's shutdown ends them.
    if (resolver != null) {
      try {
        resolver.close();
      } catch (RuntimeException e) {
        LOG.debug("Closing the DNS resolver for {} failed", masked, e);
      }
    }
    try {
      if (ownsClient) {
        client.shutdown(0, 2, TimeUnit.SECONDS);
      } else {
        client.removeListener(listener);
      }
    } catch (RuntimeException e) {
      LOG.debug("Shutting down the client for {} failed", masked, e);
    } finally {
      if (resources != null) {
        try {
          resources.shutdown(0, 2, TimeUnit.SECONDS).get(5, TimeUnit.SECONDS);
        } catch (Exception e) {
          if (e instanceof InterruptedException) {
            Thread.currentThread().interrupt();
          }
          LOG.warn("Lettuce resources for {} did not shut down cleanly: {}", masked, e.toString());
        }
      }
      joinAll(masked);
    }
  }

  /** Waits (at most 2 s in all) for the threads of shut-down resources to end. */
  private void joinAll(String masked) {
    if (threads == null) {
      return;
    }
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(2);
    for (Thread t : threads) {
      if (t == Thread.currentThread()) {
        continue;
      }
      long left = deadline - System.nanoTime();
      try {
        if (left <= 0 || !t.join(Duration.ofNanos(left))) {
          LOG.warn("Thread {} of the connection to {} did not end within 2 s of closing.", t.getName(), masked);
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      }
    }
  }

  /**
   * Lettuce flushes every command on its own: one write syscall per publish, which capped
   * pipelined publishing at a fifth of what Redis takes. With this handler first in each channel's
   * pipeline, flushes issued while the event loop is busy (commands queued from other threads,
   * settlements sent from reply callbacks) go out as one write once the loop has run its queued
   * tasks; a lone command still leaves at once, after the task that wrote it. One handler per
   * channel: Netty keeps per-channel state in it.
   */
  private static final class ConsolidatedFlushes implements NettyCustomizer {
    @Override
    public void afterChannelInitialized(Channel channel) {
      channel.pipeline().addFirst(new FlushConsolidationHandler(
          FlushConsolidationHandler.DEFAULT_EXPLICIT_FLUSH_AFTER_FLUSHES, true));
    }
  }
}
