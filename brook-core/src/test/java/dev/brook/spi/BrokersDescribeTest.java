package dev.brook.spi;

import static org.assertj.core.api.Assertions.assertThat;

import dev.brook.Broker;
import dev.brook.Destination;
import java.lang.reflect.Proxy;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;

/** {@link Brokers#describe}, {@link Brokers#describeServer} and {@link Brokers#describeReplies}. */
class BrokersDescribeTest {

  record Topic(String name) implements Destination {
    @Override
    public String key() {
      return "topic:" + name;
    }

    @Override
    public Destination withName(String name) {
      return new Topic(name);
    }
  }

  /** Describes everything with its own name in it, so a test sees which transport answered. */
  static class NamedTransport implements Transport {
    final String name;

    NamedTransport(String name) {
      this.name = name;
    }

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
    public Destination replyChannel(String replyName) {
      return new Topic(replyName);
    }

    @Override
    public DestinationDescription describe(Destination d) {
      return new DestinationDescription("x-" + name, "topic", d.name(), List.of(), "A topic of " + name + ".", null,
          "subscribe", "publish", Map.of());
    }

    @Override
    public Optional<ServerDescription> describeServer() {
      return Optional.of(new ServerDescription(name, name + ":1", name, null, name, name + " server."));
    }

    @Override
    public String describe() {
      return name + "://";
    }

    @Override
    public void close() {}
  }

  static final class TestBroker extends BrokerBase {
    static final class Options extends BrokerBase.Builder<Options> {}

    TestBroker(Transport transport) {
      super(transport, new Options());
    }
  }

  @Test
  void aBroker_isDescribedByTheTransportItWasBuiltWith_alsoWhileRunningOnAnother() throws Exception {
    try (TestBroker broker = new TestBroker(new NamedTransport("own"))) {
      Topic orders = new Topic("orders");
      assertThat(Brokers.describeServer(broker)).map(ServerDescription::name).contains("own");

      try (AutoCloseable ignored = Brokers.runOn(broker, new NamedTransport("stand-in"))) {
        assertThat(Brokers.describeServer(broker)).map(ServerDescription::name)
            .as("a document describes the service as deployed, not its test double").contains("own");
        assertThat(Brokers.describe(broker, orders).description()).isEqualTo("A topic of own.");
        assertThat(Brokers.describeReplies(broker)).map(DestinationDescription::bindingsKey).contains("x-own");
      }
    }
  }

  @Test
  void aTransportThatDescribesNothing_givesGenericDescriptions_noServer_andNoRepliesWithoutRequestReply() {
    Transport plain = new NamedTransport("plain") {
      @Override
      public Destination replyChannel(String replyName) {
        throw new UnsupportedOperationException("no request/reply");
      }

      @Override
      public DestinationDescription describe(Destination d) {
        return DestinationDescription.generic(d);
      }

      @Override
      public Optional<ServerDescription> describeServer() {
        return Optional.empty();
      }
    };
    try (TestBroker broker = new TestBroker(plain)) {
      DestinationDescription d = Brokers.describe(broker, new Topic("t"));

      assertThat(d).isEqualTo(new DestinationDescription(null, "topic", "t", List.of(), "Destination topic:t.", null,
          "receive", "send", Map.of("name", "t")));
      assertThat(Brokers.describeServer(broker)).isEmpty();
      assertThat(Brokers.describeReplies(broker)).isEmpty();
    }
  }

  @Test
  void aBrokerThatIsNoBrokerBase_isDescribedGenerically() {
    Broker other = (Broker) Proxy.newProxyInstance(getClass().getClassLoader(), new Class<?>[] {Broker.class}, (p, m, a) -> {
      throw new UnsupportedOperationException(m.getName());
    });

    assertThat(Brokers.describe(other, new Topic("t")).bindingsKey()).isNull();
    assertThat(Brokers.describeServer(other)).isEmpty();
    assertThat(Brokers.describeReplies(other)).isEmpty();
  }
}
