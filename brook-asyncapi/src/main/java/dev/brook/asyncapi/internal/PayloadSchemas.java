package dev.brook.asyncapi.internal;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.classmate.ResolvedType;
import com.github.victools.jsonschema.generator.CustomDefinition;
import com.github.victools.jsonschema.generator.FieldScope;
import com.github.victools.jsonschema.generator.SchemaGenerationContext;
import com.github.victools.jsonschema.generator.Option;
import com.github.victools.jsonschema.generator.OptionPreset;
import com.github.victools.jsonschema.generator.SchemaBuilder;
import com.github.victools.jsonschema.generator.SchemaGenerator;
import com.github.victools.jsonschema.generator.SchemaGeneratorConfigBuilder;
import com.github.victools.jsonschema.generator.SchemaVersion;
import com.github.victools.jsonschema.module.jackson.JacksonModule;
import com.github.victools.jsonschema.module.jackson.JacksonOption;
import java.lang.reflect.ParameterizedType;
import java.lang.reflect.Type;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * JSON Schemas of payload types, for one document: every type goes through one victools {@link
 * SchemaBuilder}, so a record used by two messages is defined once under {@code
 * #/components/schemas}.
 *
 * <p>What the schemas say, and why:
 *
 * <ul>
 *   <li>{@code String} payloads travel as text and {@code byte[]} raw (see Brook's codec), so they
 *       are a string and a binary string, not JSON.
 *   <li>Records, POJOs, enums, collections, maps and {@code Optional} as Jackson writes them (the
 *       Jackson module honours {@code @JsonProperty}, {@code @JsonIgnore} and descriptions).
 *   <li>A field of a reference type may be {@code null} (Jackson writes nulls), unless a constraint
 *       forbids it; primitives and {@code @NotNull} fields are required.
 *   <li>Jakarta Validation constraints ({@code @NotNull}, {@code @NotBlank}, {@code @Size}, {@code
 *       @Min}, {@code @Max}, {@code @Pattern}, {@code @Email}, ...) become JSON Schema keywords when
 *       {@code jakarta.validation-api} is on the classpath.
 * </ul>
 *
 * Not thread-safe: one instance per document, used by one thread.
 */
final class PayloadSchemas {

  static final String DEFINITIONS_PATH = "components/schemas";
  private static final String JAKARTA_NOT_NULL = "jakarta.validation.constraints.NotNull";

  private final ObjectMapper mapper;
  private final SchemaBuilder builder;
  private final Map<String, ObjectNode> references = new LinkedHashMap<>();
  private ObjectNode definitions;

  PayloadSchemas(ObjectMapper mapper) {
    this.mapper = mapper;
    SchemaGeneratorConfigBuilder config = new SchemaGeneratorConfigBuilder(mapper, SchemaVersion.DRAFT_7, OptionPreset.PLAIN_JSON)
        .with(Option.DEFINITIONS_FOR_ALL_OBJECTS, Option.PLAIN_DEFINITION_KEYS, Option.NULLABLE_FIELDS_BY_DEFAULT,
            Option.STANDARD_FORMATS, Option.FLATTENED_OPTIONALS, Option.INLINE_NULLABLE_SCHEMAS)
        .without(Option.SCHEMA_VERSION_INDICATOR)
        .with(new JacksonModule(JacksonOption.RESPECT_JSONPROPERTY_REQUIRED, JacksonOption.FLATTENED_ENUMS_FROM_JSONVALUE,
            JacksonOption.RESPECT_JSONPROPERTY_ORDER));
    if (jakartaValidationPresent()) {
      JakartaConstraints.apply(config);
    }
    // Fields in declaration order, as Jackson writes a record's components.
    config.forTypesInGeneral().withPropertySorter((a, b) -> 0);
    // A map is a JSON object with values of one type, written in place rather than as a named schema.
    config.forTypesInGeneral().withCustomDefinitionProvider(PayloadSchemas::inlineMapsAndAny);
    // Jackson always writes a primitive; Brook's mapper refuses null for one.
    config.forFields().withRequiredCheck(PayloadSchemas::isPrimitive);
    config.forFields().withNullableCheck(field -> isPrimitive(field) ? Boolean.FALSE : null);
    SchemaGenerator generator = new SchemaGenerator(config.build());
    this.builder = generator.buildMultipleSchemaDefinitions();
  }

  private static CustomDefinition inlineMapsAndAny(ResolvedType type, SchemaGenerationContext context) {
    Class<?> raw = type.getErasedType();
    if (raw == Object.class || JsonNode.class.isAssignableFrom(raw)) {
      return new CustomDefinition(context.getGeneratorConfig().createObjectNode(), CustomDefinition.DefinitionType.INLINE,
          CustomDefinition.AttributeInclusion.YES);
    }
    if (!Map.class.isAssignableFrom(raw)) {
      return null;
    }
    ObjectNode map = context.getGeneratorConfig().createObjectNode();
    map.put("type", "object");
    ResolvedType values = context.getTypeContext().getTypeParameterFor(type, Map.class, 1);
    if (values != null && values.getErasedType() != Object.class) {
      map.set("additionalProperties", context.createDefinitionReference(values));
    }
    return new CustomDefinition(map, CustomDefinition.DefinitionType.INLINE, CustomDefinition.AttributeInclusion.YES);
  }

  private static boolean isPrimitive(FieldScope field) {
    return field.getType() != null && field.getType().getErasedType().isPrimitive();
  }

  private static boolean jakartaValidationPresent() {
    try {
      Class.forName(JAKARTA_NOT_NULL, false, PayloadSchemas.class.getClassLoader());
      return true;
    } catch (ClassNotFoundException | LinkageError e) {
      return false;
    }
  }

  /**
   * The payload schema for a declared type, as it will appear in a message: inline for text, bytes
   * and simple values, a {@code $ref} into {@code #/components/schemas} for objects. The returned
   * node is completed by {@link #definitions()}; call that once, after the last payload.
   */
  ObjectNode payload(Type type) {
    if (type == String.class) {
      ObjectNode text = mapper.createObjectNode();
      text.put("type", "string");
      text.put("description", "UTF-8 text (content-type text/plain).");
      return text;
    }
    if (type == byte[].class) {
      ObjectNode raw = mapper.createObjectNode();
      raw.put("type", "string");
      raw.put("format", "binary");
      raw.put("description", "Raw bytes, sent as they are (no content-type).");
      return raw;
    }
    if (type == Object.class || isJsonNode(type)) {
      ObjectNode any = mapper.createObjectNode();
      any.put("description", "Any JSON value.");
      return any;
    }
    return references.computeIfAbsent(type.getTypeName(), k -> builder.createSchemaReference(type));
  }

  private static boolean isJsonNode(Type type) {
    return type instanceof Class<?> c && JsonNode.class.isAssignableFrom(c);
  }

  /** Every object schema referenced by a payload, keyed by its name under {@code #/components/schemas}. */
  ObjectNode definitions() {
    if (definitions == null) {
      definitions = builder.collectDefinitions(DEFINITIONS_PATH);
    }
    return definitions;
  }

  /** A short, readable name for a payload type: {@code Order}, {@code List_Order}, {@code Text}, {@code Bytes}. */
  static String messageName(Type type) {
    if (type == String.class) {
      return "Text";
    }
    if (type == byte[].class) {
      return "Bytes";
    }
    if (type instanceof Class<?> c) {
      if (c.isArray()) {
        return messageName(c.getComponentType()) + "Array";
      }
      return c.getSimpleName().isEmpty() ? "Payload" : c.getSimpleName();
    }
    if (type instanceof ParameterizedType p) {
      StringBuilder name = new StringBuilder(messageName(p.getRawType()));
      for (Type arg : p.getActualTypeArguments()) {
        name.append('_').append(messageName(arg));
      }
      return name.toString();
    }
    return Names.sanitize(type.getTypeName());
  }

  /** Kept apart so that nothing loads a jakarta class when the API is missing. */
  private static final class JakartaConstraints {
    static void apply(SchemaGeneratorConfigBuilder config) {
      config.with(new com.github.victools.jsonschema.module.jakarta.validation.JakartaValidationModule(
          com.github.victools.jsonschema.module.jakarta.validation.JakartaValidationOption.NOT_NULLABLE_FIELD_IS_REQUIRED,
          com.github.victools.jsonschema.module.jakarta.validation.JakartaValidationOption.INCLUDE_PATTERN_EXPRESSIONS));
    }
  }
}
