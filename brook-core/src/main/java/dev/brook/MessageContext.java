package dev.brook;

import java.util.List;
import java.util.Map;

/**
 * What a handler knows about the message it is handling besides its payload: headers, ids, where
 * it came from, the raw bytes, and the parts of a pattern channel.
 *
 * <p>Valid during the handler call it is passed to; it is not meant to be kept. Not thread-safe
 * to mutate, and there is nothing to mutate: every method is a read.
 */
public interface MessageContext {

  /** All headers of the message in the order they were sent; never null, possibly empty. */
  Map<String, String> headers();

  /**
   * The headers of every message a batch handler receives, in the batch's order (the payloads'
   * order); for a single message a list of its {@link #headers()}. In a batch, {@link #headers()}
   * and the ids are the first message's; this is how a batch handler sees each message's own.
   */
  default List<Map<String, String>> batchHeaders() {
    return List.of(headers());
  }

  /** One header's value, or {@code null} when the message has no such header. */
  default String header(String name) {
    return headers().get(name);
  }

  /** The {@code correlation_id} header, or the message id when the sender set none. */
  String correlationId();

  /**
   * The message's id: the stream entry id for streams; for channels and lists the sender's
   * {@code message_id} or {@code correlation_id} header, else an id generated on receipt.
   */
  String messageId();

  /**
   * The {@code reply_to} header: the channel a requester waits on, or null when the sender expects
   * no reply. When it is set, the handler's non-null result is sent there.
   */
  default String replyTo() {
    return header("reply_to");
  }

  /** The destination the subscription reads, as declared (for a pattern, the pattern). */
  Destination destination();

  /** The concrete channel, list or stream name this message came from (for a pattern, the matched channel). */
  String channel();

  /** The payload bytes as received, after unwrapping the envelope; the array is shared, do not modify it. */
  byte[] body();

  /**
   * A named part of a pattern channel: for {@code pattern("logs.{level}")} and a message on
   * {@code logs.error}, {@code path("level")} is {@code "error"}. Null when the pattern has no such part.
   */
  String path(String name);

  /** Every named part of a pattern channel; empty for other destinations. */
  Map<String, String> pathParams();

  /**
   * Acknowledges the message now: it will not be delivered again. A no-op on at-most-once
   * destinations and when the message was already settled. Mostly for {@link AckPolicy#MANUAL}.
   */
  void ack();

  /** Asks for the message to be delivered again (requeue on a List, stay pending on a Stream). */
  void nack();

  /** Rejects the message: dead letter where one exists, else dropped. */
  void reject();

  /**
   * How many times this message has been delivered, counting this delivery: 1 on first delivery,
   * more after a nack, a crash or a reclaim. Always 1 on at-most-once destinations.
   */
  long deliveryCount();

  /**
   * Deletes the message from the server now, where the server keeps it after it is handled: a
   * stream entry ({@code XDEL}; FastStream's {@code msg.delete()}), for a batch every entry of it.
   * Settlement is not changed: the ack policy still acknowledges (or rejects) the message, and an
   * entry deleted and then nacked is not delivered again. Channel and List messages are gone once
   * received or acknowledged: for them it does nothing. {@code deleteOnAck()} on a stream destination
   * deletes every acknowledged entry instead.
   *
   * @throws BrookException when the server did not confirm the deletion in time
   */
  default void delete() {}
}
