package dev.brook.spi;

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

  /** What {@link #owning} wraps a map in; such a map is taken as it is, not copied again. */
  private static final Class<?> OWNED = Collections.unmodifiableMap(new LinkedHashMap<>()).getClass();

  public Frame {
    Objects.requireNonNull(headers, "headers");
    Objects.requireNonNull(payload, "payload");
    headers = headers.isEmpty() ? Map.of()
        : headers.getClass() == OWNED ? headers : Collections.unmodifiableMap(new LinkedHashMap<>(headers));
  }

  /**
   * A frame over a header map that the caller made for it and never touches again: wrapped, not
   * copied. The envelope decoder and the codec build a fresh map per message; copying it again
   * was one more map and its entries per message on each side (benchmarks/JMH.md).
   */
  public static Frame owning(Map<String, String> headers, byte[] payload) {
    return new Frame(headers.isEmpty() ? Map.of() : Collections.unmodifiableMap(headers), payload);
  }

  public String header(String name) {
    return headers.get(name);
  }
}
