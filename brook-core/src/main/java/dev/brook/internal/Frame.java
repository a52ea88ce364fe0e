package dev.brook.internal;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;

/**
 * A message as the transport carries it: ordered text headers and payload bytes. Codecs turn a
 * payload into a typed value; transports turn a frame into wire bytes (the Redis envelope).
 *
 * <p>Immutable by contract: the header map is unmodifiable and the payload array must not be
 * changed after construction (it is not copied, to keep the hot path free of copies).
 */
public record Frame(Map<String, String> headers, byte[] payload) {

  public static final Frame EMPTY = new Frame(Map.of(), new byte[0]);

  public Frame {
    Objects.requireNonNull(headers, "headers");
    Objects.requireNonNull(payload, "payload");
    headers = headers.isEmpty() ? Map.of() : Collections.unmodifiableMap(new LinkedHashMap<>(headers));
  }

  public String header(String name) {
    return headers.get(name);
  }
}
