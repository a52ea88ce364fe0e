package dev.brook.asyncapi.internal;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.NullNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.math.BigDecimal;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/**
 * Example values made from a JSON Schema, so that a message's example agrees with its payload
 * schema: properties get a value of their type within the declared bounds ({@code minimum},
 * {@code maxLength}, {@code minItems}, ...), enums their first constant, formats a typical value,
 * and a {@code pattern} the first of a few common candidates it matches. A schema that refers to
 * itself stops at the second visit with {@code null}.
 *
 * <p>Not thread-safe; one instance per document.
 */
final class Examples {

  private static final String REF_PREFIX = "#/" + PayloadSchemas.DEFINITIONS_PATH + "/";
  private static final List<String> STRING_CANDIDATES = List.of("string", "example", "ABC", "abc", "Abc1", "A", "a",
      "1", "123", "a1", "A1", "a-1", "2024-05-01", "user@example.com", "https://example.com", "+15551234567");
  private static final int MAX_DEPTH = 12;

  private final ObjectMapper mapper;
  private final JsonNode definitions;
  private final Deque<String> visiting = new ArrayDeque<>();

  Examples(ObjectMapper mapper, JsonNode definitions) {
    this.mapper = mapper;
    this.definitions = definitions;
  }

  /** An example value for the schema, or {@code null} when none can be made (a recursive type, raw bytes). */
  JsonNode of(JsonNode schema) {
    return example(schema, 0);
  }

  private JsonNode example(JsonNode schema, int depth) {
    if (schema == null || !schema.isObject() || depth > MAX_DEPTH) {
      return null;
    }
    if (schema.has("$ref")) {
      String ref = schema.get("$ref").asText();
      if (!ref.startsWith(REF_PREFIX) || visiting.contains(ref)) {
        return null;
      }
      visiting.push(ref);
      try {
        return example(definitions.get(ref.substring(REF_PREFIX.length())), depth + 1);
      } finally {
        visiting.pop();
      }
    }
    for (String fixed : new String[] {"const", "default"}) {
      if (schema.has(fixed)) {
        return schema.get(fixed);
      }
    }
    if (schema.has("examples") && schema.get("examples").isArray() && !schema.get("examples").isEmpty()) {
      return schema.get("examples").get(0);
    }
    if (schema.has("enum") && schema.get("enum").isArray()) {
      for (JsonNode value : schema.get("enum")) {
        if (!value.isNull()) {
          return value;
        }
      }
    }
    for (String choice : new String[] {"anyOf", "oneOf"}) {
      if (schema.has(choice)) {
        for (JsonNode alternative : schema.get(choice)) {
          if (!isNullType(alternative)) {
            JsonNode value = example(alternative, depth + 1);
            if (value != null) {
              return value;
            }
          }
        }
        return NullNode.getInstance();
      }
    }
    if (schema.has("allOf")) {
      ObjectNode merged = mapper.createObjectNode();
      for (JsonNode part : schema.get("allOf")) {
        if (example(part, depth + 1) instanceof ObjectNode object) {
          merged.setAll(object);
        }
      }
      return merged;
    }
    return switch (type(schema)) {
      case "object" -> object(schema, depth);
      case "array" -> array(schema, depth);
      case "string" -> mapper.getNodeFactory().textNode(string(schema));
      case "integer" -> mapper.getNodeFactory().numberNode(number(schema, BigDecimal.ONE).toBigInteger());
      case "number" -> mapper.getNodeFactory().numberNode(number(schema, new BigDecimal("1.5")));
      case "boolean" -> mapper.getNodeFactory().booleanNode(true);
      case "null" -> NullNode.getInstance();
      default -> schema.has("properties") ? object(schema, depth) : null;
    };
  }

  private ObjectNode object(JsonNode schema, int depth) {
    ObjectNode out = mapper.createObjectNode();
    JsonNode properties = schema.get("properties");
    if (properties != null) {
      for (Map.Entry<String, JsonNode> property : properties.properties()) {
        JsonNode value = example(property.getValue(), depth + 1);
        out.set(property.getKey(), value == null ? NullNode.getInstance() : value);
      }
    } else if (schema.get("additionalProperties") instanceof ObjectNode values) {
      JsonNode value = example(values, depth + 1);
      if (value != null) {
        out.set("key", value);
      }
    }
    return out;
  }

  private ArrayNode array(JsonNode schema, int depth) {
    ArrayNode out = mapper.createArrayNode();
    JsonNode item = example(schema.get("items"), depth + 1);
    if (item == null || (item.isNull() && !schema.has("items"))) {
      return out;
    }
    int count = Math.max(1, schema.path("minItems").asInt(1));
    if (schema.has("maxItems")) {
      count = Math.min(count, schema.get("maxItems").asInt());
    }
    for (int i = 0; i < count; i++) {
      out.add(item);
    }
    return out;
  }

  private static String string(JsonNode schema) {
    String value = switch (schema.path("format").asText("")) {
      case "date-time" -> "2024-05-01T12:00:00Z";
      case "date" -> "2024-05-01";
      case "time" -> "12:00:00";
      case "duration" -> "PT30S";
      case "uuid" -> "3fa85f64-5717-4562-b3fc-2c963f66afa6";
      case "email", "idn-email" -> "user@example.com";
      case "uri", "iri", "uri-reference" -> "https://example.com";
      case "hostname" -> "example.com";
      case "ipv4" -> "192.0.2.1";
      case "ipv6" -> "2001:db8::1";
      default -> null;
    };
    if (value == null && schema.has("pattern")) {
      value = matching(schema.get("pattern").asText());
    }
    if (value == null) {
      value = "string";
    }
    int min = schema.path("minLength").asInt(0);
    int max = schema.path("maxLength").asInt(Integer.MAX_VALUE);
    StringBuilder sized = new StringBuilder(value);
    while (sized.length() < min) {
      sized.append('x');
    }
    if (sized.length() > max) {
      sized.setLength(Math.max(max, 0));
    }
    return sized.toString();
  }

  private static String matching(String regex) {
    Pattern pattern;
    try {
      pattern = Pattern.compile(regex);
    } catch (PatternSyntaxException e) {
      return null;
    }
    for (String candidate : STRING_CANDIDATES) {
      if (pattern.matcher(candidate).find()) {
        return candidate;
      }
    }
    return null;
  }

  private static BigDecimal number(JsonNode schema, BigDecimal preferred) {
    BigDecimal value = preferred;
    if (schema.has("minimum") && value.compareTo(schema.get("minimum").decimalValue()) < 0) {
      value = schema.get("minimum").decimalValue();
    }
    if (schema.has("exclusiveMinimum") && schema.get("exclusiveMinimum").isNumber()
        && value.compareTo(schema.get("exclusiveMinimum").decimalValue()) <= 0) {
      value = schema.get("exclusiveMinimum").decimalValue().add(BigDecimal.ONE);
    }
    if (schema.has("maximum") && value.compareTo(schema.get("maximum").decimalValue()) > 0) {
      value = schema.get("maximum").decimalValue();
    }
    if (schema.has("exclusiveMaximum") && schema.get("exclusiveMaximum").isNumber()
        && value.compareTo(schema.get("exclusiveMaximum").decimalValue()) >= 0) {
      value = schema.get("exclusiveMaximum").decimalValue().subtract(BigDecimal.ONE);
    }
    return value;
  }

  /** The schema's type; for {@code ["string", "null"]} the first that is not null. */
  static String type(JsonNode schema) {
    JsonNode type = schema.get("type");
    if (type == null) {
      return "";
    }
    if (type.isArray()) {
      for (JsonNode t : type) {
        if (!"null".equals(t.asText())) {
          return t.asText();
        }
      }
      return "null";
    }
    return type.asText();
  }

  private static boolean isNullType(JsonNode schema) {
    return "null".equals(schema.path("type").asText(null));
  }
}
