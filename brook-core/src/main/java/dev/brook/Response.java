package dev.brook;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;

/**
 * A handler's result with the headers and correlation id it is sent with (FastStream's {@code
 * Response}). Return it from a handler (or an annotated {@code @Subscribe} method) instead of the
 * bare value when the message published to the subscription's {@code publishTo} destinations and to
 * the requester's {@code reply_to} needs headers of its own or another correlation id:
 *
 * <pre>{@code
 * broker.subscriber(channel("quotes")).handle(Order.class, (order, ctx) ->
 *     Response.of(new Quote(order.id(), 42)).header("x-priced-by", "engine-2"));
 * }</pre>
 *
 * <p>The correlation id is by default the incoming message's, so a requester matches the reply;
 * set another with {@link #correlationId(String)} only when the receiver expects it (a requester
 * waiting for this reply then never sees it). A null payload is sent as today's empty reply: it goes
 * to {@code reply_to} (with the headers) but not to {@code publishTo}. For a subscription with
 * {@code publishBatchTo} the payload is the collection whose items are published.
 *
 * <p>Immutable and thread-safe: every method that changes something returns a new response.
 */
public final class Response {

  private final Object payload;
  private final Map<String, String> headers;
  private final String correlationId;

  private Response(Object payload, Map<String, String> headers, String correlationId) {
    this.payload = payload;
    this.headers = headers;
    this.correlationId = correlationId;
  }

  /** A response with this payload (null: an empty reply), no headers and the incoming correlation id. */
  public static Response of(Object payload) {
    return new Response(payload, Map.of(), null);
  }

  /** This response with one more header (replacing one of the same name); it is sent after Brook's own headers. */
  public Response header(String name, String value) {
    Objects.requireNonNull(name, "header name");
    Objects.requireNonNull(value, "header value");
    Map<String, String> all = new LinkedHashMap<>(headers);
    all.put(name, value);
    return new Response(payload, Collections.unmodifiableMap(all), correlationId);
  }

  /** This response with these headers added (replacing those of the same names), in their order. */
  public Response headers(Map<String, String> more) {
    Objects.requireNonNull(more, "headers");
    Map<String, String> all = new LinkedHashMap<>(headers);
    more.forEach((k, v) -> all.put(Objects.requireNonNull(k, "header name"), Objects.requireNonNull(v, "header value")));
    return new Response(payload, Collections.unmodifiableMap(all), correlationId);
  }

  /** This response sent with this {@code correlation_id} instead of the incoming message's. */
  public Response correlationId(String id) {
    Objects.requireNonNull(id, "correlationId");
    if (id.isEmpty()) {
      throw new IllegalArgumentException("A correlation id must not be empty; leave it out to answer with the incoming one.");
    }
    return new Response(payload, headers, id);
  }

  /** The payload, or null for an empty reply. */
  public Object payload() {
    return payload;
  }

  /** The headers set on this response, in order; unmodifiable. */
  public Map<String, String> headers() {
    return headers;
  }

  /** The correlation id chosen, or null for the incoming message's. */
  public String correlationId() {
    return correlationId;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof Response r && Objects.equals(payload, r.payload) && headers.equals(r.headers)
        && Objects.equals(correlationId, r.correlationId);
  }

  @Override
  public int hashCode() {
    return Objects.hash(payload, headers, correlationId);
  }

  @Override
  public String toString() {
    return "Response[" + payload + (headers.isEmpty() ? "" : ", headers=" + headers)
        + (correlationId == null ? "" : ", correlationId=" + correlationId) + "]";
  }
}
