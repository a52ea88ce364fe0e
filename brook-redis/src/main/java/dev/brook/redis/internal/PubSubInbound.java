package dev.brook.redis.internal;

import dev.brook.internal.Frame;
import dev.brook.internal.Inbound;
import dev.brook.redis.PatternDestination;
import java.util.Map;

/** A Pub/Sub message as received on the I/O thread; unwrapped later on the worker. */
record PubSubInbound(String channel, byte[] raw, PatternDestination pattern) implements Inbound {

  @Override
  public String serverId() {
    return null;
  }

  @Override
  public Frame frame() {
    return Envelope.decode(raw);
  }

  @Override
  public Map<String, String> pathParams() {
    return pattern == null ? Map.of() : pattern.match(channel);
  }
}
