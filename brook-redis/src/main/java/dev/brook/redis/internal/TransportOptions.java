package dev.brook.redis.internal;

import io.lettuce.core.RedisClient;
import io.lettuce.core.resource.ClientResources;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Objects;

/**
 * The connection settings a {@link RedisTransport} is built with; {@code RedisBroker.Builder}
 * validates them and documents the defaults.
 *
 * @param clientName what Brook's connections call themselves ({@code CLIENT SETNAME})
 * @param connectTimeout how long a connect may take
 * @param commandTimeout how long any command, a publish included, waits for Redis, also while it
 *     is reconnecting
 * @param requestQueueSize commands that may wait per connection (while Redis is slow or the
 *     connection is down); beyond it commands fail at once
 * @param maxMessageSize received values larger than this are rejected before they are unwrapped or
 *     decoded; publishing a larger one fails at once
 * @param caCertificate PEM file of the certificate authorities to trust for {@code rediss://}, or
 *     null for the JDK's default trust store
 * @param clientResources the user's Lettuce resources to create the client on, or null for
 *     resources of Brook's own; Brook never shuts the user's down
 * @param redisClient the user's Lettuce client to connect with (its options and resources apply),
 *     or null for a client of Brook's own; Brook never shuts the user's down
 * @param durability what List and Stream publishes wait for by default ({@code waitForReplicas})
 */
public record TransportOptions(String clientName, Duration connectTimeout, Duration commandTimeout,
    int requestQueueSize, int maxMessageSize, Path caCertificate, ClientResources clientResources,
    RedisClient redisClient, Durability durability) {

  public TransportOptions {
    Objects.requireNonNull(clientName, "clientName");
    Objects.requireNonNull(connectTimeout, "connectTimeout");
    Objects.requireNonNull(commandTimeout, "commandTimeout");
    Objects.requireNonNull(durability, "durability");
  }

  /** Options without durable publishing by default. */
  public TransportOptions(String clientName, Duration connectTimeout, Duration commandTimeout, int requestQueueSize,
      int maxMessageSize, Path caCertificate, ClientResources clientResources, RedisClient redisClient) {
    this(clientName, connectTimeout, commandTimeout, requestQueueSize, maxMessageSize, caCertificate, clientResources,
        redisClient, Durability.NONE);
  }

  /** Options for a client and resources of Brook's own. */
  public TransportOptions(String clientName, Duration connectTimeout, Duration commandTimeout, int requestQueueSize,
      int maxMessageSize, Path caCertificate) {
    this(clientName, connectTimeout, commandTimeout, requestQueueSize, maxMessageSize, caCertificate, null, null);
  }
}
