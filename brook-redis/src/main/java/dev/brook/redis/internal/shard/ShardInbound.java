package dev.brook.redis.internal.shard;

import dev.brook.redis.internal.Envelope;
import dev.brook.spi.Frame;
import dev.brook.spi.Inbound;

/**
 * A sharded Pub/Sub message as received on the I/O thread; unwrapped later on the worker, unless
 * it is larger than {@code maxSize}.
 */
record ShardInbound(String channel, byte[] raw, int maxSize) implements Inbound {

  @Override
  public String serverId() {
    return null;
  }

  @Override
  public Frame frame() {
    return raw.length > maxSize ? Frame.EMPTY : Envelope.decode(raw);
  }

  @Override
  public java.util.Map<String, String> pathParams() {
    return java.util.Map.of();
  }

  @Override
  public String unreadable() {
    return Envelope.tooLarge(raw.length, maxSize);
  }
}
