package dev.brook.redis.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.brook.spi.Frame;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class EnvelopeTest {

  private static final byte[] MAGIC = HexFormat.of().parseHex("8942494e0d0a1a0a");

  private static byte[] utf8(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  private static Map<String, String> ordered(String... keysAndValues) {
    Map<String, String> m = new LinkedHashMap<>();
    for (int i = 0; i < keysAndValues.length; i += 2) {
      m.put(keysAndValues[i], keysAndValues[i + 1]);
    }
    return m;
  }

  /** The envelope built the slow, obvious way, to compare the encoder against. */
  private static byte[] reference(Map<String, String> headers, byte[] payload) {
    ByteArrayOutputStream entries = new ByteArrayOutputStream();
    headers.forEach(
        (k, v) -> {
          for (byte[] b : List.of(utf8(k), utf8(v))) {
            entries.write(b.length >>> 8);
            entries.write(b.length);
            entries.writeBytes(b);
          }
        });
    int payloadOffset = 20 + entries.size();
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    out.writeBytes(MAGIC);
    out.writeBytes(new byte[] {0, 1, 0, 0, 0, 18});
    out.writeBytes(
        new byte[] {
          (byte) (payloadOffset >>> 24),
          (byte) (payloadOffset >>> 16),
          (byte) (payloadOffset >>> 8),
          (byte) payloadOffset
        });
    out.write(headers.size() >>> 8);
    out.write(headers.size());
    out.writeBytes(entries.toByteArray());
    out.writeBytes(payload);
    return out.toByteArray();
  }

  /**
   * The envelope as FastStream 0.7.4's encoder writes it: each string's length is its number of
   * code points (Python's {@code len(str)}), the payload offset counts the bytes actually written.
   */
  private static byte[] faststreamWritten(Map<String, String> headers, byte[] payload) {
    byte[] brook = reference(headers, payload);
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    out.write(brook, 0, 20);
    headers.forEach(
        (k, v) -> {
          for (String text : List.of(k, v)) {
            int length = text.codePointCount(0, text.length());
            out.write(length >>> 8);
            out.write(length);
            out.writeBytes(utf8(text));
          }
        });
    out.writeBytes(payload);
    return out.toByteArray();
  }

  private static void assertRoundTrip(Map<String, String> headers, byte[] payload) {
    byte[] encoded = Envelope.encode(headers, payload);
    assertThat(encoded).isEqualTo(reference(headers, payload));
    assertThat(Envelope.isEnvelope(encoded)).isTrue();
    Frame frame = Envelope.decode(encoded);
    assertThat(frame.headers()).containsExactlyEntriesOf(headers);
    assertThat(frame.payload()).isEqualTo(payload);
  }

  private static void assertRaw(byte[] raw) {
    Frame frame = Envelope.decode(raw);
    assertThat(frame.headers()).isEmpty();
    assertThat(frame.payload()).isEqualTo(raw);
  }

  @Nested
  class RoundTrip {

    @Test
    void noHeaders() {
      assertRoundTrip(Map.of(), utf8("hello"));
      assertThat(Envelope.encode(Map.of(), utf8("hello")))
          .isEqualTo(HexFormat.of().parseHex("8942494e0d0a1a0a00010000001200000014000068656c6c6f"));
    }

    @Test
    void manyHeadersKeepTheirOrder() {
      Map<String, String> headers = new LinkedHashMap<>();
      for (int i = 999; i >= 0; i--) {
        headers.put("h" + i, "value-" + i);
      }
      assertRoundTrip(headers, utf8("{\"id\":1}"));
    }

    @Test
    void maximumHeaderCount() {
      Map<String, String> headers = new LinkedHashMap<>();
      for (int i = 0; i < 65535; i++) {
        headers.put(Integer.toString(i), "");
      }
      assertRoundTrip(headers, new byte[] {1, 2, 3});
    }

    @Test
    void emptyPayload() {
      assertRoundTrip(ordered("correlation_id", "e-1"), new byte[0]);
      assertRoundTrip(Map.of(), new byte[0]);
    }

    @Test
    void payload64KiB() {
      byte[] payload = new byte[64 * 1024];
      new Random(64).nextBytes(payload);
      assertRoundTrip(ordered("correlation_id", "big", "content-type", "application/octet-stream"), payload);
    }

    @Test
    void nonAsciiHeadersCountUtf8Bytes() {
      Map<String, String> headers = ordered("city", "Zürich", "tokyo", "東京", "straße", "🚀 launch");
      byte[] encoded = Envelope.encode(headers, utf8("café"));
      // "Zürich" is 6 chars but 7 bytes; "東京" is 2 chars but 6 bytes; "🚀" is 2 chars, 4 bytes.
      String hex = HexFormat.of().formatHex(encoded);
      assertThat(hex).contains("0007" + HexFormat.of().formatHex(utf8("Zürich")));
      assertThat(hex).contains("0006" + HexFormat.of().formatHex(utf8("東京")));
      assertThat(hex).contains("000b" + HexFormat.of().formatHex(utf8("🚀 launch")));
      assertRoundTrip(headers, utf8("café"));
    }

    @Test
    void headerLengthsAtTheLimitAreAccepted() {
      String max = "k".repeat(65535);
      assertRoundTrip(ordered(max, max), utf8("p"));
      String maxNonAscii = "東".repeat(21845); // 65535 bytes
      assertRoundTrip(ordered("k", maxNonAscii), utf8("p"));
    }

    @Test
    void encoderMatchesStringGetBytesForAnyText() {
      Random random = new Random(7);
      for (int i = 0; i < 2000; i++) {
        StringBuilder sb = new StringBuilder();
        int len = random.nextInt(12);
        for (int j = 0; j < len; j++) {
          sb.append(
              switch (random.nextInt(5)) {
                case 0 -> (char) random.nextInt(0x80);
                case 1 -> (char) (0x80 + random.nextInt(0x780));
                case 2 -> (char) (0x800 + random.nextInt(0xF800)); // includes lone surrogates
                case 3 -> new String(Character.toChars(0x10000 + random.nextInt(0x100000)));
                default -> (char) (0xD800 + random.nextInt(0x800));
              });
        }
        String s = sb.toString();
        Map<String, String> headers = ordered("k", s);
        // String.getBytes replaces a lone surrogate with '?'; the encoder writes the same bytes.
        assertThat(Envelope.encode(headers, new byte[0]))
            .as("encoding of %s", s.chars().mapToObj(Integer::toHexString).toList())
            .isEqualTo(reference(headers, new byte[0]));
      }
    }

    /** The ASCII fast path covers the first 64 keys and values; mixed text and more headers must not confuse it. */
    @Test
    void encoderMatchesStringGetBytesWithManyHeadersOfMixedText() {
      Random random = new Random(11);
      for (int round = 0; round < 200; round++) {
        Map<String, String> headers = new java.util.LinkedHashMap<>();
        int count = 1 + random.nextInt(70);
        for (int i = 0; i < count; i++) {
          String key = "k" + i + (random.nextInt(4) == 0 ? "é" : "");
          String value = switch (random.nextInt(4)) {
            case 0 -> "";
            case 1 -> "v" + random.nextLong();
            case 2 -> "東" + i;
            default -> "x" + (char) (0xD800 + random.nextInt(0x800)); // a lone surrogate: written as '?'
          };
          headers.put(key, value);
        }
        assertThat(Envelope.encode(headers, utf8("p"))).isEqualTo(reference(headers, utf8("p")));
      }
    }

    @Test
    void repeatedKeyInAnEnvelopeKeepsTheLastValue() {
      byte[] once = Envelope.encode(ordered("a", "1", "b", "2"), utf8("p"));
      byte[] twice = once.clone();
      // rename "b" to "a": same lengths, so the envelope stays valid
      twice[20 + 2 + 1 + 2 + 1 + 2] = 'a';
      Frame frame = Envelope.decode(twice);
      assertThat(frame.headers()).containsExactlyEntriesOf(ordered("a", "2"));
      assertThat(frame.payload()).isEqualTo(utf8("p"));
    }
  }

  @Nested
  class Limits {

    @Test
    void overLongValueIsRejectedNamingTheHeaderAndTheLimit() {
      Map<String, String> headers = ordered("correlation_id", "c-1", "tenant", "x".repeat(65536));
      assertThatThrownBy(() -> Envelope.encode(headers, new byte[0]))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessage(
              "header \"tenant\" has a value of 65536 UTF-8 bytes, over the envelope limit of 65535 bytes");
    }

    @Test
    void lengthLimitCountsBytesNotChars() {
      String value = "東".repeat(21846); // 21846 chars, 65538 bytes
      assertThatThrownBy(() -> Envelope.encode(ordered("city", value), new byte[0]))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessage(
              "header \"city\" has a value of 65538 UTF-8 bytes, over the envelope limit of 65535 bytes");
    }

    @Test
    void overLongKeyIsRejectedQuotingItsStart() {
      String key = "k".repeat(70000);
      assertThatThrownBy(() -> Envelope.encode(ordered(key, "v"), new byte[0]))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessage(
              "header key \""
                  + "k".repeat(64)
                  + "\"... (70000 chars) is 70000 UTF-8 bytes, over the envelope limit of 65535 bytes");
    }

    @Test
    void tooManyHeadersAreRejected() {
      Map<String, String> headers = new LinkedHashMap<>();
      for (int i = 0; i < 65536; i++) {
        headers.put(Integer.toString(i), "");
      }
      assertThatThrownBy(() -> Envelope.encode(headers, new byte[0]))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessage("65536 headers exceed the envelope limit of 65535 headers");
    }

    @Test
    void nullsAreRejected() {
      Map<String, String> nullValue = new LinkedHashMap<>();
      nullValue.put("tenant", null);
      assertThatThrownBy(() -> Envelope.encode(nullValue, new byte[0]))
          .isInstanceOf(NullPointerException.class)
          .hasMessageContaining("\"tenant\"");
      assertThatThrownBy(() -> Envelope.encode(Map.of(), null))
          .isInstanceOf(NullPointerException.class);
      assertThatThrownBy(() -> Envelope.decode(null)).isInstanceOf(NullPointerException.class);
    }
  }

  /** What FastStream 0.7.4 writes for non-ASCII headers: lengths in code points (issue 13). */
  @Nested
  class FastStreamCodePointLengths {

    private void assertReadsBack(Map<String, String> headers, byte[] payload) {
      byte[] raw = faststreamWritten(headers, payload);
      Frame frame = Envelope.decode(raw);
      assertThat(frame.headers()).containsExactlyEntriesOf(headers);
      assertThat(frame.payload()).isEqualTo(payload);
    }

    @Test
    void nonAsciiValuesKeysAndEmojiAreRead() {
      assertReadsBack(ordered("correlation_id", "c-1", "x-city", "Zürich 東京"), utf8("{\"id\":1}"));
      assertReadsBack(ordered("x-v", "abc€", "after", "ok"), utf8("p"));
      assertReadsBack(ordered("stadt-ü", "Bern"), new byte[0]);
      assertReadsBack(ordered("x-e", "a😀b", "😀", "🚀🚀", "n", "1"), new byte[] {0, 1, 2});
      assertReadsBack(ordered("x-v", "€".repeat(30_000)), utf8("{}"));
      assertReadsBack(ordered("x-v", "😀".repeat(65_535)), utf8("{}"));
    }

    @Test
    void asciiHeadersAreTheSameBytesEitherWay() {
      Map<String, String> headers = ordered("correlation_id", "c-6", "x-v", "plain", "after", "ok");
      assertThat(faststreamWritten(headers, utf8("p"))).isEqualTo(Envelope.encode(headers, utf8("p")));
    }

    @Test
    void randomHeadersAreRead() {
      Random random = new Random(0xFA57);
      String[] pieces = {"a", "id", "Zürich", "東京", "😀", "", "-", "0", "€", "ü", "\u0000", "\u00ff"};
      for (int i = 0; i < 5_000; i++) {
        Map<String, String> headers = new LinkedHashMap<>();
        for (int j = random.nextInt(5); j > 0; j--) {
          headers.put(text(random, pieces), text(random, pieces));
        }
        byte[] payload = new byte[random.nextInt(20)];
        random.nextBytes(payload);
        assertReadsBack(headers, payload);
      }
    }

    private static String text(Random random, String[] pieces) {
      StringBuilder sb = new StringBuilder();
      for (int j = random.nextInt(6); j > 0; j--) {
        sb.append(pieces[random.nextInt(pieces.length)]);
      }
      return sb.toString();
    }

    @ParameterizedTest
    @ValueSource(ints = {1, -2, 3, -3})
    void payloadOffsetNotAtTheEndOfTheCodePointsIsRaw(int delta) {
      byte[] raw = faststreamWritten(ordered("city", "Zürich"), utf8("payload"));
      raw[17] = (byte) (raw[17] + delta);
      assertRaw(raw);
    }

    @Test
    void aValidByteLengthReadingComesFirst() {
      // "Zürich" declared as 6 with the offset one byte short: 6 bytes ("Züric") end exactly there,
      // so this is a valid byte-length envelope and reads as one; the code points never get a say
      byte[] raw = faststreamWritten(ordered("city", "Zürich"), utf8("payload"));
      raw[17] -= 1;
      Frame frame = Envelope.decode(raw);
      assertThat(frame.headers()).containsExactlyEntriesOf(ordered("city", "Züric"));
      assertThat(frame.payload()).isEqualTo(utf8("hpayload"));
    }

    @Test
    void moreCodePointsThanTheBlockHoldsIsRaw() {
      byte[] raw = faststreamWritten(ordered("city", "Zürich"), new byte[0]);
      int valueLength = 20 + 2 + 4;
      raw[valueLength + 1] = 8; // Zürich is 6 code points (7 bytes): 8 of either is past the block
      assertRaw(raw);
    }

    @ParameterizedTest
    @ValueSource(strings = {"c0af", "80", "eda080", "f8888080", "e69d", "ff", "f4908080"})
    void malformedUtf8IsRaw(String badHex) {
      byte[] bad = HexFormat.of().parseHex(badHex);
      // 'é' declared as 1 code point of 2 bytes: replace its bytes and what follows with bad ones
      byte[] raw = faststreamWritten(ordered("k", "é" + "x".repeat(bad.length)), new byte[0]);
      int at = 20 + 2 + 1 + 2;
      System.arraycopy(bad, 0, raw, at, bad.length);
      assertRaw(raw);
    }
  }

  @Nested
  class InvalidBinary {

    private final byte[] valid = Envelope.encode(ordered("a", "b"), utf8("payload"));

    @Test
    void isEnvelopeLooksOnlyAtTheMagic() {
      assertThat(Envelope.isEnvelope(new byte[0])).isFalse();
      assertThat(Envelope.isEnvelope(java.util.Arrays.copyOf(MAGIC, 7))).isFalse();
      assertThat(Envelope.isEnvelope(MAGIC)).isTrue();
      assertThat(Envelope.isEnvelope(valid)).isTrue();
      assertThat(Envelope.isEnvelope(utf8("hello world"))).isFalse();
    }

    @Test
    void declaredHeaderCountTheBufferCannotHoldIsRaw() {
      // 65535 headers declared in a 30-byte buffer: must not size anything by the count
      byte[] raw = new byte[30];
      System.arraycopy(MAGIC, 0, raw, 0, 8);
      raw[9] = 1;
      raw[13] = 18;
      raw[17] = 30;
      raw[18] = (byte) 0xFF;
      raw[19] = (byte) 0xFF;
      assertRaw(raw);
      // the same with the payload offset at u32 max
      raw[14] = raw[15] = raw[16] = raw[17] = (byte) 0xFF;
      assertRaw(raw);
    }

    @Test
    void wrongVersionIsRaw() {
      byte[] raw = valid.clone();
      raw[9] = 2;
      assertRaw(raw);
    }

    @Test
    void headerBlockNotAt18IsRaw() {
      byte[] raw = valid.clone();
      raw[13] = 19;
      assertRaw(raw);
    }

    @ParameterizedTest
    @ValueSource(ints = {-1, 1, 20, -6})
    void payloadOffsetNotAtTheEndOfTheEntriesIsRaw(int delta) {
      byte[] raw = valid.clone();
      raw[17] = (byte) (raw[17] + delta);
      assertRaw(raw);
    }

    @ParameterizedTest
    @ValueSource(strings = {"c0af", "80", "ed a0 80", "f8 88 80 80 80", "e6 9d", "ff"})
    void malformedUtf8InAHeaderIsRaw(String badHex) {
      byte[] bad = HexFormat.of().parseHex(badHex.replace(" ", ""));
      // same lengths as the value we replace, so only the bytes are wrong
      byte[] good = utf8("x".repeat(bad.length));
      byte[] raw = Envelope.encode(ordered("city", new String(good, StandardCharsets.UTF_8)), utf8("p"));
      int at = 20 + 2 + 4 + 2;
      System.arraycopy(bad, 0, raw, at, bad.length);
      assertRaw(raw);
      // and in a key
      raw = Envelope.encode(ordered(new String(good, StandardCharsets.UTF_8), "v"), utf8("p"));
      System.arraycopy(bad, 0, raw, 22, bad.length);
      assertRaw(raw);
    }

    @Test
    void magicAloneOrShortIsRaw() {
      assertRaw(MAGIC);
      for (int len = 0; len < 20; len++) {
        assertRaw(java.util.Arrays.copyOf(valid, len));
      }
    }
  }

  @Nested
  class Json {

    @Test
    void nonStringHeaderValuesBecomeTheirJsonText() {
      Frame frame = Envelope.decode(utf8("{\"data\":\"x\",\"headers\":{\"a\":1}}"));
      assertThat(frame.headers()).containsExactlyEntriesOf(ordered("a", "1"));
      assertThat(frame.payload()).isEqualTo(utf8("x"));
    }

    @Test
    void everyKindOfHeaderValue() {
      Frame frame =
          Envelope.decode(
              utf8(
                  " \n\t{\"headers\": {\"s\": \"Zürich\", \"i\": -12, \"f\": 1.50, \"t\": true,"
                      + " \"n\": null, \"o\": {\"k\": [1, \"2\"]}, \"l\": []}, \"data\": \"東京\"}\r\n"));
      assertThat(frame.headers())
          .containsExactlyEntriesOf(
              ordered(
                  "s", "Zürich", "i", "-12", "f", "1.50", "t", "true", "n", "null", "o",
                  "{\"k\":[1,\"2\"]}", "l", "[]"));
      assertThat(frame.payload()).isEqualTo(utf8("東京"));
    }

    @ParameterizedTest
    @ValueSource(
        strings = {
          "{\"data\": \"x\"}",
          "{\"data\": \"x\", \"kind\": \"event\"}",
          "{\"kind\": \"event\", \"data\": \"x\", \"n\": [1, {\"data\": 2}]}",
          "{\"d\\u0061ta\": \"x\"}",
          "{\"data\": 5, \"data\": \"x\"}",
          "{\"data\": \"x\", \"headers\": 1, \"headers\": {}}",
        })
    void aStringDataFieldIsUnwrappedAsFastStreamDoes(String text) {
      // FastStream: payload = parsed["data"].encode(), headers = parsed.get("headers", {}); other
      // fields ignored, a repeated field counts with its last value
      Frame frame = Envelope.decode(utf8(text));
      assertThat(frame.headers()).isEmpty();
      assertThat(frame.payload()).isEqualTo(utf8("x"));
    }

    @Test
    void extraFieldsBesideDataAndHeadersAreIgnored() {
      Frame frame = Envelope.decode(utf8("{\"data\": \"x\", \"headers\": {\"a\": \"1\"}, \"extra\": 1}"));
      assertThat(frame.headers()).containsExactlyEntriesOf(ordered("a", "1"));
      assertThat(frame.payload()).isEqualTo(utf8("x"));
    }

    @ParameterizedTest
    @ValueSource(
        strings = {
          "{\"headers\": {}}",
          "{\"id\": 1, \"item\": \"book\"}",
          "{\"metadata\": \"x\"}",
          "{\"data\": \"x\", \"headers\": \"a=1\"}",
          "{\"data\": \"x\", \"headers\": null}",
          "{\"data\": 5, \"headers\": {}}",
          "{\"data\": null}",
          "{\"data\": {\"id\": 1}, \"headers\": {}}",
          "{\"data\": \"x\", \"data\": 5}",
          "{\"n\": {\"data\": \"x\"}}",
          "{\"data\": \"\\ud800\"}",
          "{\"data\": \"x\", \"headers\": {}} trailing",
          "{\"data\": \"x\", \"headers\": {}}{}",
          "{\"data\": \"x\", \"headers\": {\"a\": 1}",
          "{\"data\": \"x\", \"headers\": {\"a\": }}",
          "{\"data\": \"\\ud800\", \"headers\": {\"a\": [[[[[[",
          "{",
          "{}",
          "[{\"data\": \"x\", \"headers\": {}}]",
          "x{\"data\": \"x\", \"headers\": {}}",
        })
    void anythingElseIsRaw(String text) {
      assertRaw(utf8(text));
    }

    @ParameterizedTest
    @ValueSource(strings = {"c0af", "80", "eda080", "f88880", "e69d", "ff", "f4908080"})
    void malformedUtf8InJsonIsRaw(String badHex) {
      // Jackson itself would read an overlong C0 AF as '/'; the envelope reader keeps it raw.
      byte[] bad = HexFormat.of().parseHex(badHex);
      for (String template : List.of("{\"data\": \"%s\", \"headers\": {}}", "{\"data\": \"\", \"headers\": {\"a\": \"%s\"}}")) {
        String marker = "#".repeat(bad.length);
        byte[] raw = utf8(template.formatted(marker));
        int at = new String(raw, StandardCharsets.ISO_8859_1).indexOf(marker);
        System.arraycopy(bad, 0, raw, at, bad.length);
        assertRaw(raw);
      }
    }

    @Test
    void wellFormedNonAsciiJsonIsAnEnvelope() {
      Frame frame = Envelope.decode(utf8("{\"data\": \"café 🚀\", \"headers\": {\"city\": \"東京\"}}"));
      assertThat(frame.headers()).containsExactlyEntriesOf(ordered("city", "東京"));
      assertThat(frame.payload()).isEqualTo(utf8("café 🚀"));
    }

    @Test
    void deepNestingInAHeaderIsRaw() {
      String deep = "[".repeat(5000) + "]".repeat(5000);
      assertRaw(utf8("{\"data\": \"x\", \"headers\": {\"a\": " + deep + "}}"));
    }

    @Test
    void emptyHeadersObjectIsStillAnEnvelope() {
      Frame frame = Envelope.decode(utf8("{\"data\": \"\", \"headers\": {}}"));
      assertThat(frame.headers()).isEmpty();
      assertThat(frame.payload()).isEmpty();
    }
  }

  @Nested
  class Robustness {

    private static final int RANDOM_INPUTS = 10_000;

    /** decode never throws, and whatever it returns is consistent with the input. */
    private static void assertDecodesSafely(byte[] raw) {
      byte[] copy = raw.clone();
      Frame frame;
      try {
        frame = Envelope.decode(raw);
      } catch (Throwable t) {
        throw new AssertionError("decode threw on " + hex(raw), t);
      }
      assertThat(raw).as("decode must not modify its input").isEqualTo(copy);
      assertThat(frame.payload().length).isLessThanOrEqualTo(raw.length);
      if (frame.payload() == raw) {
        assertThat(frame.headers()).isEmpty();
      } else if (Envelope.isEnvelope(raw)) {
        // a valid binary envelope: unless it repeated a key, it re-encodes to the same bytes
        // (byte lengths, or the code-point lengths FastStream writes)
        int declared = ((raw[18] & 0xFF) << 8) | (raw[19] & 0xFF);
        if (frame.headers().size() == declared) {
          assertThat(raw)
              .isIn(
                  Envelope.encode(frame.headers(), frame.payload()),
                  faststreamWritten(frame.headers(), frame.payload()));
        }
      }
    }

    private static String hex(byte[] raw) {
      return HexFormat.of().formatHex(raw, 0, Math.min(raw.length, 200));
    }

    @Test
    void randomInputsNeverThrow() {
      Random random = new Random(0xB200C);
      int valid = 0;
      for (int i = 0; i < RANDOM_INPUTS; i++) {
        byte[] tail = new byte[random.nextInt(80)];
        random.nextBytes(tail);
        byte[] raw =
            switch (i % 5) {
              case 0 -> tail; // anything
              case 1 -> concat(MAGIC, tail); // the magic and anything
              case 2 -> { // a plausible prefix with random count, lengths and payload offset
                byte[] prefix = {0, 1, 0, 0, 0, 18, 0, 0, 0, (byte) (20 + random.nextInt(60))};
                if (random.nextInt(8) == 0) {
                  prefix[6] = (byte) random.nextInt(256);
                }
                byte[] small = tail.clone();
                for (int j = 0; j < small.length; j++) {
                  if (random.nextBoolean()) {
                    small[j] = (byte) random.nextInt(4);
                  }
                }
                yield concat(concat(MAGIC, prefix), small);
              }
              case 3 -> { // a valid envelope, half of the time with one byte replaced
                Map<String, String> headers = new LinkedHashMap<>();
                for (int j = random.nextInt(4); j > 0; j--) {
                  headers.put(randomText(random), randomText(random));
                }
                byte[] envelope = Envelope.encode(headers, tail);
                if (random.nextBoolean()) {
                  envelope[random.nextInt(envelope.length)] = (byte) random.nextInt(256);
                }
                yield envelope;
              }
              default -> { // JSON-ish
                String[] parts = {"{", "}", "\"data\"", "\"headers\"", ":", ",", "\"x\"", "1", "[", "]", " ", "\\"};
                StringBuilder sb = new StringBuilder("{");
                for (int j = random.nextInt(12); j > 0; j--) {
                  sb.append(parts[random.nextInt(parts.length)]);
                }
                yield utf8(sb.toString());
              }
            };
        assertDecodesSafely(raw);
        if (Envelope.decode(raw).payload() != raw) {
          valid++;
        }
      }
      // the generator does reach valid envelopes and JSON envelopes, not only the raw path
      assertThat(valid).isGreaterThan(0);
    }

    @Test
    void validEnvelopesTruncatedAtEveryLengthOrWithAnyByteFlippedNeverThrow() {
      Random random = new Random(42);
      List<byte[]> envelopes =
          List.of(
              Envelope.encode(Map.of(), utf8("hello")),
              Envelope.encode(ordered("correlation_id", "req-1", "content-type", "text/plain"), utf8("ping")),
              Envelope.encode(ordered("city", "Zürich", "tokyo", "東京", "🚀", ""), utf8("café")),
              Envelope.encode(ordered("correlation_id", "e-1"), new byte[0]));
      for (byte[] envelope : envelopes) {
        int payloadOffset = ((envelope[16] & 0xFF) << 8) | (envelope[17] & 0xFF);
        for (int len = 0; len <= envelope.length; len++) {
          byte[] truncated = java.util.Arrays.copyOf(envelope, len);
          assertDecodesSafely(truncated);
          if (len < payloadOffset) {
            assertRaw(truncated);
          }
        }
        for (int at = 0; at < envelope.length; at++) {
          for (int bit = 0; bit < 8; bit++) {
            byte[] flipped = envelope.clone();
            flipped[at] ^= (byte) (1 << bit);
            assertDecodesSafely(flipped);
          }
          byte[] replaced = envelope.clone();
          replaced[at] = (byte) random.nextInt(256);
          assertDecodesSafely(replaced);
        }
      }
    }

    private static String randomText(Random random) {
      String[] pieces = {"a", "id", "Zürich", "東京", "🚀", "", "-", "0"};
      StringBuilder sb = new StringBuilder();
      for (int j = random.nextInt(4); j > 0; j--) {
        sb.append(pieces[random.nextInt(pieces.length)]);
      }
      return sb.toString();
    }

    private static byte[] concat(byte[] a, byte[] b) {
      byte[] out = java.util.Arrays.copyOf(a, a.length + b.length);
      System.arraycopy(b, 0, out, a.length, b.length);
      return out;
    }
  }
}
