package dev.brook.redis.internal;

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
 */
public record TransportOptions(String clientName, Duration connectTimeout, Duration commandTimeout,
    int requestQueueSize, int maxMessageSize, Path caCertificate) {

  public TransportOptions {
    Objects.requireNonNull(clientName, "clientName");
    Objects.requireNonNull(connectTimeout, "connectTimeout");
    Objects.requireNonNull(commandTimeout, "commandTimeout");
  }
}
