package dev.brook.asyncapi.internal;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.brook.Broker;
import dev.brook.Destination;
import dev.brook.Subscription;
import dev.brook.spi.Brokers;
import dev.brook.spi.DestinationDescription;
import dev.brook.spi.ServerDescription;
import java.lang.reflect.Type;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Builds the AsyncAPI 3.0.0 document of what a broker has registered at the moment of the call.
 *
 * <p>What it says about the server and each destination comes from the broker's transport through
 * {@link Brokers#describeServer}, {@link Brokers#describe} and {@link Brokers#describeReplies}
 * ({@link ServerDescription}, {@link DestinationDescription}); this class knows no transport.
 *
 * <ul>
 *   <li>{@code servers.<name>} (for Redis {@code servers.redis}): the server's description, which
 *       holds no secret.
 *   <li>One channel per destination key ({@code channel:orders}, {@code pattern:logs.*}, {@code
 *       list:jobs}, {@code stream:events/g/c1}), keyed {@code <kind>.<address>[.<group>]}, with the
 *       transport's bindings ({@code bindingVersion: custom}, as FastStream writes them) naming the
 *       kind, group and consumer. An address's {@code {name}} parts are channel parameters.
 *   <li>A {@code receive} operation per live subscription (closed ones have left the registry), a
 *       {@code send} operation per destination that subscriptions publish their results to.
 *   <li>A message per payload type under {@code components.messages}, with the JSON Schema of the
 *       type under {@code components.schemas}, the header schema, and an example.
 * </ul>
 *
 * Output is deterministic for the same registrations: subscriptions are taken in id order.
 * Consumer names Brook makes up per process are left out, so documents of two runs compare equal.
 */
final class DocumentBuilder {

  /** The headers Brook writes on every message. */
  static final String CORRELATION_ID = "correlation_id";
  static final String CONTENT_TYPE = "content-type";
  static final String REPLY_TO = "reply_to";
  static final String UNDECLARED = "UndeclaredPayload";
  static final String REPLY_CHANNEL = "reply";

  private final ObjectMapper mapper;
  private final String title;
  private final String version;
  private final String description;

  private final Names channelIds = new Names();
  private final Names operationIds = new Names();
  private final Names messageNames = new Names();
  private final Map<String, ChannelEntry> channels = new LinkedHashMap<>();
  private final Map<String, MessageEntry> messagesByType = new LinkedHashMap<>();
  private final ObjectNode operations;
  private PayloadSchemas schemas;
  private Broker broker;

  DocumentBuilder(ObjectMapper mapper, String title, String version, String description) {
    this.mapper = mapper;
    this.title = title;
    this.version = version;
    this.description = description;
    this.operations = mapper.createObjectNode();
  }

  /** One channel of the document, keyed by destination key while building; the reply channel has no destination. */
  private static final class ChannelEntry {
    final String id;
    final Destination destination;
    final DestinationDescription description;
    final Set<MessageEntry> messages = new LinkedHashSet<>();

    ChannelEntry(String id, Destination destination, DestinationDescription description) {
      this.id = id;
      this.destination = destination;
      this.description = description;
    }
  }

  /** One message of the document: a payload type and its component name. */
  private static final class MessageEntry {
    final String name;
    final Type type;
    final ObjectNode payload;

    MessageEntry(String name, Type type, ObjectNode payload) {
      this.name = name;
      this.type = type;
      this.payload = payload;
    }
  }

  /** The document; call once per builder. */
  ObjectNode build(Broker broker) {
    this.broker = broker;
    schemas = new PayloadSchemas(mapper);
    List<Subscription> subscriptions = new ArrayList<>();
    for (Subscription s : broker.subscriptions()) {
      if (s.state() != Subscription.State.CLOSED) {
        subscriptions.add(s);
      }
    }
    subscriptions.sort(Comparator.comparing(Subscription::id));

    Map<Subscription, ObjectNode> receives = new LinkedHashMap<>();
    for (Subscription s : subscriptions) {
      ChannelEntry channel = channel(s.destination());
      MessageEntry message = message(s.payloadType());
      channel.messages.add(message);
      receives.put(s, receive(s, channel, message));
    }

    // What each handler returns goes to its publishTo destinations and, when a request asks, back
    // to the requester: one send operation per destination, one reply per subscription.
    Map<String, SendEntry> sends = new LinkedHashMap<>();
    for (Subscription s : subscriptions) {
      ResultTypes.Result result = ResultTypes.of(s);
      if (result.known() && !result.replies()) {
        continue;
      }
      // One value goes to every destination: a type declared by the method, else what the
      // subscribers of those destinations expect.
      Set<MessageEntry> results = new LinkedHashSet<>();
      if (result.replies()) {
        results.add(message(result.type()));
      } else {
        s.publishTo().forEach(d -> results.addAll(inferred(d)));
      }
      for (Destination d : s.publishTo()) {
        SendEntry send = sends.computeIfAbsent(d.key(), k -> new SendEntry(d));
        send.publishedBy.add(s.id());
        send.messages.addAll(results);
      }
      if (result.replies() || !s.publishTo().isEmpty()) {
        reply(receives.get(s), results.isEmpty() ? Set.of(undeclared()) : results);
      }
    }
    for (SendEntry send : sends.values()) {
      send(send);
    }

    ObjectNode doc = mapper.createObjectNode();
    doc.put("asyncapi", "3.0.0");
    ObjectNode info = doc.putObject("info");
    info.put("title", title);
    info.put("version", version);
    if (description != null) {
      info.put("description", description);
    }
    doc.put("defaultContentType", "application/json");
    Brokers.describeServer(broker).ifPresent(server -> doc.putObject("servers").set(server.name(), serverNode(server)));
    ObjectNode channelsNode = doc.putObject("channels");
    // Channels by id, which groups them by kind (channel., list., pattern., stream.); replies last.
    channels.values().stream().filter(c -> c.destination != null).sorted(Comparator.comparing(c -> c.id))
        .forEach(c -> channelsNode.set(c.id, channelNode(c)));
    for (ChannelEntry c : channels.values()) {
      if (c.destination == null) {
        channelsNode.set(c.id, channelNode(c));
      }
    }
    doc.set("operations", operations);
    ObjectNode components = doc.putObject("components");
    ObjectNode messages = components.putObject("messages");
    ObjectNode definitions = schemas.definitions();
    anchorPatterns(definitions);
    Examples examples = new Examples(mapper, definitions);
    for (MessageEntry m : messagesByType.values()) {
      anchorPatterns(m.payload);
      messages.set(m.name, messageNode(m, examples));
    }
    if (!definitions.isEmpty()) {
      components.set("schemas", definitions);
    }
    return doc;
  }

  // ------------------------------------------------------------------------------------------ channels

  private DestinationDescription describe(Destination d) {
    return Brokers.describe(broker, d);
  }

  private ChannelEntry channel(Destination d) {
    return channels.computeIfAbsent(d.key(), k -> {
      DestinationDescription description = describe(d);
      StringBuilder id = new StringBuilder(description.kind()).append('.').append(description.address());
      if (description.group() != null) {
        id.append('.').append(description.group());
      }
      return new ChannelEntry(channelIds.unique(id.toString()), d, description);
    });
  }

  private ObjectNode serverNode(ServerDescription server) {
    ObjectNode node = mapper.createObjectNode();
    node.put("host", server.host());
    node.put("protocol", server.protocol());
    if (server.pathname() != null) {
      node.put("pathname", server.pathname());
    }
    node.put("title", server.title());
    node.put("description", server.description());
    return node;
  }

  private ObjectNode channelNode(ChannelEntry c) {
    ObjectNode node = mapper.createObjectNode();
    if (c.destination == null) {
      node.putNull("address");
      node.put("title", "reply");
      node.put("description", "Where replies go: the channel a requester names in the reply_to header "
          + "(Brook's requesters use brook.reply.<random>, one per broker). Known only at run time.");
      ObjectNode messages = node.putObject("messages");
      for (MessageEntry m : c.messages) {
        messages.putObject(m.name).put("$ref", "#/components/messages/" + m.name);
      }
      Brokers.describeReplies(broker).filter(r -> r.bindingsKey() != null).ifPresent(replies ->
          node.putObject("bindings").putObject(replies.bindingsKey()).put("kind", replies.kind()).put("bindingVersion", "custom"));
      return node;
    }
    DestinationDescription d = c.description;
    node.put("address", d.address());
    node.put("title", d.kind() + " " + d.address() + (d.group() != null ? " (group " + d.group() + ")" : ""));
    node.put("description", d.description());
    ObjectNode messages = node.putObject("messages");
    for (MessageEntry m : c.messages) {
      messages.putObject(m.name).put("$ref", "#/components/messages/" + m.name);
    }
    if (!d.parameters().isEmpty()) {
      ObjectNode parameters = node.putObject("parameters");
      for (String param : d.parameters()) {
        parameters.putObject(param).put("description", "The part of the channel name that {" + param
            + "} stands for; the handler reads it with ctx.path(\"" + param + "\").");
      }
    }
    if (d.bindingsKey() != null) {
      node.putObject("bindings").set(d.bindingsKey(), channelBinding(d));
    }
    return node;
  }

  private ObjectNode channelBinding(DestinationDescription d) {
    ObjectNode b = mapper.createObjectNode();
    b.put("kind", d.kind());
    d.binding().forEach((name, value) -> {
      switch (value) {
        case Integer i -> b.put(name, i);
        case Long l -> b.put(name, l);
        case Boolean bool -> b.put(name, bool);
        case Number n -> b.put(name, new java.math.BigDecimal(n.toString()));
        default -> b.put(name, value.toString());
      }
    });
    b.put("bindingVersion", "custom");
    return b;
  }

  /**
   * An operation's bindings under the destination's bindings key, or a detached node (left out of the
   * document) when its transport gives none.
   */
  private ObjectNode operationBinding(ObjectNode op, DestinationDescription d) {
    return d.bindingsKey() != null ? op.putObject("bindings").putObject(d.bindingsKey()) : mapper.createObjectNode();
  }

  // ---------------------------------------------------------------------------------------- operations

  private ObjectNode receive(Subscription s, ChannelEntry channel, MessageEntry message) {
    ObjectNode op = mapper.createObjectNode();
    op.put("action", "receive");
    op.putObject("channel").put("$ref", "#/channels/" + channel.id);
    op.put("title", s.id());
    DestinationDescription d = describe(s.destination());
    int batch = s.batchSize();
    op.put("summary", batch > 1
        ? "Handles batches of up to " + batch + " " + message.name + " messages from " + d.address() + "."
        : "Handles " + message.name + " messages from " + d.address() + ".");
    StringBuilder text = new StringBuilder("Subscription `").append(s.id()).append("`.");
    if (!s.publishTo().isEmpty()) {
      text.append(" Publishes the handler's result to ");
      List<String> keys = new ArrayList<>();
      s.publishTo().forEach(p -> keys.add("`" + p.key() + "`"));
      text.append(String.join(", ", keys)).append('.');
    }
    op.put("description", text.toString());
    op.putArray("messages").addObject().put("$ref", "#/channels/" + channel.id + "/messages/" + message.name);
    ObjectNode binding = operationBinding(op, d);
    binding.put("method", d.receiveMethod());
    if (s.destination().atLeastOnce()) {
      binding.put("ackPolicy", s.ackPolicy().name());
    }
    if (batch > 1) {
      binding.put("maxBatchSize", batch);
    }
    binding.put("bindingVersion", "custom");
    // A default id is the destination's key (pattern:logs.*): the channel's id reads better.
    operations.set(operationIds.unique("receive." + (s.id().equals(s.destination().key()) ? channel.id : s.id())), op);
    return op;
  }

  /** A destination results are published to, who publishes there, and the messages they send. */
  private static final class SendEntry {
    final Destination destination;
    final List<String> publishedBy = new ArrayList<>();
    final Set<MessageEntry> messages = new LinkedHashSet<>();

    SendEntry(Destination destination) {
      this.destination = destination;
    }
  }

  private void send(SendEntry send) {
    Destination d = send.destination;
    DestinationDescription description = describe(d);
    ChannelEntry channel = channel(d);
    channel.messages.addAll(send.messages.isEmpty() ? Set.of(undeclared()) : send.messages);
    ObjectNode op = mapper.createObjectNode();
    op.put("action", "send");
    op.putObject("channel").put("$ref", "#/channels/" + channel.id);
    op.put("title", "publish to " + d.key());
    op.put("summary", "Results published to " + description.address() + ".");
    List<String> names = new ArrayList<>();
    send.publishedBy.forEach(id -> names.add("`" + id + "`"));
    op.put("description", "The return values of the handlers of " + String.join(", ", names) + ".");
    ArrayNode refs = op.putArray("messages");
    for (MessageEntry m : send.messages.isEmpty() ? Set.of(undeclared()) : send.messages) {
      refs.addObject().put("$ref", "#/channels/" + channel.id + "/messages/" + m.name);
    }
    ObjectNode binding = operationBinding(op, description);
    binding.put("method", description.sendMethod());
    binding.put("bindingVersion", "custom");
    operations.set(operationIds.unique("send." + channel.id), op);
  }

  /**
   * The 3.0 reply object: the reply goes to the channel named in the request's {@code reply_to}
   * header, which the document shows as the channel {@code reply} with an unknown (null) address.
   */
  private void reply(ObjectNode receive, Set<MessageEntry> messages) {
    replyChannel().messages.addAll(messages);
    ObjectNode reply = receive.putObject("reply");
    ObjectNode address = reply.putObject("address");
    address.put("description", "The requester's reply channel, named in the request's reply_to header.");
    address.put("location", "$message.header#/" + REPLY_TO);
    reply.putObject("channel").put("$ref", "#/channels/" + REPLY_CHANNEL);
    ArrayNode refs = reply.putArray("messages");
    for (MessageEntry m : messages) {
      refs.addObject().put("$ref", "#/channels/" + REPLY_CHANNEL + "/messages/" + m.name);
    }
  }

  private ChannelEntry replyChannel() {
    return channels.computeIfAbsent(" reply", k -> new ChannelEntry(channelIds.unique(REPLY_CHANNEL), null, null));
  }

  /** Messages that subscriptions reading the same name of the same kind expect: the best guess for a result of undeclared type. */
  private Set<MessageEntry> inferred(Destination d) {
    Set<MessageEntry> known = new LinkedHashSet<>();
    String kind = describe(d).kind();
    for (ChannelEntry c : channels.values()) {
      if (c.destination != null && c.description.kind().equals(kind) && c.destination.name().equals(d.name())) {
        known.addAll(c.messages);
      }
    }
    return known;
  }

  // ------------------------------------------------------------------------------------------ messages

  private MessageEntry message(Type type) {
    return messagesByType.computeIfAbsent(type.getTypeName(),
        k -> new MessageEntry(messageNames.unique(PayloadSchemas.messageName(type)), type, schemas.payload(type)));
  }

  private MessageEntry undeclared() {
    return messagesByType.computeIfAbsent("", k -> {
      ObjectNode payload = mapper.createObjectNode();
      payload.put("description", "The handler's return value as JSON (or text for a String, raw for byte[]); "
          + "Brook does not know its type until a subscription declares it.");
      return new MessageEntry(messageNames.unique(UNDECLARED), null, payload);
    });
  }

  private ObjectNode messageNode(MessageEntry m, Examples examples) {
    ObjectNode node = mapper.createObjectNode();
    node.put("name", m.name);
    node.put("title", m.name);
    String contentType = contentType(m.type);
    if (contentType != null) {
      node.put("contentType", contentType);
    } else if (m.type == byte[].class) {
      node.put("contentType", "application/octet-stream");
    }
    if (m.type != null) {
      node.put("summary", "Payload type " + m.type.getTypeName().replace('$', '.') + ".");
      node.put("x-java-type", m.type.getTypeName());
    } else {
      node.put("summary", "Not declared to Brook.");
    }
    node.set("headers", headers(contentType));
    ObjectNode correlation = node.putObject("correlationId");
    correlation.put("description", "Brook copies the correlation id of a request to its reply and to what a handler publishes.");
    correlation.put("location", "$message.header#/" + CORRELATION_ID);
    node.set("payload", m.payload);
    ObjectNode example = mapper.createObjectNode();
    example.put("name", m.name + "Example");
    ObjectNode headers = example.putObject("headers");
    headers.put(CORRELATION_ID, "0b6f5c1e-8a2d-4c4e-9f1a-2d3c4b5a6e7f");
    if (contentType != null) {
      headers.put(CONTENT_TYPE, contentType);
    }
    JsonNode payload = m.type == byte[].class ? null : examples.of(m.payload);
    if (payload != null && !(m.type == null && payload.isObject() && payload.isEmpty())) {
      example.set("payload", payload);
    }
    node.putArray("examples").add(example);
    return node;
  }

  /** What Brook's codec writes: nothing for raw bytes, text/plain for String, JSON for the rest. */
  private static String contentType(Type type) {
    if (type == byte[].class) {
      return null;
    }
    if (type == String.class) {
      return "text/plain";
    }
    return "application/json";
  }

  private ObjectNode headers(String contentType) {
    ObjectNode schema = mapper.createObjectNode();
    schema.put("type", "object");
    ObjectNode properties = schema.putObject("properties");
    ObjectNode correlation = properties.putObject(CORRELATION_ID);
    correlation.put("type", "string");
    correlation.put("description", "Correlates the message with its replies; Brook sets a random UUID when the sender gives none.");
    ObjectNode type = properties.putObject(CONTENT_TYPE);
    type.put("type", "string");
    if (contentType != null) {
      type.putArray("enum").add(contentType);
    }
    type.put("description", "How the payload is encoded; absent for raw bytes.");
    ObjectNode reply = properties.putObject(REPLY_TO);
    reply.put("type", "string");
    reply.put("description", "Where the handler's reply goes (request/reply); set by the requester.");
    schema.putObject("additionalProperties").put("type", "string");
    return schema;
  }

  /**
   * Jakarta's {@code @Pattern} must match the whole value; a JSON Schema {@code pattern} matches
   * anywhere. Anchoring keeps the meaning.
   */
  private static void anchorPatterns(JsonNode node) {
    if (node instanceof ObjectNode object) {
      JsonNode pattern = object.get("pattern");
      if (pattern != null && pattern.isTextual()) {
        String p = pattern.asText();
        if (!(p.startsWith("^") && p.endsWith("$"))) {
          object.put("pattern", "^(?:" + p + ")$");
        }
      }
      for (JsonNode child : object) {
        anchorPatterns(child);
      }
    } else if (node instanceof ArrayNode array) {
      for (JsonNode child : array) {
        anchorPatterns(child);
      }
    }
  }
}
