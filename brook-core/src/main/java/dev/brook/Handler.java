package dev.brook;

/**
 * The user's code for one message: receives the decoded payload and the message's context and
 * returns what to publish (to the subscription's {@code publishTo} destinations), or {@code null}
 * for nothing.
 *
 * <p>Runs on a virtual thread, never on a Redis I/O thread, so blocking calls are fine. With the
 * default concurrency of 1 a subscription calls its handler for one message at a time, in the order
 * received. An exception thrown here is logged with the destination and message id and counted;
 * it never stops the subscription.
 *
 * @param <T> the payload type; it drives decoding (JSON for records, POJOs, collections, numbers
 *     and booleans; text for {@code String}; the raw bytes for {@code byte[]})
 */
@FunctionalInterface
public interface Handler<T> {

  Object handle(T payload, MessageContext context) throws Exception;
}
