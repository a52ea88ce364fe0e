package dev.brook.internal;

import dev.brook.Destination;
import dev.brook.Message;
import dev.brook.spi.Frame;
import java.util.Map;

/**
 * A reply as a whole, for {@code requestMessage}: the decoded payload with the reply's headers and
 * ids. It came on the broker's reply channel, at most once, so there is nothing to settle: {@code
 * ack}, {@code nack} and {@code reject} do nothing. Immutable; safe to keep and to read from any thread.
 */
final class ReplyMessage implements Message<Object> {

  private final Destination channel;
  private final Frame frame;
  private final Object payload;

  ReplyMessage(Destination channel, Frame frame, Object payload) {
    this.channel = channel;
    this.frame = frame;
    this.payload = payload;
  }

  @Override
  public Object payload() {
    return payload;
  }

  @Override
  public Map<String, String> headers() {
    return frame.headers();
  }

  @Override
  public String header(String name) {
    return frame.header(name);
  }

  @Override
  public String correlationId() {
    String id = frame.header(Codec.CORRELATION_ID);
    return id != null ? id : messageId();
  }

  @Override
  public String messageId() {
    String id = frame.header(Codec.MESSAGE_ID);
    return id != null ? id : frame.header(Codec.CORRELATION_ID);
  }

  /** The broker's reply channel. */
  @Override
  public Destination destination() {
    return channel;
  }

  @Override
  public String channel() {
    return channel == null ? null : channel.name();
  }

  @Override
  public byte[] body() {
    return frame.payload();
  }

  @Override
  public String path(String name) {
    return null;
  }

  @Override
  public Map<String, String> pathParams() {
    return Map.of();
  }

  @Override
  public void ack() {}

  @Override
  public void nack() {}

  @Override
  public void reject() {}

  @Override
  public long deliveryCount() {
    return 1;
  }

  @Override
  public String toString() {
    return "Message[" + channel() + " correlation_id=" + correlationId() + ", payload=" + payload + "]";
  }
}
