package dev.brook.redis;

import java.nio.charset.StandardCharsets;
import java.util.Objects;

/**
 * A Redis 7 sharded Pub/Sub channel: published with SPUBLISH, read with SSUBSCRIBE. Delivery is
 * at-most-once and fan-out, as on a {@link ChannelDestination}: every live subscriber gets each
 * message published while it is subscribed, and nothing is kept for subscribers that are not.
 *
 * <p>The difference is where the message travels. In a Redis Cluster a plain PUBLISH is broadcast
 * to every node; a sharded channel belongs to the hash slot of its name, like a key, and its
 * messages stay on the master owning that slot (and its replicas), so Pub/Sub traffic scales with
 * the number of masters. Brook subscribes on the owning node and subscribes again there after a
 * reconnect, a failover or a slot moving to another node (a message published meanwhile is lost, as
 * with any Pub/Sub gap). On a single Redis 7 server it works as a channel does, in a namespace of
 * its own: {@code shardChannel("x")} and {@code channel("x")} do not see each other's messages.
 * Redis 6 and older answer SSUBSCRIBE with an error.
 *
 * <p>Immutable; create with {@link Redis#shardChannel(String)}. Its key, the default subscription
 * id, is {@code shard-channel:<name>}.
 */
public final class ShardChannelDestination implements RedisDestination {

  private final String name;
  private final byte[] nameBytes;

  ShardChannelDestination(String name) {
    Objects.requireNonNull(name, "shard channel name");
    if (name.isEmpty()) {
      throw new IllegalArgumentException("A shard channel name must not be empty.");
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
    return "shard-channel:" + name;
  }

  /** The name in UTF-8, computed once; callers must not modify it. */
  public byte[] nameBytes() {
    return nameBytes;
  }

  /** The same kind of destination under another name. */
  @Override
  public ShardChannelDestination withName(String name) {
    return new ShardChannelDestination(name);
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof ShardChannelDestination c && c.name.equals(name);
  }

  @Override
  public int hashCode() {
    return name.hashCode() * 31 + 7;
  }

  @Override
  public String toString() {
    return key();
  }
}
