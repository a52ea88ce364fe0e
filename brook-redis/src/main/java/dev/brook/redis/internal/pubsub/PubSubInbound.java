package dev.brook.redis.internal.pubsub;

import dev.brook.spi.Frame;
import dev.brook.spi.Inbound;
import dev.brook.redis.PatternDestination;
import dev.brook.redis.internal.Envelope;
import java.util.Map;

/**
 * A Pub/Sub message as received on the I/O thread; unwrapped later on the worker, unless it is
 * larger than {@code maxSize}.
 */
record PubSubInbound(String channel, byte[] raw, PatternDestination pattern, int maxSize) implements Inbound {

  @Override
  public String serverId() {
    return null;
  }

  @Override
  public Frame frame() {
    return raw.length > maxSize ? Frame.EMPTY : Envelope.decode(raw);
  }

  @Override
  public String unreadable() {
    return Envelope.tooLarge(raw.length, maxSize);
  }

  @Override
  public Map<String, String> pathParams() {
    return pattern == null ? Map.of() : pattern.match(channel);
  }
}
