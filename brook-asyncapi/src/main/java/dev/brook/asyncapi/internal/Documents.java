package dev.brook.asyncapi.internal;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.util.DefaultIndenter;
import com.fasterxml.jackson.core.util.DefaultPrettyPrinter;
import com.fasterxml.jackson.core.util.Separators;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.ObjectWriter;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLGenerator;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import dev.brook.Broker;
import java.io.UncheckedIOException;

/**
 * Entry points of the machinery behind {@code AsyncApi}, also used by the CLI: build a document,
 * write it as JSON, YAML or HTML, and read one back. Stateless and thread-safe (the mappers are).
 */
public final class Documents {

  private static final ObjectMapper JSON = JsonMapper.builder().build();
  private static final ObjectWriter PRETTY = JSON.writer(new DefaultPrettyPrinter()
      .withArrayIndenter(DefaultIndenter.SYSTEM_LINEFEED_INSTANCE)
      .withSeparators(Separators.createDefaultInstance().withObjectFieldValueSpacing(Separators.Spacing.AFTER)));
  private static final YAMLMapper YAML = YAMLMapper.builder()
      .disable(YAMLGenerator.Feature.WRITE_DOC_START_MARKER)
      .disable(YAMLGenerator.Feature.SPLIT_LINES)
      .enable(YAMLGenerator.Feature.MINIMIZE_QUOTES)
      .enable(YAMLGenerator.Feature.ALWAYS_QUOTE_NUMBERS_AS_STRINGS)
      .build();

  private Documents() {}

  /** The AsyncAPI document of what the broker has registered now. */
  public static JsonNode build(Broker broker, String title, String version, String description) {
    return new DocumentBuilder(JSON, title, version, description).build(broker);
  }

  public static String toJson(JsonNode document) {
    try {
      return PRETTY.writeValueAsString(document) + "\n";
    } catch (JsonProcessingException e) {
      throw new UncheckedIOException(e);
    }
  }

  public static String toYaml(JsonNode document) {
    try {
      return YAML.writeValueAsString(document);
    } catch (JsonProcessingException e) {
      throw new UncheckedIOException(e);
    }
  }

  public static String toHtml(JsonNode document) {
    return new HtmlPage(document, toJson(document)).render();
  }

  /**
   * Reads an AsyncAPI document written as JSON or YAML (JSON is YAML, so YAML's reader takes both).
   *
   * @throws IllegalArgumentException naming what is wrong when the text is neither or not an AsyncAPI 3 document
   */
  public static JsonNode parse(String text, String source) {
    JsonNode node;
    try {
      node = text.stripLeading().startsWith("{") ? JSON.readTree(text) : YAML.readTree(text);
    } catch (JsonProcessingException e) {
      throw new IllegalArgumentException(source + " is not JSON or YAML: " + e.getOriginalMessage()
          + ". Pass an AsyncAPI document written by 'brook docs gen'.", e);
    }
    if (node == null || !node.isObject() || !node.path("asyncapi").asText("").startsWith("3.")) {
      throw new IllegalArgumentException(source + " is not an AsyncAPI 3 document (it has no \"asyncapi\": \"3.x\" field). "
          + "Pass a document written by 'brook docs gen'.");
    }
    return node;
  }
}
