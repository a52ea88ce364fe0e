package dev.brook.asyncapi;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.brook.Destination;
import dev.brook.asyncapi.Payloads.Order;
import dev.brook.asyncapi.Payloads.Receipt;
import dev.brook.spi.BrokerBase;
import dev.brook.spi.DestinationDescription;
import dev.brook.spi.Frame;
import dev.brook.spi.ServerDescription;
import dev.brook.spi.Transport;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * A broker on a transport that is not Redis (a NATS-like one made up here) is documented from what
 * its transport says through the SPI: the document knows no transport of its own.
 */
class OtherTransportTest {

  /** A NATS subject. */
  record Subject(String name) implements Destination {
    @Override
    public String key() {
      return "subject:" + name;
    }

    @Override
    public Destination withName(String name) {
      return new Subject(name);
    }
  }

  /** A destination its transport does not describe. */
  record Bucket(String name) implements Destination {
    @Override
    public String key() {
      return "bucket:" + name;
    }

    @Override
    public Destination withName(String name) {
      return new Bucket(name);
    }
  }

  /** Describes subjects and its server; never connects (the broker is never started). */
  static final class NatsLikeTransport implements Transport {
    @Override
    public void connect() {}

    @Override
    public Consumer consumer(Destination destination, String subscriptionId, Sink sink) {
      throw new UnsupportedOperationException("never started");
    }

    @Override
    public CompletableFuture<Void> send(Destination destination, Frame frame) {
      return CompletableFuture.completedFuture(null);
    }

    @Override
    public Destination replyChannel(String name) {
      return new Subject(name);
    }

    @Override
    public DestinationDescription describe(Destination destination) {
      if (destination instanceof Subject s) {
        return new DestinationDescription("x-nats", "subject", s.name(), List.of(), "NATS subject: at-most-once, fan-out.",
            null, "subscribe", "publish", Map.of("subject", s.name()));
      }
      return Transport.super.describe(destination);
    }

    @Override
    public Optional<ServerDescription> describeServer() {
      return Optional.of(new ServerDescription("nats", "nats.internal:4222", "nats", null, "NATS",
          "NATS at nats://nats.internal:4222."));
    }

    @Override
    public String describe() {
      return "nats://nats.internal:4222";
    }

    @Override
    public void close() {}
  }

  static final class NatsLikeBroker extends BrokerBase {
    static final class Options extends BrokerBase.Builder<Options> {}

    NatsLikeBroker() {
      super(new NatsLikeTransport(), new Options());
    }
  }

  private final NatsLikeBroker broker = new NatsLikeBroker();

  @AfterEach
  void close() {
    broker.close();
  }

  @Test
  void serverChannelsAndOperations_comeFromTheTransportsDescriptions() {
    broker.subscriber(new Subject("orders")).publishTo(new Subject("receipts")).handle(Order.class, (o, ctx) -> new Receipt(1, "ok"));
    broker.subscriber(new Subject("receipts")).handle(Receipt.class, (r, ctx) -> null);
    AsyncApi api = AsyncApi.of(broker);

    JsonNode doc = OfficialSchema.assertValidJson(api.toJson());

    assertThat(doc.path("servers").properties()).extracting(Map.Entry::getKey).containsExactly("nats");
    assertThat(doc.at("/servers/nats/host").asText()).isEqualTo("nats.internal:4222");
    assertThat(doc.at("/servers/nats/protocol").asText()).isEqualTo("nats");
    assertThat(doc.at("/servers/nats").has("pathname")).isFalse();
    JsonNode orders = doc.at("/channels/subject.orders");
    assertThat(orders.path("title").asText()).isEqualTo("subject orders");
    assertThat(orders.path("description").asText()).isEqualTo("NATS subject: at-most-once, fan-out.");
    assertThat(orders.at("/bindings/x-nats").toString())
        .isEqualTo("{\"kind\":\"subject\",\"subject\":\"orders\",\"bindingVersion\":\"custom\"}");
    assertThat(doc.at("/operations/receive.subject.orders/bindings/x-nats/method").asText()).isEqualTo("subscribe");
    assertThat(doc.at("/operations/send.subject.receipts/bindings/x-nats/method").asText()).isEqualTo("publish");
    assertThat(doc.at("/operations/send.subject.receipts/messages/0/$ref").asText())
        .isEqualTo("#/channels/subject.receipts/messages/Receipt");
    assertThat(doc.at("/channels/reply/bindings/x-nats/kind").asText()).isEqualTo("subject");
    assertThat(api.toJson().toLowerCase(Locale.ROOT)).doesNotContain("redis");
    assertThat(api.toHtml()).contains("<span class=\"kind kind-subject\">subject</span>", "<dt>subject</dt><dd><code>orders</code></dd>");
  }

  @Test
  void aDestinationTheTransportDoesNotDescribe_isDocumentedWithoutBindings() {
    broker.subscriber(new Bucket("files")).handle(String.class, (s, ctx) -> null);

    JsonNode doc = OfficialSchema.assertValidJson(AsyncApi.of(broker).toJson());

    JsonNode files = doc.at("/channels/bucket.files");
    assertThat(files.path("address").asText()).isEqualTo("files");
    assertThat(files.path("description").asText()).isEqualTo("Destination bucket:files.");
    assertThat(files.has("bindings")).isFalse();
    assertThat(doc.at("/operations/receive.bucket.files/action").asText()).isEqualTo("receive");
    assertThat(doc.at("/operations/receive.bucket.files").has("bindings")).isFalse();
  }
}
