package dev.brook.asyncapi;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import com.networknt.schema.Error;
import com.networknt.schema.Schema;
import com.networknt.schema.SchemaRegistry;
import com.networknt.schema.SpecificationVersion;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The official AsyncAPI 3.0.0 JSON Schema (from the npm package {@code @asyncapi/specs}; see
 * {@code src/test/resources/asyncapi/README.md}) and the checks every generated document must pass:
 * the schema accepts it, and every local {@code $ref} in it leads somewhere (the schema cannot
 * check that). Shared with brook-cli's tests through this module's test jar.
 */
public final class OfficialSchema {

  public static final String RESOURCE = "/asyncapi/asyncapi-3.0.0.schema.json";
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final YAMLMapper YAML = new YAMLMapper();
  private static final Schema SCHEMA = load();

  private OfficialSchema() {}

  private static Schema load() {
    try (InputStream in = OfficialSchema.class.getResourceAsStream(RESOURCE)) {
      if (in == null) {
        throw new IllegalStateException(RESOURCE + " is missing from the test classpath");
      }
      JsonNode schema = JSON.readTree(in);
      return SchemaRegistry.withDefaultDialect(SpecificationVersion.DRAFT_7).getSchema(schema);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Everything wrong with the document: schema violations, then unresolved references; empty when valid. */
  public static List<String> problems(JsonNode document) {
    List<String> problems = new ArrayList<>();
    for (Error e : SCHEMA.validate(document)) {
      problems.add("schema: " + e);
    }
    checkRefs(document, document, "", problems);
    return problems;
  }

  /** Parses JSON, checks it and returns it; throws an AssertionError listing every problem. */
  public static JsonNode assertValidJson(String json) {
    try {
      return assertValid(JSON.readTree(json), json);
    } catch (IOException e) {
      throw new AssertionError("Not JSON: " + e.getMessage() + "\n" + json, e);
    }
  }

  /** Parses YAML, checks it and returns it as a tree. */
  public static JsonNode assertValidYaml(String yaml) {
    try {
      return assertValid(YAML.readTree(yaml), yaml);
    } catch (IOException e) {
      throw new AssertionError("Not YAML: " + e.getMessage() + "\n" + yaml, e);
    }
  }

  private static JsonNode assertValid(JsonNode document, String text) {
    List<String> problems = problems(document);
    if (!problems.isEmpty()) {
      throw new AssertionError("The official AsyncAPI 3.0.0 schema (or a $ref check) rejects the document:\n  "
          + String.join("\n  ", problems) + "\n--- document ---\n" + text);
    }
    return document;
  }

  private static void checkRefs(JsonNode root, JsonNode node, String path, List<String> problems) {
    if (node.isObject()) {
      JsonNode ref = node.get("$ref");
      if (ref != null && ref.isTextual()) {
        String target = ref.asText();
        if (!target.startsWith("#/") || root.at(target.substring(1)).isMissingNode()) {
          problems.add("unresolved $ref " + target + " at " + path);
        }
      }
      for (Map.Entry<String, JsonNode> e : node.properties()) {
        checkRefs(root, e.getValue(), path + "/" + e.getKey(), problems);
      }
    } else if (node.isArray()) {
      for (int i = 0; i < node.size(); i++) {
        checkRefs(root, node.get(i), path + "/" + i, problems);
      }
    }
  }
}
