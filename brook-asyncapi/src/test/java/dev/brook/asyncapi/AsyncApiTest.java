package dev.brook.asyncapi;

import static dev.brook.redis.Redis.channel;
import static dev.brook.redis.Redis.list;
import static dev.brook.redis.Redis.pattern;
import static dev.brook.redis.Redis.stream;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.networknt.schema.SchemaRegistry;
import com.networknt.schema.SpecificationVersion;
import dev.brook.asyncapi.Payloads.Event;
import dev.brook.asyncapi.Payloads.Job;
import dev.brook.asyncapi.Payloads.Order;
import dev.brook.asyncapi.Payloads.Receipt;
import dev.brook.asyncapi.Payloads.TreeNode;
import dev.brook.Publish;
import dev.brook.Subscribe;
import dev.brook.redis.RedisBroker;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Documents of brokers with every kind of registration; each is checked against the official
 * AsyncAPI 3.0.0 schema (plus a $ref check) before anything else is asserted. The brokers are never
 * started: describing a broker sends nothing to Redis.
 */
class AsyncApiTest {

  private final List<RedisBroker> brokers = new ArrayList<>();

  @AfterEach
  void closeBrokers() {
    brokers.forEach(RedisBroker::close);
  }

  private RedisBroker broker() {
    return broker("redis://127.0.0.1:6399");
  }

  private RedisBroker broker(String url) {
    RedisBroker b = RedisBroker.create(url);
    brokers.add(b);
    return b;
  }

  private static JsonNode json(RedisBroker broker) {
    return OfficialSchema.assertValidJson(AsyncApi.of(broker).toJson());
  }

  @Test
  void channel_subscription_isChannelReceiveOperationAndMessage() {
    RedisBroker broker = broker();
    broker.subscriber(channel("orders")).handle(Order.class, (o, ctx) -> null);

    JsonNode doc = json(broker);

    assertThat(doc.path("asyncapi").asText()).isEqualTo("3.0.0");
    assertThat(doc.at("/info/title").asText()).isEqualTo("Brook service");
    JsonNode ch = doc.at("/channels/channel.orders");
    assertThat(ch.path("address").asText()).isEqualTo("orders");
    assertThat(ch.at("/messages/Order/$ref").asText()).isEqualTo("#/components/messages/Order");
    assertThat(ch.at("/bindings/redis/kind").asText()).isEqualTo("channel");
    JsonNode op = doc.at("/operations/receive.channel.orders");
    assertThat(op.path("action").asText()).isEqualTo("receive");
    assertThat(op.at("/channel/$ref").asText()).isEqualTo("#/channels/channel.orders");
    assertThat(op.at("/messages/0/$ref").asText()).isEqualTo("#/channels/channel.orders/messages/Order");
    assertThat(op.path("title").asText()).isEqualTo("channel:orders");
    assertThat(op.at("/bindings/redis/method").asText()).isEqualTo("subscribe");
    JsonNode message = doc.at("/components/messages/Order");
    assertThat(message.path("contentType").asText()).isEqualTo("application/json");
    assertThat(message.at("/payload/$ref").asText()).isEqualTo("#/components/schemas/Order");
    assertThat(message.at("/headers/properties").properties()).extracting(Map.Entry::getKey)
        .containsExactly("correlation_id", "content-type", "reply_to");
    assertThat(message.at("/correlationId/location").asText()).isEqualTo("$message.header#/correlation_id");
    assertThat(message.at("/examples/0/payload/currency").asText()).isEqualTo("ABC");
  }

  @Test
  void pattern_withParts_isChannelAddressWithParameters() {
    RedisBroker broker = broker();
    broker.subscriber(pattern("logs.{service}.{level}")).handle(String.class, (line, ctx) -> null);
    broker.subscriber(pattern("audit.*")).handle(String.class, (line, ctx) -> null);

    JsonNode doc = json(broker);

    JsonNode logs = doc.at("/channels/pattern.logs.service.level");
    assertThat(logs.path("address").asText()).isEqualTo("logs.{service}.{level}");
    assertThat(logs.path("parameters").properties()).extracting(Map.Entry::getKey).containsExactly("service", "level");
    assertThat(logs.at("/parameters/level/description").asText()).contains("ctx.path(\"level\")");
    assertThat(logs.at("/bindings/redis/pattern").asText()).isEqualTo("logs.*.*");
    assertThat(doc.at("/operations/receive.pattern.logs.service.level/bindings/redis/method").asText()).isEqualTo("psubscribe");
    JsonNode audit = doc.at("/channels/pattern.audit._");
    assertThat(audit.path("address").asText()).isEqualTo("audit.*");
    assertThat(audit.has("parameters")).isFalse();
    JsonNode text = doc.at("/components/messages/Text");
    assertThat(text.path("contentType").asText()).isEqualTo("text/plain");
    assertThat(text.at("/payload/type").asText()).isEqualTo("string");
    assertThat(text.at("/examples/0/payload").asText()).isEqualTo("string");
  }

  @Test
  void list_isListChannelWithDeliveryAndDeadLetter() {
    RedisBroker broker = broker();
    broker.subscriber(list("jobs").deadLetter().consumer("worker-1")).handle(Job.class, (job, ctx) -> null);
    broker.subscriber(list("fire-and-forget").atMostOnce()).handle(Job.class, (job, ctx) -> null);

    JsonNode doc = json(broker);

    JsonNode jobs = doc.at("/channels/list.jobs/bindings/redis");
    assertThat(jobs.path("kind").asText()).isEqualTo("list");
    assertThat(jobs.path("delivery").asText()).isEqualTo("at-least-once");
    assertThat(jobs.path("consumerName").asText()).isEqualTo("worker-1");
    assertThat(jobs.path("deadLetter").asText()).isEqualTo("{jobs}:dlq");
    assertThat(doc.at("/operations/receive.list.jobs/bindings/redis/method").asText()).isEqualTo("blmove");
    assertThat(doc.at("/operations/receive.list.jobs/bindings/redis/ackPolicy").asText()).isEqualTo("REJECT_ON_ERROR");
    assertThat(doc.at("/channels/list.fire-and-forget/bindings/redis/delivery").asText()).isEqualTo("at-most-once");
    assertThat(doc.at("/operations/receive.list.fire-and-forget/bindings/redis/method").asText()).isEqualTo("blpop");
    assertThat(doc.at("/operations/receive.list.fire-and-forget/bindings/redis").has("ackPolicy")).isFalse();
  }

  @Test
  void stream_withGroup_namesGroupAndConsumer_andLeavesOutTheProcessDefaultConsumer() {
    RedisBroker broker = broker();
    broker.subscriber(stream("events").group("billing").consumer("c1")).handle(Event.class, (e, ctx) -> null);
    broker.subscriber(stream("events").group("audit")).handle(Event.class, (e, ctx) -> null);
    broker.subscriber(stream("clicks")).handle(Event.class, (e, ctx) -> null);

    JsonNode doc = json(broker);

    JsonNode billing = doc.at("/channels/stream.events.billing");
    assertThat(billing.path("address").asText()).isEqualTo("events");
    assertThat(billing.at("/bindings/redis/groupName").asText()).isEqualTo("billing");
    assertThat(billing.at("/bindings/redis/consumerName").asText()).isEqualTo("c1");
    assertThat(billing.at("/bindings/redis/deadLetter").asText()).isEqualTo("{events}:dlq");
    assertThat(doc.at("/channels/stream.events.audit/bindings/redis/groupName").asText()).isEqualTo("audit");
    assertThat(doc.at("/channels/stream.events.audit/bindings/redis").has("consumerName"))
        .as("a consumer name made up per process would make every run's document differ").isFalse();
    assertThat(doc.at("/channels/stream.clicks/bindings/redis/delivery").asText()).isEqualTo("at-most-once");
    assertThat(doc.at("/operations/receive.stream.events.billing/bindings/redis/method").asText()).isEqualTo("xreadgroup");
    assertThat(doc.at("/operations/receive.stream.clicks/bindings/redis/method").asText()).isEqualTo("xread");
    assertThat(AsyncApi.of(broker).toJson()).isEqualTo(AsyncApi.of(broker).toJson());
  }

  @Test
  void publishTo_isSendOperation_withTheMessageOfTheChannelsSubscriber() {
    RedisBroker broker = broker();
    broker.subscriber(channel("orders")).publishTo(channel("receipts"), stream("audit"))
        .handle(Order.class, (o, ctx) -> new Receipt(1, "ok"));
    broker.subscriber(channel("receipts")).handle(Receipt.class, (r, ctx) -> null);

    JsonNode doc = json(broker);

    JsonNode send = doc.at("/operations/send.channel.receipts");
    assertThat(send.path("action").asText()).isEqualTo("send");
    assertThat(send.at("/channel/$ref").asText()).isEqualTo("#/channels/channel.receipts");
    assertThat(send.at("/messages/0/$ref").asText()).isEqualTo("#/channels/channel.receipts/messages/Receipt");
    assertThat(send.path("description").asText()).contains("`channel:orders`");
    assertThat(send.at("/bindings/redis/method").asText()).isEqualTo("publish");
    JsonNode audit = doc.at("/operations/send.stream.audit");
    assertThat(audit.at("/bindings/redis/method").asText()).isEqualTo("xadd");
    assertThat(audit.at("/messages/0/$ref").asText()).as("the same result goes to every destination")
        .isEqualTo("#/channels/stream.audit/messages/Receipt");
    assertThat(doc.at("/operations/receive.channel.orders/description").asText())
        .isEqualTo("Subscription `channel:orders`. Publishes the handler's result to `channel:receipts`, `stream:audit`.");
    // A handler that returns something also answers requests: the 3.0 reply object.
    JsonNode reply = doc.at("/operations/receive.channel.orders/reply");
    assertThat(reply.at("/address/location").asText()).isEqualTo("$message.header#/reply_to");
    assertThat(reply.at("/channel/$ref").asText()).isEqualTo("#/channels/reply");
    assertThat(reply.path("messages").findValuesAsText("$ref"))
        .containsExactly("#/channels/reply/messages/Receipt");
    assertThat(doc.at("/channels/reply/address").isNull()).as("a reply channel's address is known only at run time").isTrue();
    assertThat(doc.at("/operations/receive.channel.receipts").has("reply"))
        .as("a lambda without publishTo may return nothing: no reply is promised").isFalse();
  }

  @Test
  void officialSchema_rejectsAnInvalidDocument_soTheChecksAboveMeanSomething() throws Exception {
    RedisBroker broker = broker();
    broker.subscriber(channel("orders")).handle(Order.class, (o, ctx) -> null);
    ObjectNode doc = (ObjectNode) new ObjectMapper().readTree(AsyncApi.of(broker).toJson());
    assertThat(OfficialSchema.problems(doc)).isEmpty();

    ((ObjectNode) doc.at("/operations/receive.channel.orders")).put("action", "publish");   // 2.x wording, not 3.0
    ((ObjectNode) doc.path("info")).remove("version");
    ((ObjectNode) doc.at("/channels/channel.orders/messages/Order")).put("$ref", "#/components/messages/Nope");

    assertThat(OfficialSchema.problems(doc))
        .anyMatch(p -> p.contains("action"))
        .anyMatch(p -> p.contains("version"))
        .anyMatch(p -> p.equals("unresolved $ref #/components/messages/Nope at /channels/channel.orders/messages/Order"));
  }

  @Test
  void publishTo_withoutSubscriberOfThatDestination_isUndeclaredPayload() {
    RedisBroker broker = broker();
    broker.subscriber(list("jobs")).publishTo(list("done")).handle(Job.class, (job, ctx) -> job);

    JsonNode doc = json(broker);

    assertThat(doc.at("/operations/send.list.done/messages/0/$ref").asText()).isEqualTo("#/channels/list.done/messages/UndeclaredPayload");
    assertThat(doc.at("/operations/send.list.done/bindings/redis/method").asText()).isEqualTo("rpush");
    assertThat(doc.at("/components/messages/UndeclaredPayload/payload/description").asText()).contains("does not know its type");
    assertThat(doc.at("/components/messages/UndeclaredPayload/examples/0").has("payload")).isFalse();
    assertThat(doc.at("/operations/receive.list.jobs/reply/messages/0/$ref").asText()).isEqualTo("#/channels/reply/messages/UndeclaredPayload");
  }

  /** Annotated handlers declare what they return: the result type of the send operation and of the reply. */
  public static final class OrderHandlers {
    @Subscribe(channel = "orders")
    @Publish(channel = "receipts")
    public Receipt onOrder(Order order) {
      return new Receipt(order.id(), "ok");
    }

    @Subscribe(list = "jobs")
    public void onJob(Job job) {}
  }

  @Test
  void annotatedHandler_documentsItsResultType_andAVoidHandlerDoesNotReply() {
    RedisBroker broker = broker();
    broker.include(new OrderHandlers());

    JsonNode doc = json(broker);

    String onOrder = "receive." + sanitized(OrderHandlers.class.getName() + "#onOrder");
    assertThat(doc.at("/operations/" + onOrder + "/reply/messages/0/$ref").asText())
        .isEqualTo("#/channels/reply/messages/Receipt");
    assertThat(doc.at("/operations/send.channel.receipts/messages/0/$ref").asText())
        .as("declared by the method, though nothing here subscribes to receipts")
        .isEqualTo("#/channels/channel.receipts/messages/Receipt");
    String onJob = "receive." + sanitized(OrderHandlers.class.getName() + "#onJob");
    assertThat(doc.at("/operations/" + onJob).path("action").asText()).isEqualTo("receive");
    assertThat(doc.at("/operations/" + onJob).has("reply")).isFalse();
  }

  private static String sanitized(String id) {
    return id.replaceAll("[^A-Za-z0-9_.-]", "_");
  }

  @Test
  void batch_isDocumentedWithItsMaximum_andTheItemAsMessage() {
    RedisBroker broker = broker();
    broker.subscriber(list("jobs")).batch(50).handle(Job.class, (jobs, ctx) -> null);

    JsonNode doc = json(broker);

    JsonNode op = doc.at("/operations/receive.list.jobs");
    assertThat(op.at("/bindings/redis/maxBatchSize").asInt()).isEqualTo(50);
    assertThat(op.path("summary").asText()).isEqualTo("Handles batches of up to 50 Job messages from jobs.");
    assertThat(doc.at("/components/messages/Job/payload/$ref").asText()).isEqualTo("#/components/schemas/Job");
  }

  @Test
  void payloadSchema_reflectsRecordsEnumsCollectionsNullabilityAndConstraints() {
    RedisBroker broker = broker();
    broker.subscriber(channel("orders")).handle(Order.class, (o, ctx) -> null);

    JsonNode order = json(broker).at("/components/schemas/Order");
    JsonNode props = order.path("properties");

    assertThat(order.path("type").asText()).isEqualTo("object");
    assertThat(texts(order.path("required"))).containsExactlyInAnyOrder("id", "item", "quantity", "currency");
    assertThat(props.at("/id/type").asText()).isEqualTo("integer");
    assertThat(props.at("/id/minimum").asInt()).isEqualTo(1);
    assertThat(props.at("/item/type").asText()).as("@NotBlank: not nullable").isEqualTo("string");
    assertThat(props.at("/item/minLength").asInt()).isEqualTo(1);
    assertThat(props.at("/item/maxLength").asInt()).isEqualTo(40);
    assertThat(props.at("/quantity/type").asText()).isEqualTo("integer");
    assertThat(props.at("/quantity/minimum").asInt()).isEqualTo(1);
    assertThat(props.at("/quantity/maximum").asInt()).isEqualTo(100);
    assertThat(props.at("/currency/pattern").asText()).as("Jakarta's @Pattern matches the whole value").isEqualTo("^(?:[A-Z]{3})$");
    assertThat(props.at("/priority").toString()).contains("#/components/schemas/Priority", "null");
    assertThat(json(broker).at("/components/schemas/Priority").toString()).isEqualTo("{\"type\":\"string\",\"enum\":[\"LOW\",\"NORMAL\",\"HIGH\"]}");
    assertThat(props.at("/lines").toString()).contains("\"array\"", "\"minItems\":1", "\"maxItems\":20", "#/components/schemas/LineItem");
    assertThat(props.at("/counts").toString()).contains("\"object\"", "\"additionalProperties\":{\"type\":\"integer\"}");
    assertThat(texts(props.at("/note/type"))).as("Optional<String>: a string or null").containsExactlyInAnyOrder("string", "null");
    assertThat(texts(props.at("/placedAt/type"))).contains("string");
    assertThat(props.at("/placedAt/format").asText()).isEqualTo("date-time");
    assertThat(props.at("/reference/format").asText()).isEqualTo("uuid");
    assertThat(props.at("/customer").toString()).contains("#/components/schemas/Customer", "null");
    JsonNode customer = json(broker).at("/components/schemas/Customer");
    assertThat(customer.path("properties").properties()).extracting(Map.Entry::getKey).containsExactlyInAnyOrder("name", "age", "vip");
    assertThat(texts(customer.path("required"))).containsExactly("vip");
    JsonNode item = json(broker).at("/components/schemas/LineItem");
    assertThat(item.at("/properties/price/exclusiveMinimum").asInt()).isZero();
    assertThat(texts(item.path("required"))).containsExactlyInAnyOrder("sku", "count");
  }

  @Test
  void recursiveType_isOneSchemaReferringToItself_andItsExampleStops() {
    RedisBroker broker = broker();
    broker.subscriber(channel("trees")).handle(TreeNode.class, (t, ctx) -> null);

    JsonNode doc = json(broker);

    assertThat(doc.at("/components/schemas/TreeNode/properties/children").toString()).contains("#/components/schemas/TreeNode");
    assertThat(doc.at("/components/messages/TreeNode/examples/0/payload/label").asText()).isEqualTo("string");
  }

  @Test
  void everyExample_isValidAgainstItsOwnPayloadSchema() throws Exception {
    RedisBroker broker = broker();
    broker.subscriber(channel("orders")).handle(Order.class, (o, ctx) -> null);
    broker.subscriber(channel("trees")).handle(TreeNode.class, (t, ctx) -> null);
    broker.subscriber(list("jobs")).handle(Job.class, (j, ctx) -> null);
    broker.subscriber(channel("text")).handle(String.class, (s, ctx) -> null);
    broker.subscriber(channel("numbers")).handle(Integer.class, (s, ctx) -> null);

    JsonNode doc = json(broker);
    ObjectMapper mapper = new ObjectMapper();
    int checked = 0;
    for (Map.Entry<String, JsonNode> m : doc.at("/components/messages").properties()) {
      ObjectNode schema = mapper.createObjectNode();
      schema.setAll((ObjectNode) m.getValue().path("payload").deepCopy());
      schema.set("components", doc.path("components").deepCopy());
      var validator = SchemaRegistry.withDefaultDialect(SpecificationVersion.DRAFT_7).getSchema(schema);
      JsonNode example = m.getValue().at("/examples/0/payload");
      assertThat(example.isMissingNode()).as("example of %s", m.getKey()).isFalse();
      assertThat(validator.validate(example)).as("example of %s: %s", m.getKey(), example).isEmpty();
      checked++;
    }
    assertThat(checked).isEqualTo(5);
  }

  @Test
  void stringAndBytesPayloads_areTextAndBinary() {
    RedisBroker broker = broker();
    broker.subscriber(channel("lines")).handle(String.class, (s, ctx) -> null);
    broker.subscriber(channel("blobs")).handle(byte[].class, (b, ctx) -> null);

    JsonNode doc = json(broker);

    assertThat(doc.at("/components/messages/Bytes/contentType").asText()).isEqualTo("application/octet-stream");
    assertThat(doc.at("/components/messages/Bytes/payload/format").asText()).isEqualTo("binary");
    assertThat(doc.at("/components/messages/Bytes/examples/0").has("payload")).isFalse();
    assertThat(doc.at("/components/messages/Bytes/headers/properties/content-type").has("enum")).isFalse();
    assertThat(doc.at("/components/messages/Text/headers/properties/content-type/enum/0").asText()).isEqualTo("text/plain");
  }

  @Test
  void closedAndReplacedSubscriptions_areNotDocumented() {
    RedisBroker broker = broker();
    broker.subscriber(channel("orders")).handle(Order.class, (o, ctx) -> null);
    broker.subscriber(channel("gone")).handle(Order.class, (o, ctx) -> null).close();
    broker.subscriber(channel("orders")).handle(Receipt.class, (o, ctx) -> null);   // replaces the first

    JsonNode doc = json(broker);

    assertThat(doc.path("channels").properties()).extracting(Map.Entry::getKey).containsExactly("channel.orders");
    assertThat(doc.path("operations").properties()).extracting(Map.Entry::getKey).containsExactly("receive.channel.orders");
    assertThat(doc.at("/components/messages").properties()).extracting(Map.Entry::getKey).containsExactly("Receipt");
  }

  @Test
  void emptyBroker_isAValidDocumentWithNoChannels() {
    JsonNode doc = json(broker());
    assertThat(doc.path("channels").isEmpty()).isTrue();
    assertThat(doc.path("operations").isEmpty()).isTrue();
  }

  @Test
  void server_comesFromTheUrl_andThePasswordNeverAppears() {
    RedisBroker broker = broker("redis://app:s3cret-pw@cache.internal:6380/2");
    broker.subscriber(channel("orders")).handle(Order.class, (o, ctx) -> null);
    AsyncApi api = AsyncApi.of(broker);

    JsonNode server = OfficialSchema.assertValidJson(api.toJson()).at("/servers/redis");

    assertThat(server.path("host").asText()).isEqualTo("cache.internal:6380");
    assertThat(server.path("pathname").asText()).isEqualTo("/2");
    assertThat(server.path("protocol").asText()).isEqualTo("redis");
    assertThat(server.path("description").asText()).isEqualTo(
        "Redis at redis://app:****@cache.internal:6380/2 (the password, if any, is not shown).");
    assertThat(api.toJson()).doesNotContain("s3cret-pw");
    assertThat(api.toYaml()).doesNotContain("s3cret-pw");
    assertThat(api.toHtml()).doesNotContain("s3cret-pw");
  }

  @Test
  void tlsUrl_isProtocolRediss() {
    RedisBroker broker = broker("rediss://secret@redis.example.com:6390");
    JsonNode server = json(broker).at("/servers/redis");
    assertThat(server.path("protocol").asText()).isEqualTo("rediss");
    assertThat(server.path("host").asText()).isEqualTo("redis.example.com:6390");
    assertThat(server.has("pathname")).isFalse();
    assertThat(server.toString()).doesNotContain("secret@");
  }

  @Test
  void yaml_isTheSameDocument() throws Exception {
    RedisBroker broker = broker();
    broker.subscriber(channel("orders")).publishTo(channel("receipts")).handle(Order.class, (o, ctx) -> null);
    broker.subscriber(pattern("logs.{level}")).handle(String.class, (s, ctx) -> null);
    AsyncApi api = AsyncApi.builder(broker).title("Orders").version("1.0").description("true").build();

    JsonNode fromYaml = OfficialSchema.assertValidYaml(api.toYaml());

    assertThat(fromYaml).isEqualTo(new ObjectMapper().readTree(api.toJson()));
    assertThat(fromYaml.at("/info/version").isTextual()).as("1.0 stays a string in YAML").isTrue();
    assertThat(api.toYaml()).startsWith("asyncapi: 3.0.0\n");
  }

  @Test
  void builder_setsInfo_andRefusesAnOptionSetTwice() {
    RedisBroker broker = broker();
    JsonNode info = OfficialSchema.assertValidJson(AsyncApi.builder(broker).title("Orders").version("2.1.0")
        .description("Takes orders.").build().toJson()).path("info");
    assertThat(info.path("title").asText()).isEqualTo("Orders");
    assertThat(info.path("version").asText()).isEqualTo("2.1.0");
    assertThat(info.path("description").asText()).isEqualTo("Takes orders.");

    assertThat(OfficialSchema.assertValidJson(AsyncApi.of(dev.brook.App.create(broker)).toJson()).at("/info/title").asText())
        .isEqualTo(AsyncApi.DEFAULT_TITLE);

    assertThatThrownBy(() -> AsyncApi.builder(broker).title("a").title("b"))
        .isInstanceOf(IllegalStateException.class)
        .hasMessage("title was already set on this AsyncApi builder; set each option once.");
    assertThatThrownBy(() -> AsyncApi.builder(broker).version(" "))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("The AsyncAPI version must not be blank; leave it unset for the default.");
  }

  private static List<String> texts(JsonNode node) {
    List<String> out = new ArrayList<>();
    if (node.isArray()) {
      node.forEach(n -> out.add(n.asText()));
    } else if (!node.isMissingNode()) {
      out.add(node.asText());
    }
    return out;
  }
}
