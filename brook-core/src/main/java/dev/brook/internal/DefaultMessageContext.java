package dev.brook.internal;

import dev.brook.Destination;
import dev.brook.MessageContext;
import java.util.Map;
import java.util.UUID;

/** The context of one message; built on the worker thread, read by the handler. */
final class DefaultMessageContext implements MessageContext {

  private final Destination destination;
  private final Inbound inbound;
  private final Frame frame;
  private String messageId;

  DefaultMessageContext(Destination destination, Inbound inbound, Frame frame) {
    this.destination = destination;
    this.inbound = inbound;
    this.frame = frame;
  }

  Frame frame() {
    return frame;
  }

  @Override
  public Map<String, String> headers() {
    return frame.headers();
  }

  @Override
  public String correlationId() {
    String id = frame.header(Codec.CORRELATION_ID);
    return id != null ? id : messageId();
  }

  @Override
  public String messageId() {
    if (messageId == null) {
      String id = inbound.serverId();
      if (id == null) id = frame.header(Codec.MESSAGE_ID);
      if (id == null) id = frame.header(Codec.CORRELATION_ID);
      if (id == null) id = UUID.randomUUID().toString();
      messageId = id;
    }
    return messageId;
  }

  @Override
  public Destination destination() {
    return destination;
  }

  @Override
  public String channel() {
    return inbound.channel();
  }

  @Override
  public byte[] body() {
    return frame.payload();
  }

  @Override
  public String path(String name) {
    return inbound.pathParams().get(name);
  }

  @Override
  public Map<String, String> pathParams() {
    return inbound.pathParams();
  }

  @Override
  public String toString() {
    return "MessageContext[" + destination.key() + " id=" + messageId() + "]";
  }
}
