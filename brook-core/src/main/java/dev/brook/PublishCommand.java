package dev.brook;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;

/**
 * One message on its way out, as publish-scope {@link Middleware} sees it: the payload (before
 * encoding), the destination and the caller's headers. An immutable value: the {@code with...}
 * methods return a changed copy to pass on with {@link Middleware.PublishChain#proceed}.
 *
 * <p>{@link #headers()} are the headers the caller gave (for a reply or a request, Brook's {@code
 * correlation_id} and {@code reply_to} are among them); Brook adds {@code correlation_id} when it
 * is missing and {@code content-type} when it encodes the payload, after the publish scope.
 *
 * @param payload the value to send: a record or bean (JSON), a {@code String} (text), {@code
 *     byte[]} (raw), or null (an empty message)
 * @param destination where it goes
 * @param headers the caller's headers in order; unmodifiable
 */
public record PublishCommand(Object payload, Destination destination, Map<String, String> headers) {

  public PublishCommand {
    Objects.requireNonNull(destination, "destination");
    Objects.requireNonNull(headers, "headers");
    headers = headers.isEmpty() ? Map.of() : Collections.unmodifiableMap(new LinkedHashMap<>(headers));
  }

  /** One header's value, or null. */
  public String header(String name) {
    return headers.get(name);
  }

  /** The same command with another payload. */
  public PublishCommand withPayload(Object payload) {
    return new PublishCommand(payload, destination, headers);
  }

  /** The same command with one header set (replaced in its place when present, else added last). */
  public PublishCommand withHeader(String name, String value) {
    Objects.requireNonNull(name, "header name");
    Objects.requireNonNull(value, "header value");
    Map<String, String> copy = new LinkedHashMap<>(headers);
    copy.put(name, value);
    return new PublishCommand(payload, destination, copy);
  }

  /** The same command with these headers instead of the current ones. */
  public PublishCommand withHeaders(Map<String, String> headers) {
    return new PublishCommand(payload, destination, headers);
  }
}
