package dev.brook.redis.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.DynamicTest.dynamicTest;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.brook.spi.Frame;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/**
 * The byte-exact cases in {@code vectors/envelope.json} (checked against FastStream's parser and
 * encoder) and {@code vectors/faststream-written.json} (bytes written by FastStream 0.7.4's own
 * encoder, with character counts as lengths): verbatim copies of the shared files.
 */
class EnvelopeVectorsTest {

  private static final int EXPECTED_CASES = 9;
  private static final int EXPECTED_FASTSTREAM_CASES = 6;

  /**
   * Decode cases where issue 13 overrides the shared file: a JSON object with a string {@code data}
   * and no {@code headers} is unwrapped as FastStream unwraps it. The shared vector (which may not
   * be edited) still says the value stays raw; its note says FastStream would unwrap it. The case
   * must still say exactly that, so that a corrected shared file makes this override fail loudly.
   */
  private static final Map<String, Expectation> OVERRIDDEN =
      Map.of(
          "json-with-data-no-headers",
          new Expectation(
              "a JSON object with 'data' but no 'headers' object is payload (FastStream would unwrap it; Brook does not)",
              Map.of(),
              "x".getBytes(StandardCharsets.UTF_8)));

  private record Expectation(String sharedNote, Map<String, String> headers, byte[] payload) {}

  @TestFactory
  Stream<DynamicTest> vectors() throws IOException {
    List<JsonNode> cases = cases("vectors/envelope.json", EXPECTED_CASES);
    return cases.stream()
        .map(
            c -> {
              String name = c.required("name").asText();
              String kind = c.required("kind").asText();
              return switch (kind) {
                case "envelope" -> dynamicTest(name, () -> checkEnvelope(c));
                case "decode" -> dynamicTest(name, () -> checkDecode(c));
                default -> throw new AssertionError("case " + name + ": unknown kind " + kind);
              };
            });
  }

  /**
   * Every envelope FastStream 0.7.4 wrote decodes to exactly its headers and payload, although its
   * non-ASCII lengths count characters; and Brook itself still writes byte lengths, so its bytes
   * for the same message differ exactly when a header is not ASCII.
   */
  @TestFactory
  Stream<DynamicTest> faststreamWritten() throws IOException {
    List<JsonNode> cases = cases("vectors/faststream-written.json", EXPECTED_FASTSTREAM_CASES);
    return cases.stream()
        .map(
            c ->
                dynamicTest(
                    c.required("name").asText(),
                    () -> {
                      assertThat(c.required("kind").asText()).isEqualTo("decode");
                      byte[] raw = checkDecode(c);
                      Map<String, String> headers = expectHeaders(c);
                      byte[] payload = base64(c.required("expect_payload_base64"));
                      boolean ascii =
                          headers.entrySet().stream()
                              .allMatch(e -> isAscii(e.getKey()) && isAscii(e.getValue()));
                      assertThat(sameAsBrook(headers, payload, raw))
                          .as("Brook's own bytes equal FastStream's exactly when every header is ASCII")
                          .isEqualTo(ascii);
                    }));
  }

  private static List<JsonNode> cases(String resource, int expected) throws IOException {
    JsonNode root;
    try (InputStream in = EnvelopeVectorsTest.class.getClassLoader().getResourceAsStream(resource)) {
      assertThat(in).as(resource + " on the test classpath").isNotNull();
      root = new ObjectMapper().readTree(in);
    }
    List<JsonNode> cases = new ArrayList<>();
    root.required("cases").forEach(cases::add);
    assertThat(cases).as("cases in " + resource).hasSize(expected);
    assertThat(cases.stream().map(c -> c.required("name").asText()).distinct())
        .as("case names are unique")
        .hasSize(expected);
    return cases;
  }

  private static void checkEnvelope(JsonNode c) {
    Map<String, String> headers = new LinkedHashMap<>();
    for (JsonNode pair : c.required("headers")) {
      assertThat(pair.size()).as("header pair %s", pair).isEqualTo(2);
      headers.put(pair.get(0).asText(), pair.get(1).asText());
    }
    byte[] payload = base64(c.required("payload_base64"));
    String hex = c.required("encoded_hex").asText();

    byte[] encoded = Envelope.encode(headers, payload);
    assertThat(HexFormat.of().formatHex(encoded)).isEqualTo(hex);

    byte[] wire = HexFormat.of().parseHex(hex);
    assertThat(Envelope.isEnvelope(wire)).isTrue();
    Frame frame = Envelope.decode(wire);
    assertThat(frame.headers()).containsExactlyEntriesOf(headers);
    assertThat(frame.payload()).isEqualTo(payload);
  }

  /** Decodes the case's raw bytes, checks the result, and returns the raw bytes. */
  private static byte[] checkDecode(JsonNode c) {
    byte[] raw = base64(c.required("raw_base64"));
    Map<String, String> expectHeaders = expectHeaders(c);
    byte[] expectPayload = base64(c.required("expect_payload_base64"));
    Expectation override = OVERRIDDEN.get(c.required("name").asText());
    if (override != null) {
      assertThat(c.required("note").asText()).isEqualTo(override.sharedNote());
      expectHeaders = override.headers();
      expectPayload = override.payload();
    }

    Frame frame = Envelope.decode(raw);
    assertThat(frame.headers()).containsExactlyEntriesOf(expectHeaders);
    assertThat(frame.payload()).isEqualTo(expectPayload);
    return raw;
  }

  private static Map<String, String> expectHeaders(JsonNode c) {
    Map<String, String> headers = new LinkedHashMap<>();
    c.required("expect_headers").properties().forEach(e -> headers.put(e.getKey(), e.getValue().asText()));
    return headers;
  }

  private static byte[] base64(JsonNode node) {
    return Base64.getDecoder().decode(node.asText());
  }

  /** Whether Brook writes {@code raw} for this message (it cannot write a value over 64 KiB). */
  private static boolean sameAsBrook(Map<String, String> headers, byte[] payload, byte[] raw) {
    try {
      return java.util.Arrays.equals(Envelope.encode(headers, payload), raw);
    } catch (IllegalArgumentException tooLong) {
      return false;
    }
  }

  private static boolean isAscii(String s) {
    return s.chars().allMatch(ch -> ch < 0x80);
  }
}
