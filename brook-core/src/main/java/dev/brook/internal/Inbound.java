package dev.brook.internal;

import java.util.Map;

/**
 * One received message before decoding. Transports create it on their I/O thread with as little
 * work as possible; {@link #frame()} does the unwrapping and runs on the subscription's worker.
 */
public interface Inbound {

  /** The concrete channel, list or stream the message came from. */
  String channel();

  /** The server-side id (a stream entry id), or null when the transport has none. */
  String serverId();

  /** Unwraps the wire value into headers and payload; never throws. */
  Frame frame();

  /** Named parts of a pattern channel; empty for other destinations. */
  Map<String, String> pathParams();
}
