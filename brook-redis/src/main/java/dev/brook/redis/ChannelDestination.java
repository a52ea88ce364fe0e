package dev.brook.redis;

import dev.brook.Destination;
import java.nio.charset.StandardCharsets;
import java.util.Objects;

/**
 * A Redis Pub/Sub channel: published with PUBLISH, read with SUBSCRIBE. Delivery is at-most-once
 * and fan-out: every live subscriber gets each message published while it is subscribed; nothing
 * is kept for subscribers that are not. Immutable; create with {@link Redis#channel(String)}.
 */
public final class ChannelDestination implements RedisDestination {

  private final String name;
  private final byte[] nameBytes;

  ChannelDestination(String name) {
    Objects.requireNonNull(name, "channel name");
    if (name.isEmpty()) {
      throw new IllegalArgumentException("A channel name must not be empty.");
    }
    this.name = name;
    this.nameBytes = name.getBytes(StandardCharsets.UTF_8);
  }

  @Override
  public String name() {
    return name;
  }

  @Override
  public String key() {
    return "channel:" + name;
  }

  /** The name in UTF-8, computed once; callers must not modify it. */
  public byte[] nameBytes() {
    return nameBytes;
  }

  /** The same kind of destination under another name. */
  @Override
  public ChannelDestination withName(String name) {
    return new ChannelDestination(name);
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof ChannelDestination c && c.name.equals(name);
  }

  @Override
  public int hashCode() {
    return name.hashCode();
  }

  @Override
  public String toString() {
    return key();
  }
}
