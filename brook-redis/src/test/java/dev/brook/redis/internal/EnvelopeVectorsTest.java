package dev.brook.redis.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.DynamicTest.dynamicTest;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.brook.internal.Frame;
import java.io.IOException;
import java.io.InputStream;
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
 * The byte-exact cases in {@code vectors/envelope.json} (a verbatim copy of the shared file that
 * was checked against FastStream's parser and encoder).
 */
class EnvelopeVectorsTest {

  private static final int EXPECTED_CASES = 9;

  @TestFactory
  Stream<DynamicTest> vectors() throws IOException {
    JsonNode root;
    try (InputStream in =
        EnvelopeVectorsTest.class.getClassLoader().getResourceAsStream("vectors/envelope.json")) {
      assertThat(in).as("vectors/envelope.json on the test classpath").isNotNull();
      root = new ObjectMapper().readTree(in);
    }
    List<JsonNode> cases = new ArrayList<>();
    root.required("cases").forEach(cases::add);
    assertThat(cases).as("cases in vectors/envelope.json").hasSize(EXPECTED_CASES);
    assertThat(cases.stream().map(c -> c.required("name").asText()).distinct())
        .as("case names are unique")
        .hasSize(EXPECTED_CASES);

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

  private static void checkEnvelope(JsonNode c) {
    Map<String, String> headers = new LinkedHashMap<>();
    for (JsonNode pair : c.required("headers")) {
      assertThat(pair.size()).as("header pair %s", pair).isEqualTo(2);
      headers.put(pair.get(0).asText(), pair.get(1).asText());
    }
    byte[] payload = Base64.getDecoder().decode(c.required("payload_base64").asText());
    String hex = c.required("encoded_hex").asText();

    byte[] encoded = Envelope.encode(headers, payload);
    assertThat(HexFormat.of().formatHex(encoded)).isEqualTo(hex);

    byte[] wire = HexFormat.of().parseHex(hex);
    assertThat(Envelope.isEnvelope(wire)).isTrue();
    Frame frame = Envelope.decode(wire);
    assertThat(frame.headers()).containsExactlyEntriesOf(headers);
    assertThat(frame.payload()).isEqualTo(payload);
  }

  private static void checkDecode(JsonNode c) {
    byte[] raw = Base64.getDecoder().decode(c.required("raw_base64").asText());
    Map<String, String> expectHeaders = new LinkedHashMap<>();
    c.required("expect_headers")
        .properties()
        .forEach(e -> expectHeaders.put(e.getKey(), e.getValue().asText()));
    byte[] expectPayload =
        Base64.getDecoder().decode(c.required("expect_payload_base64").asText());

    Frame frame = Envelope.decode(raw);
    assertThat(frame.headers()).containsExactlyEntriesOf(expectHeaders);
    assertThat(frame.payload()).isEqualTo(expectPayload);
  }
}
