package dev.brook.redis.internal;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import dev.brook.spi.Frame;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.ConcurrentModificationException;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;

/**
 * The Redis envelope: how a {@link Frame} (ordered text headers + payload bytes) is stored in one
 * Redis value, wire-compatible with FastStream's binary Redis format (see DESIGN.md, "The
 * envelope"). All multi-byte numbers are big-endian:
 *
 * <pre>
 * 0..7    magic 89 42 49 4E 0D 0A 1A 0A
 * 8..9    u16 format version = 1
 * 10..13  u32 offset of the header block = 18
 * 14..17  u32 offset of the payload = 20 + size of the header entries
 * 18..19  u16 header count, then per header: u16 key length, key bytes, u16 value length, value bytes
 * payload to the end
 * </pre>
 *
 * <p>Lengths count UTF-8 <em>bytes</em>, never characters. FastStream 0.7's encoder writes the
 * number of code points instead (for ASCII the two agree); the reader accepts that too, see {@link
 * #decode}.
 *
 * <p>Guarantees:
 *
 * <ul>
 *   <li>{@link #encode} produces exactly the bytes above, headers in the map's iteration order,
 *       in one exactly-sized array; it rejects what the format cannot represent instead of
 *       truncating it.
 *   <li>{@link #decode} never throws on any (non-null) input and never allocates more than the
 *       input's length justifies: every declared count, length and offset is checked against the
 *       buffer before it is used. It reads, in this order: a valid binary envelope; the same
 *       with lengths counted in code points, as FastStream writes them; a JSON object with a
 *       string field {@code data} (and optionally an object {@code headers}), unwrapped as
 *       FastStream unwraps it; otherwise the whole value as the payload with no headers.
 *   <li>{@code decode(encode(h, p))} returns headers equal to {@code h} in the same order and a
 *       payload equal to {@code p}, for any {@code h} whose strings are well-formed UTF-16.
 * </ul>
 *
 * <p>Stateless and thread-safe.
 */
public final class Envelope {

  /** The largest key length, value length and header count the format can declare. */
  public static final int MAX_U16 = 0xFFFF;

  private static final byte[] MAGIC = {
    (byte) 0x89, 0x42, 0x49, 0x4E, 0x0D, 0x0A, 0x1A, 0x0A
  };
  private static final int VERSION = 1;
  private static final int HEADER_BLOCK_OFFSET = 18;
  private static final int ENTRIES_OFFSET = 20;
  /** Largest array size every JVM can allocate. */
  private static final int MAX_ARRAY = Integer.MAX_VALUE - 8;
  /** How much of an over-long header name an error message quotes. */
  private static final int MAX_QUOTED = 64;

  /**
   * Used only to parse JSON envelopes; holds no user classes. Strings may be as long as the input
   * (the default 20M-character cap would turn a big JSON envelope into a raw payload).
   */
  private static final ObjectMapper JSON =
      JsonMapper.builder(
              JsonFactory.builder()
                  .streamReadConstraints(
                      StreamReadConstraints.builder().maxStringLength(Integer.MAX_VALUE).build())
                  .build())
          .build();

  private Envelope() {}

  /**
   * Encodes headers and payload as a binary envelope.
   *
   * @param headers written in iteration order; keys and values must not be null
   * @param payload written as is, after the headers
   * @return a new array holding exactly the envelope bytes
   * @throws IllegalArgumentException if there are more than 65535 headers, or a header key or
   *     value is longer than 65535 UTF-8 bytes (the message names the header and the limit), or the
   *     envelope would not fit in a Java array
   * @throws NullPointerException if an argument, a header key or a header value is null
   */
  public static byte[] encode(Map<String, String> headers, byte[] payload) {
    Objects.requireNonNull(headers, "headers");
    Objects.requireNonNull(payload, "payload");
    int count = headers.size();
    if (count > MAX_U16) {
      throw new IllegalArgumentException(
          count + " headers exceed the envelope limit of " + MAX_U16 + " headers");
    }
    // Pass 1: the exact size, and every limit checked before anything is allocated.
    long size = ENTRIES_OFFSET;
    // Bit 2i / 2i+1: the i-th key / value is pure ASCII, so pass 2 copies it without a char loop
    // (the first 32 headers: a message has a handful; the rest take the general path).
    long ascii = 0;
    int index = 0;
    for (Map.Entry<String, String> e : headers.entrySet()) {
      String key = e.getKey();
      String value = e.getValue();
      if (key == null) {
        throw new NullPointerException("header key is null");
      }
      if (value == null) {
        throw new NullPointerException("header " + quote(key) + " has a null value");
      }
      long keyLength = utf8Length(key);
      if ((keyLength & ASCII) != 0) {
        keyLength &= ~ASCII;
        ascii |= index < 64 ? 1L << index : 0;
      }
      index++;
      if (keyLength > MAX_U16) {
        throw new IllegalArgumentException(
            "header key "
                + quote(key)
                + " is "
                + keyLength
                + " UTF-8 bytes, over the envelope limit of "
                + MAX_U16
                + " bytes");
      }
      long valueLength = utf8Length(value);
      if ((valueLength & ASCII) != 0) {
        valueLength &= ~ASCII;
        ascii |= index < 64 ? 1L << index : 0;
      }
      index++;
      if (valueLength > MAX_U16) {
        throw new IllegalArgumentException(
            "header "
                + quote(key)
                + " has a value of "
                + valueLength
                + " UTF-8 bytes, over the envelope limit of "
                + MAX_U16
                + " bytes");
      }
      size += 4 + keyLength + valueLength;
    }
    long payloadOffset = size;
    size += payload.length;
    if (size > MAX_ARRAY) {
      throw new IllegalArgumentException(
          "an envelope of " + size + " bytes exceeds the largest Java array (" + MAX_ARRAY + ")");
    }

    // Pass 2: write into one exactly-sized array.
    byte[] out = new byte[(int) size];
    System.arraycopy(MAGIC, 0, out, 0, MAGIC.length);
    putU16(out, 8, VERSION);
    putU32(out, 10, HEADER_BLOCK_OFFSET);
    putU32(out, 14, payloadOffset);
    putU16(out, 18, count);
    int pos = ENTRIES_OFFSET;
    int written = 0;
    index = 0;
    for (Map.Entry<String, String> e : headers.entrySet()) {
      if (++written > count) {
        throw new ConcurrentModificationException("headers changed while encoding");
      }
      pos = (ascii & (1L << index)) != 0 && index < 64 ? putAscii(out, pos, e.getKey()) : putString(out, pos, e.getKey());
      index++;
      pos = (ascii & (1L << index)) != 0 && index < 64 ? putAscii(out, pos, e.getValue()) : putString(out, pos, e.getValue());
      index++;
    }
    if (written != count || pos != payloadOffset) {
      throw new ConcurrentModificationException("headers changed while encoding");
    }
    System.arraycopy(payload, 0, out, pos, payload.length);
    return out;
  }

  /**
   * Reads a Redis value: a binary envelope if it is a valid one (lengths in bytes, or else, as
   * FastStream 0.7 writes them, in code points); else a JSON object with a string field {@code
   * data}, whose UTF-8 is the payload, and the object {@code headers} if there is one (header values
   * that are not JSON strings become their JSON text; other fields are ignored, as FastStream does);
   * else the raw value as the payload with no headers.
   *
   * <p>A value that starts with the magic bytes but is not a valid envelope (wrong version, header
   * block not at offset 18, payload offset not exactly at the end of the header entries under
   * either reading of the lengths, a length running past the buffer, malformed UTF-8 in a header)
   * is returned raw.
   *
   * <p>Never throws for a non-null argument. When the value is returned raw, the frame's payload is
   * {@code raw} itself (not a copy), so the caller must not modify {@code raw} afterwards.
   *
   * @throws NullPointerException if {@code raw} is null
   */
  public static Frame decode(byte[] raw) {
    Objects.requireNonNull(raw, "raw");
    Frame frame = null;
    if (isEnvelope(raw)) {
      frame = decodeBinary(raw);
      if (frame == null) {
        frame = decodeCodePointLengths(raw);
      }
    } else if (looksLikeJsonObject(raw)) {
      frame = decodeJson(raw);
    }
    return frame != null ? frame : new Frame(Map.of(), raw);
  }

  /**
   * Why a received value of {@code size} bytes is not read at all, or null when it is within {@code
   * maxSize}: the size check that runs before any unwrapping or decoding.
   */
  public static String tooLarge(long size, int maxSize) {
    if (size <= maxSize) {
      return null;
    }
    return "it is " + size + " bytes, over the maxMessageSize of " + maxSize + " bytes, so it was not decoded "
        + "(RedisBroker.builder().maxMessageSize(...) raises the limit)";
  }

  /**
   * Whether {@code raw} starts with the envelope's magic bytes. This says nothing about whether
   * the rest is valid; {@link #decode} checks that.
   *
   * @throws NullPointerException if {@code raw} is null
   */
  public static boolean isEnvelope(byte[] raw) {
    return raw.length >= MAGIC.length
        && Arrays.equals(raw, 0, MAGIC.length, MAGIC, 0, MAGIC.length);
  }

  // ---------------------------------------------------------------------------------------------
  // Binary envelope

  /** The frame in a binary envelope, or null if the envelope is not valid. */
  private static Frame decodeBinary(byte[] raw) {
    int n = raw.length;
    if (n < ENTRIES_OFFSET
        || u16(raw, 8) != VERSION
        || u32(raw, 10) != HEADER_BLOCK_OFFSET) {
      return null;
    }
    long declaredPayloadOffset = u32(raw, 14);
    if (declaredPayloadOffset < ENTRIES_OFFSET || declaredPayloadOffset > n) {
      return null;
    }
    int end = (int) declaredPayloadOffset;
    int count = u16(raw, 18);
    // Every entry takes at least 4 bytes (two u16 lengths): a count the entries cannot hold is a
    // lie, and is rejected before anything is sized by it.
    if ((long) count * 4 > end - ENTRIES_OFFSET) {
      return null;
    }
    Map<String, String> headers = count == 0 ? Map.of() : LinkedHashMap.newLinkedHashMap(count);
    Utf8 utf8 = new Utf8();
    int pos = ENTRIES_OFFSET;
    for (int i = 0; i < count; i++) {
      if (end - pos < 2) {
        return null;
      }
      int keyLength = u16(raw, pos);
      pos += 2;
      if (end - pos < keyLength) {
        return null;
      }
      String key = utf8.decode(raw, pos, keyLength);
      pos += keyLength;
      if (key == null || end - pos < 2) {
        return null;
      }
      int valueLength = u16(raw, pos);
      pos += 2;
      if (end - pos < valueLength) {
        return null;
      }
      String value = utf8.decode(raw, pos, valueLength);
      pos += valueLength;
      if (value == null) {
        return null;
      }
      headers.put(key, value); // a repeated key keeps its first position and its last value
    }
    if (pos != end) {
      return null;
    }
    return Frame.owning(headers, Arrays.copyOfRange(raw, end, n));
  }

  /**
   * The frame in an envelope written by FastStream 0.7's encoder, or null. That encoder writes the
   * length of each header key and value as Python's {@code len(str)}, the number of code points,
   * while it computes the payload offset from the bytes it actually wrote; for a non-ASCII string the
   * strict reading therefore stops inside the string and fails. Here every length is a count of
   * UTF-8 code points, and the value is accepted only when the entries, read so, end exactly at the
   * declared payload offset and every string is well-formed UTF-8: the same closing check as the
   * strict reading, so a lie in a length or a count is still caught.
   *
   * <p>Only called after {@link #decodeBinary} returned null. A valid byte-length envelope (Brook's,
   * or FastStream's with ASCII headers, where both counts agree) never gets here, so this reading
   * cannot change what any well-formed envelope means; and it costs the strict path nothing.
   */
  private static Frame decodeCodePointLengths(byte[] raw) {
    int n = raw.length;
    if (n < ENTRIES_OFFSET
        || u16(raw, 8) != VERSION
        || u32(raw, 10) != HEADER_BLOCK_OFFSET) {
      return null;
    }
    long declaredPayloadOffset = u32(raw, 14);
    if (declaredPayloadOffset < ENTRIES_OFFSET || declaredPayloadOffset > n) {
      return null;
    }
    int end = (int) declaredPayloadOffset;
    int count = u16(raw, 18);
    if ((long) count * 4 > end - ENTRIES_OFFSET) {
      return null;
    }
    Map<String, String> headers = count == 0 ? Map.of() : LinkedHashMap.newLinkedHashMap(count);
    int pos = ENTRIES_OFFSET;
    for (int i = 0; i < count; i++) {
      if (end - pos < 2) {
        return null;
      }
      int keyEnd = skipCodePoints(raw, pos + 2, end, u16(raw, pos));
      if (keyEnd < 0 || end - keyEnd < 2) {
        return null;
      }
      int valueEnd = skipCodePoints(raw, keyEnd + 2, end, u16(raw, keyEnd));
      if (valueEnd < 0) {
        return null;
      }
      // both ranges were checked to be well-formed UTF-8, so nothing is replaced here
      String key = new String(raw, pos + 2, keyEnd - pos - 2, StandardCharsets.UTF_8);
      String value = new String(raw, keyEnd + 2, valueEnd - keyEnd - 2, StandardCharsets.UTF_8);
      headers.put(key, value);
      pos = valueEnd;
    }
    if (pos != end) {
      return null;
    }
    return Frame.owning(headers, Arrays.copyOfRange(raw, end, n));
  }

  /**
   * Where {@code codePoints} well-formed UTF-8 code points starting at {@code pos} end, or -1 if
   * they do not all fit before {@code end} or any is malformed.
   */
  private static int skipCodePoints(byte[] raw, int pos, int end, int codePoints) {
    for (int c = 0; c < codePoints; c++) {
      int len = utf8SequenceLength(raw, pos, end);
      if (len < 0) {
        return -1;
      }
      pos += len;
    }
    return pos;
  }

  /**
   * The length of the well-formed UTF-8 sequence (RFC 3629: no overlong forms, no surrogates,
   * nothing above U+10FFFF) at {@code i}, or -1 if it is malformed or runs past {@code end}.
   */
  private static int utf8SequenceLength(byte[] b, int i, int end) {
    if (i >= end) {
      return -1;
    }
    int c = b[i] & 0xFF;
    if (c < 0x80) {
      return 1;
    }
    int more;
    int min;
    if (c >= 0xC2 && c <= 0xDF) {
      more = 1;
      min = 0x80;
    } else if (c >= 0xE0 && c <= 0xEF) {
      more = 2;
      min = 0x800;
    } else if (c >= 0xF0 && c <= 0xF4) {
      more = 3;
      min = 0x10000;
    } else {
      return -1;
    }
    if (end - i <= more) {
      return -1;
    }
    int cp = c & (0x3F >>> more);
    for (int j = 1; j <= more; j++) {
      int cc = b[i + j] & 0xFF;
      if ((cc & 0xC0) != 0x80) {
        return -1;
      }
      cp = (cp << 6) | (cc & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
      return -1;
    }
    return more + 1;
  }

  /** Strict UTF-8 for header text: ASCII without a decoder, the rest with a REPORTing one. */
  private static final class Utf8 {
    private CharsetDecoder decoder;

    /** The text, or null if the bytes are not well-formed UTF-8. */
    String decode(byte[] raw, int off, int len) {
      boolean ascii = true;
      for (int i = off, end = off + len; i < end; i++) {
        if (raw[i] < 0) {
          ascii = false;
          break;
        }
      }
      if (ascii) {
        return new String(raw, off, len, StandardCharsets.ISO_8859_1);
      }
      if (decoder == null) {
        decoder =
            StandardCharsets.UTF_8
                .newDecoder()
                .onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT);
      }
      try {
        return decoder.decode(ByteBuffer.wrap(raw, off, len)).toString();
      } catch (CharacterCodingException e) {
        return null;
      }
    }
  }

  private static int u16(byte[] b, int at) {
    return ((b[at] & 0xFF) << 8) | (b[at + 1] & 0xFF);
  }

  private static long u32(byte[] b, int at) {
    return ((long) (b[at] & 0xFF) << 24)
        | ((b[at + 1] & 0xFF) << 16)
        | ((b[at + 2] & 0xFF) << 8)
        | (b[at + 3] & 0xFF);
  }

  private static void putU16(byte[] b, int at, int v) {
    b[at] = (byte) (v >>> 8);
    b[at + 1] = (byte) v;
  }

  private static void putU32(byte[] b, int at, long v) {
    b[at] = (byte) (v >>> 24);
    b[at + 1] = (byte) (v >>> 16);
    b[at + 2] = (byte) (v >>> 8);
    b[at + 3] = (byte) v;
  }

  /** Set in {@link #utf8Length}'s result when every char is ASCII (the length is then {@code s.length()}). */
  private static final long ASCII = 1L << 40;

  /**
   * The length of {@code s} in UTF-8 as {@link String#getBytes} would encode it: a lone surrogate
   * counts as the one byte {@code ?} it is replaced with. Or'ed with {@link #ASCII} when all of it is
   * ASCII: header text almost always is, and {@link #putAscii} then copies it without a char loop.
   */
  private static long utf8Length(String s) {
    int n = s.length();
    int i = 0;
    while (i < n && s.charAt(i) < 0x80) {
      i++;
    }
    if (i == n) {
      return n | ASCII;
    }
    long bytes = n;
    for (; i < n; i++) {
      char c = s.charAt(i);
      if (c < 0x80) {
        continue;
      }
      if (c < 0x800) {
        bytes += 1;
      } else if (Character.isHighSurrogate(c)
          && i + 1 < n
          && Character.isLowSurrogate(s.charAt(i + 1))) {
        bytes += 2; // two chars, four bytes
        i++;
      } else if (!Character.isSurrogate(c)) {
        bytes += 2;
      }
    }
    return bytes;
  }

  /**
   * {@link #putString} for a string known to be ASCII: {@code String.getBytes(int, int, byte[], int)}
   * copies the low byte of each char, which for ASCII is its UTF-8 (an array copy for the JDK's
   * compact Latin-1 strings, twice as fast as the char loop on the publish path).
   */
  @SuppressWarnings("deprecation")
  private static int putAscii(byte[] out, int pos, String s) {
    int n = s.length();
    s.getBytes(0, n, out, pos + 2);
    putU16(out, pos, n);
    return pos + 2 + n;
  }

  /** Writes a u16 length and the UTF-8 bytes of {@code s} at {@code pos}; returns the new end. */
  private static int putString(byte[] out, int pos, String s) {
    int start = pos + 2;
    int p = start;
    int n = s.length();
    for (int i = 0; i < n; i++) {
      char c = s.charAt(i);
      if (c < 0x80) {
        out[p++] = (byte) c;
      } else if (c < 0x800) {
        out[p++] = (byte) (0xC0 | (c >>> 6));
        out[p++] = (byte) (0x80 | (c & 0x3F));
      } else if (Character.isHighSurrogate(c)
          && i + 1 < n
          && Character.isLowSurrogate(s.charAt(i + 1))) {
        int cp = Character.toCodePoint(c, s.charAt(++i));
        out[p++] = (byte) (0xF0 | (cp >>> 18));
        out[p++] = (byte) (0x80 | ((cp >>> 12) & 0x3F));
        out[p++] = (byte) (0x80 | ((cp >>> 6) & 0x3F));
        out[p++] = (byte) (0x80 | (cp & 0x3F));
      } else if (Character.isSurrogate(c)) {
        out[p++] = '?'; // as String.getBytes(UTF_8) does
      } else {
        out[p++] = (byte) (0xE0 | (c >>> 12));
        out[p++] = (byte) (0x80 | ((c >>> 6) & 0x3F));
        out[p++] = (byte) (0x80 | (c & 0x3F));
      }
    }
    putU16(out, pos, p - start);
    return p;
  }

  private static String quote(String name) {
    return name.length() <= MAX_QUOTED
        ? '"' + name + '"'
        : '"' + name.substring(0, MAX_QUOTED) + "\"... (" + name.length() + " chars)";
  }

  // ---------------------------------------------------------------------------------------------
  // JSON envelope (FastStream's JSONMessageFormat, and what other producers write in its shape)

  /**
   * Whether {@code b} is well-formed UTF-8 (RFC 3629: no overlong forms, no surrogates, nothing
   * above U+10FFFF), without allocating.
   */
  private static boolean isWellFormedUtf8(byte[] b) {
    int n = b.length;
    int i = 0;
    while (i < n) {
      if (b[i] >= 0) {
        i++;
        continue;
      }
      int len = utf8SequenceLength(b, i, n);
      if (len < 0) {
        return false;
      }
      i += len;
    }
    return true;
  }

  /** Cheap pre-check: the first non-whitespace byte is '{'. */
  private static boolean looksLikeJsonObject(byte[] raw) {
    for (byte b : raw) {
      if (b != ' ' && b != '\t' && b != '\n' && b != '\r') {
        return b == '{';
      }
    }
    return false;
  }

  /**
   * Whether {@code raw} can hold a key {@code data}: it contains those four bytes, or a backslash
   * (a key may spell them with escapes). Lets an ordinary JSON payload skip the parse.
   */
  private static boolean mayHoldDataKey(byte[] raw) {
    for (int i = 0, last = raw.length - 4; i < raw.length; i++) {
      byte b = raw[i];
      if (b == '\\'
          || (b == 'd' && i <= last && raw[i + 1] == 'a' && raw[i + 2] == 't' && raw[i + 3] == 'a')) {
        return true;
      }
    }
    return false;
  }

  /**
   * The frame in a JSON object with a string field {@code data}, read as FastStream's Redis parser
   * reads it ({@code faststream/redis/parser/binary.py}): the payload is that string in UTF-8, the
   * headers are the field {@code headers} (an object) or none when it is absent; other fields are
   * ignored and a repeated field counts with its last value, as in Python. Null when {@code raw} is
   * not such an object (nothing after it, well-formed UTF-8), or when {@code headers} is there but
   * is not an object, which FastStream cannot consume either.
   */
  private static Frame decodeJson(byte[] raw) {
    if (!mayHoldDataKey(raw)) {
      return null;
    }
    try (JsonParser p = JSON.createParser(raw)) {
      if (p.nextToken() != JsonToken.START_OBJECT) {
        return null;
      }
      String data = null;
      Map<String, String> headers = Map.of();
      boolean headersUsable = true;
      JsonToken t;
      while ((t = p.nextToken()) == JsonToken.FIELD_NAME) {
        String name = p.currentName();
        JsonToken v = p.nextToken();
        if ("data".equals(name)) {
          data = v == JsonToken.VALUE_STRING ? p.getText() : null;
          p.skipChildren();
        } else if ("headers".equals(name)) {
          headersUsable = v == JsonToken.START_OBJECT;
          headers = headersUsable ? readHeaders(p) : Map.of();
          if (!headersUsable) {
            p.skipChildren();
          }
        } else {
          p.skipChildren();
        }
      }
      if (t != JsonToken.END_OBJECT || data == null || !headersUsable || p.nextToken() != null) {
        return null;
      }
      // Jackson decodes some malformed UTF-8 leniently (an overlong C0 AF becomes '/'); JSON must
      // be UTF-8, so such a value is kept raw rather than silently rewritten. A lone surrogate in
      // data has no UTF-8 form (FastStream's str.encode() fails on it too).
      if (!isWellFormedUtf8(raw) || hasLoneSurrogate(data)) {
        return null;
      }
      return new Frame(headers, data.getBytes(StandardCharsets.UTF_8));
    } catch (IOException | RuntimeException e) {
      return null; // not JSON (or not this JSON): the value is a raw payload
    }
  }

  /** The header object the parser is at the start of; non-string values become their JSON text. */
  private static Map<String, String> readHeaders(JsonParser p) throws IOException {
    Map<String, String> headers = new LinkedHashMap<>();
    while (p.nextToken() == JsonToken.FIELD_NAME) {
      String key = p.currentName();
      JsonToken hv = p.nextToken();
      String value =
          switch (hv) {
            case START_OBJECT, START_ARRAY -> JSON.writeValueAsString(JSON.readTree(p));
            // strings: their text; numbers, booleans, null: their JSON text as written
            default -> p.getText();
          };
      headers.put(key, value);
    }
    return headers;
  }

  private static boolean hasLoneSurrogate(String s) {
    for (int i = 0, n = s.length(); i < n; i++) {
      char c = s.charAt(i);
      if (Character.isHighSurrogate(c) && i + 1 < n && Character.isLowSurrogate(s.charAt(i + 1))) {
        i++;
      } else if (Character.isSurrogate(c)) {
        return true;
      }
    }
    return false;
  }
}
