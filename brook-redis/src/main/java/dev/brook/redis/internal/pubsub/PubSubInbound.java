package dev.brook.redis.internal.pubsub;

import dev.brook.spi.Frame;
import dev.brook.spi.Inbound;
import dev.brook.redis.PatternDestination;
import dev.brook.redis.internal.Envelope;
import java.util.Map;

/**
 * A Pub/Sub message as received on the reading thread; unwrapped later on the worker, unless its
 * {@code size} is larger than {@code maxSize}. Brook's own reader does not even read such a message:
 * {@code raw} is then {@link #SKIPPED} and only its size is known.
 */
record PubSubInbound(String channel, byte[] raw, PatternDestination pattern, int maxSize, long size) implements Inbound {

  /** The raw value of a message too large to be read. */
  static final byte[] SKIPPED = new byte[0];

  PubSubInbound(String channel, byte[] raw, PatternDestination pattern, int maxSize) {
    this(channel, raw, pattern, maxSize, raw.length);
  }

  @Override
  public String serverId() {
    return null;
  }

  @Override
  public Frame frame() {
    return size > maxSize ? Frame.EMPTY : Envelope.decode(raw);
  }

  @Override
  public String unreadable() {
    return Envelope.tooLarge(size, maxSize);
  }

  @Override
  public Map<String, String> pathParams() {
    return pattern == null ? Map.of() : pattern.match(channel);
  }
}
