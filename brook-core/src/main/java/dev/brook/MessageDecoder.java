package dev.brook;

import java.lang.reflect.Type;

/**
 * Turns a parsed message into the payload the handler takes: FastStream's {@code decoder=}. Set
 * one on the broker's builder, a {@link Router} or one subscription ({@link
 * SubscriberBuilder#decoder}); the nearest one wins (subscription, then the innermost router, then
 * the broker). Without one, Brook's codec decodes: {@code byte[]} as it is, {@code String} as
 * UTF-8, anything else as JSON through the broker's Jackson mapper.
 *
 * <pre>{@code
 * MessageDecoder csv = (message, type, brooks) -> type == Point.class
 *     ? Point.parse(new String(message.body(), UTF_8))   // "3,4"
 *     : brooks.decode(message, type);                    // everything else as Brook does
 * }</pre>
 *
 * <p>A decoder that throws (or returns null) fails the message as an undecodable payload does:
 * the exception passes through the middlewares (as a {@link RejectMessage}, so {@link
 * ExceptionMiddleware} lets it through), one WARN line (rate-limited), a decode error in the
 * subscription's metrics and a reject (the dead letter, where there is one); the handler is not
 * called and the subscription goes on. For a batch subscription it decodes each item (the item
 * type) before the batch's chain, and an item it fails on is rejected alone.
 *
 * <p>Threads: runs on the subscription's workers, concurrently; keep it stateless or thread-safe.
 */
@FunctionalInterface
public interface MessageDecoder {

  /**
   * @param message the message: {@link MessageContext#body()}, its headers, ids and destination
   *     (do not settle it here)
   * @param type the type the handler declares (the item type of a batch)
   * @param defaultDecoder Brook's decoder, to delegate to
   * @return the payload, of {@code type}; not null
   * @throws Exception when the body cannot be decoded: the message is rejected
   */
  Object decode(MessageContext message, Type type, Default defaultDecoder) throws Exception;

  /** Brook's own decoder, as a {@link MessageDecoder} is given it. */
  @FunctionalInterface
  interface Default {
    /** Decodes the message's body into {@code type} by its {@code content-type}, as Brook does without a decoder. */
    Object decode(MessageContext message, Type type) throws Exception;
  }
}
