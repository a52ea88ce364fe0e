package dev.brook.spi;

import java.util.Objects;

/**
 * What a broker's documentation (the AsyncAPI document of {@code brook-asyncapi}) says about the
 * server a broker connects to; made by {@link Transport#describeServer()}. It must hold no secret:
 * a password or token never appears in any part, a user name only masked as the transport masks
 * URLs in its messages.
 *
 * <p>For a new server, a NATS transport would describe {@code nats://app:****@nats.internal:4222}
 * as name {@code nats}, host {@code nats.internal:4222}, protocol {@code nats} (or {@code tls}), no
 * pathname, title {@code NATS}.
 *
 * @param name the key under the document's {@code servers} ({@code redis}, {@code nats})
 * @param host {@code host:port}, or several comma-separated for a cluster or sentinels
 * @param protocol the AsyncAPI server protocol: the URL scheme's protocol ({@code redis}, {@code
 *     rediss} for TLS)
 * @param pathname the part after the host ({@code /2}, Redis' database), or null when there is none
 * @param title the kind of server in a few words ({@code Redis}, {@code Redis Sentinel})
 * @param description one sentence naming the server, its URL with any password masked
 */
public record ServerDescription(String name, String host, String protocol, String pathname, String title,
    String description) {

  /** @throws NullPointerException naming the part when any but {@code pathname} is null */
  public ServerDescription {
    Objects.requireNonNull(name, "name");
    Objects.requireNonNull(host, "host");
    Objects.requireNonNull(protocol, "protocol");
    Objects.requireNonNull(title, "title");
    Objects.requireNonNull(description, "description");
  }
}
