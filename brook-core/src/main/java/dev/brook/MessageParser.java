package dev.brook;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.function.Function;

/**
 * Reads a received message's raw bytes into headers and body: FastStream's {@code parser=}. Set
 * one on the broker's builder, a {@link Router} or one subscription ({@link
 * SubscriberBuilder#parser}); the nearest one wins (subscription, then the innermost router, then
 * the broker). Without one, Brook's own parser unwraps its envelope (and FastStream's JSON form).
 *
 * <pre>{@code
 * // a foreign producer writes {"id": "...", "payload": {...}} with no envelope
 * MessageParser foreign = (raw, brooks) -> {
 *   JsonNode node = mapper.readTree(raw);
 *   if (!node.has("payload")) {
 *     return brooks.apply(raw);                                 // Brook's envelope after all
 *   }
 *   return new MessageParser.Parsed(Map.of("message_id", node.get("id").asText()),
 *       mapper.writeValueAsBytes(node.get("payload")));
 * };
 * }</pre>
 *
 * <p>{@code raw} is the value as Redis holds it: the channel message, the list item, a stream
 * entry's {@code __data__} field (for an entry without one, its fields as one JSON object). A
 * message larger than the broker's {@code maxMessageSize} is rejected before any parser runs.
 *
 * <p>A parser that throws fails the message as unreadable input, as an undecodable payload does:
 * the exception passes through the middlewares (as a {@link RejectMessage}, so {@link
 * ExceptionMiddleware} lets it through), one WARN line (rate-limited), a decode error in the
 * subscription's metrics and a reject (the dead letter, where there is one). The handler is not
 * called; the subscription goes on. Its headers are then the ones Brook's own parser read.
 *
 * <p>Threads: runs on the subscription's workers, concurrently; keep it stateless or thread-safe.
 * Batch subscriptions parse each message on its own before the batch's chain (one that fails is
 * rejected alone).
 */
@FunctionalInterface
public interface MessageParser {

  /**
   * @param raw the received value; do not change it
   * @param defaultParser Brook's parser (never throws), to delegate to
   * @return the message's headers and body
   * @throws Exception when {@code raw} cannot be read: the message is rejected
   */
  Parsed parse(byte[] raw, Function<byte[], Parsed> defaultParser) throws Exception;

  /**
   * A parsed message: its headers (in order, copied) and its body, which the decoder turns into
   * the handler's type. The body is not copied.
   */
  record Parsed(Map<String, String> headers, byte[] body) {
    public Parsed {
      Objects.requireNonNull(headers, "headers");
      Objects.requireNonNull(body, "body");
      headers = headers.isEmpty() ? Map.of() : Collections.unmodifiableMap(new LinkedHashMap<>(headers));
    }
  }
}
