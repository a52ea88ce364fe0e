package dev.brook.internal;

import dev.brook.spi.Frame;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JavaType;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.ObjectReader;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.datatype.jdk8.Jdk8Module;
import com.fasterxml.jackson.datatype.jsr310.JavaTimeModule;
import dev.brook.BrookException;
import java.io.IOException;
import java.lang.reflect.Type;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Turns payload objects into frames and frames back into the handler's declared type.
 *
 * <ul>
 *   <li>{@code byte[]} travels raw, with no content-type;
 *   <li>{@code String} travels as UTF-8 text, {@code text/plain};
 *   <li>everything else (records, POJOs, collections, numbers, booleans) as JSON through Jackson,
 *       {@code application/json}.
 * </ul>
 *
 * One codec per broker: its Jackson mapper caches the user's classes, so it must not be static
 * (a reloaded class would otherwise stay reachable). Thread-safe.
 */
public final class Codec {

  public static final String CORRELATION_ID = "correlation_id";
  public static final String CONTENT_TYPE = "content-type";
  public static final String REPLY_TO = "reply_to";
  public static final String MESSAGE_ID = "message_id";
  /**
   * A request header set by Brook's requesters: the requester reads error replies, so a Brook
   * subscriber whose handler fails answers with an empty reply carrying {@link #ERROR_TYPE} and
   * {@link #ERROR_MESSAGE}. FastStream sends no such header and gets no such reply.
   */
  public static final String ERROR_REPLY = "x-brook-error-reply";
  /** In an error reply: the class of the handler's exception, or {@code dev.brook.RejectMessage}. */
  public static final String ERROR_TYPE = "x-brook-error-type";
  /** In an error reply: the exception's message, or the reason of the rejection. */
  public static final String ERROR_MESSAGE = "x-brook-error-message";
  public static final String JSON = "application/json";
  public static final String TEXT = "text/plain";

  private final ObjectMapper mapper;
  /** Makes the {@code message_id} of each message encoded; null: none is sent. */
  private final java.util.function.Supplier<String> messageIds;

  public Codec(ObjectMapper mapper) {
    this(mapper, null);
  }

  /** @param messageIds the {@code message_id} of every message encoded, or null for none */
  public Codec(ObjectMapper mapper, java.util.function.Supplier<String> messageIds) {
    this.mapper = mapper;
    this.messageIds = messageIds;
  }

  /**
   * Brook's default mapper: unknown JSON properties are ignored (as FastStream does), null for a
   * primitive fails. {@code java.time} types ({@code Instant}, {@code OffsetDateTime}, {@code
   * LocalDate}, {@code Duration}...) and {@code Optional} work without setup: dates travel as ISO-8601
   * text (what Pydantic writes and reads), and an offset is kept as written rather than moved to UTC,
   * so an {@code OffsetDateTime} comes back equal. Other Jackson modules on the class path are found
   * and added too.
   */
  public static ObjectMapper defaultMapper() {
    return JsonMapper.builder()
        .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
        .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES)
        .findAndAddModules()
        // explicit as well, so a shaded or module-path setup without service files still has them
        .addModule(new JavaTimeModule())
        .addModule(new Jdk8Module())
        .disable(SerializationFeature.WRITE_DATES_AS_TIMESTAMPS)
        .disable(SerializationFeature.WRITE_DURATIONS_AS_TIMESTAMPS)
        .disable(DeserializationFeature.ADJUST_DATES_TO_CONTEXT_TIME_ZONE)
        .build();
  }

  public ObjectMapper mapper() {
    return mapper;
  }

  /**
   * Builds the frame for a payload. Header order: {@code correlation_id}, {@code content-type},
   * {@code message_id} (only with a message-id generator, and unless the caller set one), then the
   * caller's headers (a caller's {@code correlation_id} or {@code content-type} replaces Brook's in
   * its place).
   */
  public Frame encode(Object payload, Map<String, String> headers) {
    byte[] body;
    String contentType;
    if (payload == null) {
      body = new byte[0];
      contentType = null;
    } else if (payload instanceof byte[] bytes) {
      body = bytes;
      contentType = null;
    } else if (payload instanceof String text) {
      body = text.getBytes(StandardCharsets.UTF_8);
      contentType = TEXT;
    } else {
      try {
        body = mapper.writeValueAsBytes(payload);
      } catch (IOException e) {
        throw new BrookException("Cannot encode " + payload.getClass().getName()
            + " as JSON: " + e.getMessage() + ". Make it a record or a bean Jackson can write, or publish a String or byte[].", e);
      }
      contentType = JSON;
    }
    Map<String, String> all = new LinkedHashMap<>(4 + headers.size());
    String correlationId = headers.get(CORRELATION_ID);
    all.put(CORRELATION_ID, correlationId != null ? correlationId : Ids.uuid());
    String userType = headers.get(CONTENT_TYPE);
    if (userType != null) {
      all.put(CONTENT_TYPE, userType);
    } else if (contentType != null) {
      all.put(CONTENT_TYPE, contentType);
    }
    if (messageIds != null && !headers.containsKey(MESSAGE_ID)) {
      String id = messageIds.get();
      if (id == null || id.isEmpty()) {
        throw new BrookException("The broker's messageIds supplier returned " + (id == null ? "null" : "an empty id")
            + "; it must return a non-empty id for every message.");
      }
      all.put(MESSAGE_ID, id);
    }
    for (Map.Entry<String, String> e : headers.entrySet()) {
      all.putIfAbsent(e.getKey(), e.getValue());
    }
    return Frame.owning(all, body);
  }

  /** A decoder for one declared payload type, resolved once per subscription rather than per message. */
  public Decoder decoderFor(Type type) {
    if (type == byte[].class) {
      return frame -> frame.payload();
    }
    if (type == String.class) {
      ObjectReader reader = mapper.readerFor(String.class);
      return frame -> {
        byte[] p = frame.payload();
        if (JSON.equals(frame.header(CONTENT_TYPE)) && p.length > 0 && p[0] == '"') {
          return reader.readValue(p);
        }
        return new String(p, StandardCharsets.UTF_8);
      };
    }
    if (type == Object.class) {
      ObjectReader reader = mapper.readerFor(Object.class);
      return frame -> {
        String ct = frame.header(CONTENT_TYPE);
        if (JSON.equals(ct)) {
          return reader.readValue(frame.payload());
        }
        if (TEXT.equals(ct)) {
          return new String(frame.payload(), StandardCharsets.UTF_8);
        }
        return frame.payload();
      };
    }
    JavaType javaType;
    try {
      javaType = mapper.constructType(type);
    } catch (IllegalArgumentException e) {
      throw new BrookException("Cannot decode messages into " + type.getTypeName() + ": " + e.getMessage(), e);
    }
    ObjectReader reader = mapper.readerFor(javaType);
    return frame -> {
      byte[] p = frame.payload();
      if (p.length == 0) {
        throw new IOException("empty payload, expected JSON for " + javaType.toCanonical());
      }
      Object value = reader.readValue(p);
      if (value == null) {
        throw new IOException("JSON null, expected a value of " + javaType.toCanonical());
      }
      return value;
    };
  }

  /** Decodes one frame's payload into a declared type. */
  @FunctionalInterface
  public interface Decoder {
    Object decode(Frame frame) throws IOException;
  }
}
