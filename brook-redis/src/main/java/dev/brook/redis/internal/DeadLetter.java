package dev.brook.redis.internal;

import dev.brook.spi.Frame;
import java.util.LinkedHashMap;
import java.util.Map;

/** Builds the value a dead letter stores: the original envelope with the reason added as headers. */
public final class DeadLetter {

  public static final String ERROR = "x-error";
  public static final String ORIGINAL = "x-original";
  public static final String ORIGINAL_ID = "x-original-id";
  public static final String GROUP = "x-group";
  public static final String DELIVERIES = "x-delivery-count";

  private DeadLetter() {}

  /** The original headers and payload, plus the given ones (which win), as an envelope. */
  public static byte[] envelope(Frame original, Map<String, String> extra) {
    Map<String, String> headers = new LinkedHashMap<>(original.headers());
    for (Map.Entry<String, String> e : extra.entrySet()) {
      headers.put(e.getKey(), clip(e.getValue()));
    }
    return Envelope.encode(headers, original.payload());
  }

  /** Header values are at most 65,535 bytes; an error text is cut well before that. */
  public static String clip(String value) {
    if (value == null) {
      return "";
    }
    return value.length() > 2000 ? value.substring(0, 2000) + "…" : value;
  }
}
