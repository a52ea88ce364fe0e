package dev.brook.redis;

import dev.brook.Destination;

/**
 * The destinations a {@link RedisBroker} reads and writes: Pub/Sub channels and patterns, sharded
 * channels, Lists and Streams. Sealed: these five are every kind Redis has for Brook, and each has its consumer,
 * producer, in-memory model and AsyncAPI description in one internal package of its own. Create
 * them with the factories of {@link Redis}; all are immutable values.
 */
public sealed interface RedisDestination extends Destination
    permits ChannelDestination, ShardChannelDestination, PatternDestination, ListDestination, StreamDestination {
}
