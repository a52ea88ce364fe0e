package dev.brook.redis.internal.stream;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import dev.brook.spi.Frame;
import dev.brook.spi.Inbound;
import dev.brook.redis.internal.Envelope;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;

/**
 * A Stream entry. With a group it stays pending until settled: ack is XACK (and XDEL when asked);
 * nack leaves it pending for a retry after a back-off (or dead-letters it at attempt {@code
 * maxDeliveries}); release gives it back with the attempt undone; reject writes it to the
 * dead-letter stream. {@link #deliveryCount()} is the handler attempt this delivery is (Redis'
 * delivery counter, which {@link StreamConsumer} keeps equal to the attempts).
 */
final class StreamInbound implements Inbound {

  static final byte[] DATA_FIELD = "__data__".getBytes(StandardCharsets.UTF_8);
  private static final byte[] PLAIN_DATA_FIELD = "data".getBytes(StandardCharsets.UTF_8);
  private static final byte[] HEADERS_FIELD = "headers".getBytes(StandardCharsets.UTF_8);
  private static final JsonFactory JSON = new JsonFactory();

  private final StreamConsumer owner;
  private final String id;
  private final Map<byte[], byte[]> body;
  private final long deliveryCount;
  private Frame frame;

  StreamInbound(StreamConsumer owner, String id, Map<byte[], byte[]> body, long deliveryCount) {
    this.owner = owner;
    this.id = id;
    this.body = body;
    this.deliveryCount = deliveryCount;
  }

  String id() {
    return id;
  }

  @Override
  public String channel() {
    return owner.streamName();
  }

  @Override
  public String serverId() {
    return id;
  }

  @Override
  public Frame frame() {
    if (frame == null) {
      frame = unreadable() != null ? Frame.EMPTY : decode(body);
    }
    return frame;
  }

  /** The envelope in {@code __data__}; for an entry without one, its fields as one JSON object (what {@link #decode} makes of them). */
  @Override
  public byte[] raw() {
    if (body != null) {
      for (Map.Entry<byte[], byte[]> e : body.entrySet()) {
        if (java.util.Arrays.equals(e.getKey(), DATA_FIELD)) {
          return e.getValue();
        }
      }
    }
    return frame().payload();
  }

  @Override
  public String unreadable() {
    return Envelope.tooLarge(size(body), owner.maxMessageSize());
  }

  /** Bytes of every field name and value. */
  private static long size(Map<byte[], byte[]> body) {
    long n = 0;
    if (body != null) {
      for (Map.Entry<byte[], byte[]> e : body.entrySet()) {
        n += e.getKey().length + (e.getValue() == null ? 0 : e.getValue().length);
      }
    }
    return n;
  }

  /** What a dead letter keeps: the unwrapped entry, or the raw {@code __data__} of one too large to unwrap. */
  Frame deadLetterFrame() {
    if (unreadable() == null) {
      return frame();
    }
    for (Map.Entry<byte[], byte[]> e : body.entrySet()) {
      if (java.util.Arrays.equals(e.getKey(), DATA_FIELD)) {
        return new Frame(Map.of(), e.getValue());
      }
    }
    return Frame.EMPTY;
  }

  /**
   * The envelope in {@code __data__}; else, as FastStream reads an entry (it turns the fields into a
   * JSON object and unwraps a string {@code data} in it), the field {@code data} as the payload with
   * no headers when there is no field {@code headers}; else the entry's fields as one JSON object.
   */
  static Frame decode(Map<byte[], byte[]> body) {
    if (body == null || body.isEmpty()) {
      return Frame.EMPTY;
    }
    byte[] data = null;
    boolean hasHeaders = false;
    for (Map.Entry<byte[], byte[]> e : body.entrySet()) {
      byte[] key = e.getKey();
      if (java.util.Arrays.equals(key, DATA_FIELD)) {
        return Envelope.decode(e.getValue());
      } else if (java.util.Arrays.equals(key, PLAIN_DATA_FIELD)) {
        data = e.getValue();
      } else if (java.util.Arrays.equals(key, HEADERS_FIELD)) {
        hasHeaders = true;
      }
    }
    if (data != null && !hasHeaders) {
      return new Frame(Map.of(), data);
    }
    ByteArrayOutputStream out = new ByteArrayOutputStream(64);
    try (JsonGenerator g = JSON.createGenerator(out)) {
      g.writeStartObject();
      for (Map.Entry<byte[], byte[]> e : body.entrySet()) {
        g.writeStringField(new String(e.getKey(), StandardCharsets.UTF_8), new String(e.getValue(), StandardCharsets.UTF_8));
      }
      g.writeEndObject();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return new Frame(Map.of("content-type", "application/json"), out.toByteArray());
  }

  @Override
  public Map<String, String> pathParams() {
    return Map.of();
  }

  @Override
  public boolean atLeastOnce() {
    return owner.settles();
  }

  @Override
  public long deliveryCount() {
    return deliveryCount;
  }

  @Override
  public void ack() {
    owner.ack(List.of(this));
  }

  @Override
  public void ackAll(List<? extends Inbound> batch) {
    @SuppressWarnings("unchecked")
    List<StreamInbound> entries = (List<StreamInbound>) batch;
    owner.ack(entries);
  }

  @Override
  public void delete() {
    owner.delete(this);
  }

  @Override
  public void nack(String reason) {
    owner.nacked(this, reason, null);
  }

  @Override
  public void nack(String reason, java.time.Duration delay) {
    owner.nacked(this, reason, delay);
  }

  @Override
  public void reject(String reason, Throwable error) {
    owner.deadLetter(this, reason);
  }

  @Override
  public void release() {
    owner.released(List.of(this));
  }

  @Override
  public void releaseAll(List<? extends Inbound> messages) {
    @SuppressWarnings("unchecked")
    List<StreamInbound> entries = (List<StreamInbound>) messages;
    owner.released(entries);
  }
}
