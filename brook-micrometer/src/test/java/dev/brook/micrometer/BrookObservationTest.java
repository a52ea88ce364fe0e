package dev.brook.micrometer;

import static dev.brook.redis.Redis.channel;
import static dev.brook.redis.Redis.pattern;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.brook.Subscription;
import dev.brook.micrometer.Workload.Order;
import dev.brook.redis.RedisBroker;
import dev.brook.testing.RedisServer;
import dev.brook.testing.WithRedisServer;
import io.micrometer.common.KeyValue;
import io.micrometer.observation.Observation;
import io.micrometer.observation.ObservationHandler;
import io.micrometer.observation.tck.TestObservationRegistry;
import io.micrometer.observation.tck.TestObservationRegistryAssert;
import io.micrometer.observation.transport.ReceiverContext;
import io.micrometer.observation.transport.SenderContext;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** BrookObservation on a private redis-server, checked with Micrometer's TestObservationRegistry. */
@WithRedisServer
class BrookObservationTest {

  private RedisBroker broker;

  @BeforeEach
  void open(RedisServer redis) {
    broker = RedisBroker.create(redis.url());
  }

  @AfterEach
  void close() {
    broker.close();
  }

  @Test
  void observesEveryProcessedAndSentMessageWithTheConventionsKeys() {
    TestObservationRegistry registry = TestObservationRegistry.create();
    Subscription orders = broker.subscriber(channel("orders")).handle(Order.class, (o, ctx) -> {
      if (o.id() < 0) {
        throw new IllegalStateException("negative");
      }
      return null;
    });
    Subscription logs = broker.subscriber(pattern("logs.{level}")).handle(String.class, (s, ctx) -> null);
    try (BrookObservation observation = BrookObservation.bind(broker, registry)) {
      broker.start();
      broker.publish(new Order(1), channel("orders"));
      broker.publish(new Order(2), channel("orders"));
      broker.publish(new Order(-1), channel("orders"));
      broker.publish("x", channel("logs.error"));
      await().atMost(Duration.ofSeconds(10)).until(() -> Workload.done(orders) == 3 && Workload.done(logs) == 1);

      TestObservationRegistryAssert.assertThat(registry)
          .hasNumberOfObservationsWithNameEqualTo(BrookObservation.PROCESS, 4)
          .hasNumberOfObservationsWithNameEqualTo(BrookObservation.SEND, 4)
          .forAllObservationsWithNameEqualTo(BrookObservation.PROCESS, o -> o
              .hasLowCardinalityKeyValue("messaging.system", "redis")
              .hasLowCardinalityKeyValue("messaging.operation.name", "process")
              .hasLowCardinalityKeyValue("messaging.consumer.group.name", "none")
              .hasHighCardinalityKeyValueWithKey("messaging.message.id"))
          .forAllObservationsWithNameEqualTo(BrookObservation.SEND, o -> o
              .hasLowCardinalityKeyValue("messaging.operation.name", "send"))
          .hasHandledContextsThatSatisfy(contexts -> {
            List<Observation.Context> process = contexts.stream()
                .filter(c -> c.getName().equals(BrookObservation.PROCESS)).toList();
            assertThat(process).filteredOn(c -> c.getError() != null).singleElement()
                .satisfies(c -> assertThat(c.getError()).isInstanceOf(IllegalStateException.class))
                .satisfies(c -> assertThat(c.getContextualName()).isEqualTo("process orders"));
            assertThat(process).extracting(Observation.Context::getContextualName)
                .containsOnly("process orders", "process logs.{level}");
            assertThat(process).filteredOn(c -> "process logs.{level}".equals(c.getContextualName())).singleElement()
                .satisfies(c -> assertThat(c.getLowCardinalityKeyValue("messaging.destination.name"))
                    .isEqualTo(KeyValue.of("messaging.destination.name", "logs.{level}")));
            assertThat(contexts).filteredOn(c -> c.getName().equals(BrookObservation.SEND))
                .extracting(Observation.Context::getContextualName)
                .containsExactlyInAnyOrder("send orders", "send orders", "send orders", "send logs.error");
          });
    }
  }

  @Test
  void theSendersPropagatedHeadersReachTheReceiver() {
    TestObservationRegistry registry = TestObservationRegistry.create();
    List<String> seen = new CopyOnWriteArrayList<>();
    registry.observationConfig().observationHandler(new ObservationHandler<>() {
      @Override
      @SuppressWarnings("unchecked")
      public void onStart(Observation.Context context) {
        if (context instanceof SenderContext<?> s) {
          ((SenderContext<Map<String, String>>) s).getSetter()
              .set((Map<String, String>) s.getCarrier(), "traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
        } else if (context instanceof ReceiverContext<?> r) {
          seen.add(((ReceiverContext<Object>) r).getGetter().get(r.getCarrier(), "traceparent"));
        }
      }

      @Override
      public boolean supportsContext(Observation.Context context) {
        return true;
      }
    });
    List<String> headers = new CopyOnWriteArrayList<>();
    Subscription s = broker.subscriber(channel("orders")).handle(Order.class, (o, ctx) -> {
      headers.add(ctx.header("traceparent"));
      return null;
    });
    try (BrookObservation observation = BrookObservation.bind(broker, registry)) {
      broker.start();
      broker.publish(new Order(1), channel("orders"));
      await().atMost(Duration.ofSeconds(10)).until(() -> Workload.done(s) == 1);
      assertThat(headers).containsExactly("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
      assertThat(seen).containsExactly("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
    }
  }

  @Test
  void closeStopsObserving() {
    TestObservationRegistry registry = TestObservationRegistry.create();
    Subscription s = broker.subscriber(channel("orders")).handle(Order.class, (o, ctx) -> null);
    BrookObservation.bind(broker, registry).close();
    broker.start();
    broker.publish(new Order(1), channel("orders"));
    await().atMost(Duration.ofSeconds(10)).until(() -> Workload.done(s) == 1);
    TestObservationRegistryAssert.assertThat(registry).doesNotHaveAnyObservation();
  }
}
