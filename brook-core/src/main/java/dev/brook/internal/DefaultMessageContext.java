package dev.brook.internal;

import dev.brook.Destination;
import dev.brook.MessageContext;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * The context of one message, or of one batch (then its headers and ids are the first message's
 * and settlement covers every message of the batch). Built on the worker thread, read by the
 * handler; settled at most once.
 */
final class DefaultMessageContext implements MessageContext {

  private final Destination destination;
  private final Inbound inbound;
  private final Frame frame;
  private final List<Inbound> settles;
  private final AtomicBoolean settled = new AtomicBoolean();
  private String messageId;

  DefaultMessageContext(Destination destination, Inbound inbound, Frame frame, List<Inbound> settles) {
    this.destination = destination;
    this.inbound = inbound;
    this.frame = frame;
    this.settles = settles;
  }

  Frame frame() {
    return frame;
  }

  boolean isSettled() {
    return settled.get();
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
  public long deliveryCount() {
    return inbound.deliveryCount();
  }

  @Override
  public void ack() {
    if (!settles.isEmpty() && settled.compareAndSet(false, true)) {
      settles.get(0).ackAll(settles);
    }
  }

  @Override
  public void nack() {
    if (settled.compareAndSet(false, true)) {
      for (Inbound m : settles) {
        m.nack();
      }
    }
  }

  @Override
  public void reject() {
    reject("rejected by the handler", null);
  }

  void reject(String reason, Throwable error) {
    if (settled.compareAndSet(false, true)) {
      for (Inbound m : settles) {
        m.reject(reason, error);
      }
    }
  }

  /** Hands the messages back untouched (interrupted by a stop). */
  void release() {
    if (settled.compareAndSet(false, true)) {
      for (Inbound m : settles) {
        m.release();
      }
    }
  }

  @Override
  public String toString() {
    return "MessageContext[" + destination.key() + " id=" + messageId() + "]";
  }
}
