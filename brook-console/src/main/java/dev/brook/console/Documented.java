package dev.brook.console;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.networknt.schema.Error;
import com.networknt.schema.Schema;
import com.networknt.schema.SchemaRegistry;
import com.networknt.schema.SpecificationVersion;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The destinations an AsyncAPI 3.0 document describes (as {@code brook-asyncapi} writes it: a
 * channel's {@code address} and its {@code bindings.redis.kind}) and the JSON Schema of each of their
 * messages' payloads, to check a payload before the console publishes it. Validation is networknt
 * json-schema-validator's (draft 7, which AsyncAPI 3.0 schemas extend); a payload schema's {@code
 * $ref}s into {@code #/components/...} resolve against the document. Immutable, thread-safe.
 */
final class Documented {

  private static final ObjectMapper JSON = new ObjectMapper();

  /** One documented message of a destination: its name, content type and compiled payload schema (null: none). */
  record Message(String name, String contentType, Schema schema) {}

  /** Messages by {@code kind:address}. */
  private final Map<String, List<Message>> byDestination;

  private Documented(Map<String, List<Message>> byDestination) {
    this.byDestination = byDestination;
  }

  static final Documented NONE = new Documented(Map.of());

  /**
   * Reads AsyncAPI documents (JSON), one per service; a destination two of them describe takes the
   * messages of both.
   *
   * @throws IllegalArgumentException when one is not JSON or not an AsyncAPI 3 document
   */
  static Documented parse(List<String> documents) {
    SchemaRegistry registry = SchemaRegistry.withDefaultDialect(SpecificationVersion.DRAFT_7);
    Map<String, List<Message>> out = new LinkedHashMap<>();
    for (String document : documents) {
      read(registry, document, out);
    }
    out.values().removeIf(List::isEmpty);
    return new Documented(Map.copyOf(out));
  }

  private static void read(SchemaRegistry registry, String document, Map<String, List<Message>> out) {
    JsonNode doc;
    try {
      doc = JSON.readTree(document);
    } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
      throw new IllegalArgumentException("The AsyncAPI document is not JSON: " + e.getOriginalMessage()
          + ". Give the JSON that 'brook docs gen' or AsyncApi.toJson() writes.");
    }
    if (doc == null || !doc.path("asyncapi").asText("").startsWith("3.")) {
      throw new IllegalArgumentException("Not an AsyncAPI 3 document (its 'asyncapi' field is '"
          + (doc == null ? "" : doc.path("asyncapi").asText("")) + "'): give the JSON that 'brook docs gen' or "
          + "AsyncApi.toJson() writes.");
    }
    Map<String, Message> compiled = new LinkedHashMap<>();
    for (var channels = doc.path("channels").properties().iterator(); channels.hasNext(); ) {
      JsonNode channel = channels.next().getValue();
      String address = channel.path("address").asText(null);
      String kind = channel.path("bindings").path("redis").path("kind").asText(null);
      if (address == null || kind == null) {
        continue; // the reply channel (a null address), or a channel of another transport
      }
      List<Message> messages = out.computeIfAbsent(kind + ":" + address, k -> new ArrayList<>());
      for (var ms = channel.path("messages").properties().iterator(); ms.hasNext(); ) {
        var m = ms.next();
        JsonNode message = resolve(doc, m.getValue());
        String name = message.path("name").asText(m.getKey());
        Message compiledMessage = compiled.computeIfAbsent(name + "@" + m.getValue().path("$ref").asText(),
            k -> compile(registry, doc, name, message));
        if (messages.stream().noneMatch(x -> x.name().equals(compiledMessage.name()))) {
          messages.add(compiledMessage);
        }
      }
    }
  }

  private static Message compile(SchemaRegistry registry, JsonNode doc, String name, JsonNode message) {
    String contentType = message.path("contentType").asText(doc.path("defaultContentType").asText("application/json"));
    JsonNode payload = message.get("payload");
    if (payload == null || !contentType.contains("json")) {
      return new Message(name, contentType, null);
    }
    // The payload schema as the root, with the document's component schemas as its draft-7
    // "definitions" and its "#/components/schemas/X" references pointed there, so they resolve.
    ObjectNode root = payload.isObject() ? ((ObjectNode) payload).deepCopy() : JSON.createObjectNode();
    JsonNode schemas = doc.path("components").path("schemas");
    if (schemas.isObject()) {
      root.set("definitions", schemas.deepCopy());
    }
    rewriteRefs(root);
    return new Message(name, contentType, registry.getSchema(root));
  }

  private static final String COMPONENT_SCHEMAS = "#/components/schemas/";

  private static void rewriteRefs(JsonNode node) {
    if (node instanceof ObjectNode o) {
      JsonNode ref = o.get("$ref");
      if (ref != null && ref.isTextual() && ref.asText().startsWith(COMPONENT_SCHEMAS)) {
        o.put("$ref", "#/definitions/" + ref.asText().substring(COMPONENT_SCHEMAS.length()));
      }
    }
    node.forEach(Documented::rewriteRefs);
  }

  /** A {@code {"$ref": "#/..."}} object followed into the document (one level; Brook writes no chains). */
  private static JsonNode resolve(JsonNode doc, JsonNode node) {
    String ref = node.path("$ref").asText(null);
    if (ref == null || !ref.startsWith("#/")) {
      return node;
    }
    JsonNode target = doc.at(ref.substring(1));
    return target.isMissingNode() ? node : resolve(doc, target);
  }

  /** The documented messages of this destination, empty when the document does not describe it. */
  List<Message> messages(String kind, String destination) {
    return byDestination.getOrDefault(kind + ":" + destination, List.of());
  }

  /**
   * Checks a payload against the destination's documented messages: fine when the destination is
   * not documented, when one message has no JSON schema (text, bytes) or when the payload matches
   * one of them.
   *
   * @throws IllegalArgumentException naming each failing field otherwise
   */
  void check(String kind, String destination, String payload) {
    List<Message> messages = messages(kind, destination);
    if (messages.isEmpty() || messages.stream().anyMatch(m -> m.schema() == null)) {
      return;
    }
    JsonNode value;
    try {
      value = JSON.readTree(payload);
    } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
      throw new IllegalArgumentException("The payload is not JSON, but " + kind + " '" + destination
          + "' takes " + names(messages) + " (JSON, per the AsyncAPI document): " + e.getOriginalMessage());
    }
    List<String> problems = new ArrayList<>();
    for (Message m : messages) {
      List<Error> errors = m.schema().validate(value);
      if (errors.isEmpty()) {
        return;
      }
      for (Error e : errors) {
        problems.add((messages.size() > 1 ? m.name() + ": " : "") + describe(e));
      }
    }
    throw new IllegalArgumentException("The payload does not match the AsyncAPI schema of " + names(messages) + " for "
        + kind + " '" + destination + "': " + String.join("; ", problems) + ".");
  }

  /**
   * "field 'quantity' (at /quantity): string found, integer expected" — the failing field as a dotted
   * path ({@code lines.0.sku}); for a missing required property, the property under its parent.
   */
  private static String describe(Error e) {
    String location = String.valueOf(e.getInstanceLocation());
    String field = path(location);
    if ("required".equals(e.getKeyword()) && e.getProperty() != null) {
      field = field == null ? e.getProperty() : field + "." + e.getProperty();
    }
    return (field != null ? "field '" + field + "' " : "the payload ") + "(at " + (location.isEmpty() ? "/" : location)
        + "): " + e.getMessage();
  }

  /** A JSON pointer ({@code /lines/0/sku}, or {@code $.lines[0].sku}) as {@code lines.0.sku}; null for the root. */
  private static String path(String location) {
    String p = location.startsWith("$") ? location.substring(1).replaceAll("\\[(\\d+)]", ".$1").replace('.', '/') : location;
    List<String> parts = new ArrayList<>();
    for (String part : p.split("/")) {
      if (!part.isEmpty()) {
        parts.add(part.replace("~1", "/").replace("~0", "~"));
      }
    }
    return parts.isEmpty() ? null : String.join(".", parts);
  }

  private static String names(List<Message> messages) {
    return messages.size() == 1 ? "message " + messages.getFirst().name()
        : "one of the messages " + String.join(", ", messages.stream().map(Message::name).toList());
  }
}
