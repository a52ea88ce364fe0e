package dev.brook.tests.behaviour;

import static dev.brook.redis.Redis.stream;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.brook.AckPolicy;
import dev.brook.Broker;
import dev.brook.redis.Backlog;
import dev.brook.redis.RedisBroker;
import dev.brook.redis.StreamDestination;
import dev.brook.redis.internal.stream.Partitions;
import dev.brook.spi.Brokers;
import dev.brook.spi.DestinationDescription;
import dev.brook.tests.Calls;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

/**
 * Partitioned streams ({@code stream("orders").partitions(n)}): routing by key (CRC16 mod n) and
 * round-robin, batches and pipelines routed per message, a group subscription reading every
 * partition with per-key order, the key as a header, dead letters per partition, the backlog summed
 * over the partitions and the description. On the test broker one member holds every partition;
 * sharing between members is {@code PartitionedStreamTest}'s (Redis only).
 */
abstract class PartitionedStreamBehaviour extends Behaviour {

  private static final StreamDestination ORDERS = stream("orders").partitions(4);

  PartitionedStreamBehaviour(Backend backend) {
    super(backend);
  }

  private List<String> texts(String key) {
    return backend.stream(key).stream().map(Backend.Stored::text).toList();
  }

  @Test
  void aKeyedMessageGoesToThePartitionOfItsKeyAndKeepsTheKeyAsAHeader() {
    RedisBroker broker = started();
    for (int i = 0; i < 5; i++) {
      broker.publish("a" + i, ORDERS, "customer-1");
      broker.publish("b" + i, ORDERS, "customer-2");
    }
    int a = Partitions.of("customer-1", 4);
    int b = Partitions.of("customer-2", 4);
    // CRC16-XMODEM (Python: binascii.crc_hqx(key.encode(), 0)): 48283 and 36088.
    assertThat(a).isEqualTo(48283 % 4);
    assertThat(b).isEqualTo(36088 % 4);
    assertThat(a).isNotEqualTo(b);
    assertThat(texts("{orders:" + a + "}")).containsExactly("a0", "a1", "a2", "a3", "a4");
    assertThat(texts("{orders:" + b + "}")).containsExactly("b0", "b1", "b2", "b3", "b4");
    assertThat(backend.stream("{orders:" + a + "}").get(0).header(Broker.KEY_HEADER)).isEqualTo("customer-1");
    assertThat(backend.stream("orders")).isEmpty();
  }

  @Test
  void messagesWithoutAKeyGoRoundRobin() {
    RedisBroker broker = started();
    for (int i = 0; i < 8; i++) {
      broker.publish("m" + i, ORDERS);
    }
    for (int p = 0; p < 4; p++) {
      assertThat(backend.stream(ORDERS.partitionKey(p))).hasSize(2);
    }
  }

  @Test
  void batchesAndPipelinesRouteEachMessage() {
    RedisBroker broker = started();
    broker.publishBatch(List.of("x0", "x1", "x2", "x3"), ORDERS);
    broker.pipeline(p -> {
      for (int i = 0; i < 3; i++) {
        p.publish("k" + i, ORDERS, "same-key");
      }
      p.publish("other", ORDERS, Map.of(Broker.KEY_HEADER, "customer-1"));
    });
    int same = Partitions.of("same-key", 4);
    List<String> all = new ArrayList<>();
    for (int p = 0; p < 4; p++) {
      all.addAll(texts(ORDERS.partitionKey(p)));
    }
    assertThat(all).containsExactlyInAnyOrder("x0", "x1", "x2", "x3", "k0", "k1", "k2", "other");
    assertThat(texts(ORDERS.partitionKey(same))).containsSubsequence("k0", "k1", "k2");
    assertThat(texts(ORDERS.partitionKey(Partitions.of("customer-1", 4)))).contains("other");
    for (int p = 0; p < 4; p++) {
      assertThat(texts(ORDERS.partitionKey(p))).as("partition %d", p).containsAnyOf("x0", "x1", "x2", "x3");
    }
  }

  @Test
  void aGroupReadsEveryPartitionAndEachKeyInOrder() {
    RedisBroker broker = started();
    Calls<String> calls = new Calls<>();
    broker.subscriber(ORDERS.group("g").consumer("c1")).handle(String.class, calls);
    List<String> keys = List.of("k1", "k2", "k3", "k4", "k5", "k6");
    for (int i = 0; i < 10; i++) {
      for (String k : keys) {
        broker.publish(k + ":" + i, ORDERS, k);
      }
    }
    calls.await(60);
    eventually().until(() -> IntStream.range(0, 4).allMatch(p -> backend.pending(ORDERS.partitionKey(p), "g").isEmpty()));
    assertThat(calls.count()).isEqualTo(60);
    for (String k : keys) {
      List<String> ofKey = calls.all().stream().filter(c -> k.equals(c.context().header(Broker.KEY_HEADER)))
          .map(Calls.Call::payload).toList();
      assertThat(ofKey).containsExactlyElementsOf(IntStream.range(0, 10).mapToObj(i -> k + ":" + i).toList());
    }
    assertThat(calls.all()).allSatisfy(c -> assertThat(c.context().channel()).matches("\\{orders:[0-3]}"));
  }

  @Test
  void aBatchFromSeveralPartitionsIsAcknowledgedInEachPartition() {
    RedisBroker broker = started();
    List<Integer> seen = new java.util.concurrent.CopyOnWriteArrayList<>();
    broker.subscriber(ORDERS.group("g").consumer("c1")).batch(50)
        .handle(Integer.class, (List<Integer> items, dev.brook.MessageContext ctx) -> {
          if (seen.isEmpty()) {
            Thread.sleep(300); // meanwhile every partition's consumer fills the buffer: the next batch mixes them
          }
          seen.addAll(items);
          return null;
        });
    broker.publishBatch(IntStream.range(0, 40).boxed().toList(), ORDERS);
    eventually().until(() -> seen.size() == 40);
    eventually().until(() -> IntStream.range(0, 4).allMatch(p -> backend.pending(ORDERS.partitionKey(p), "g").isEmpty()));
    assertThat(seen).containsExactlyInAnyOrderElementsOf(IntStream.range(0, 40).boxed().toList());
  }

  @Test
  void aRejectedMessageGoesToItsPartitionsDeadLetterStream() {
    RedisBroker broker = started();
    broker.subscriber(ORDERS.group("g").consumer("c1")).ackPolicy(AckPolicy.REJECT_ON_ERROR)
        .handle(String.class, (s, ctx) -> {
          throw new IllegalStateException("bad " + s);
        });
    int p = Partitions.of("customer-1", 4);
    backend.despiteFailures(() -> broker.publish("x", ORDERS, "customer-1"));
    String dlq = ORDERS.partition(p).deadLetterKey();
    assertThat(dlq).isEqualTo("{orders:" + p + "}:dlq");
    eventually().until(() -> backend.stream(dlq).size() == 1);
    assertThat(backend.stream(dlq).get(0).header("x-original")).isEqualTo(ORDERS.partitionKey(p));
  }

  @Test
  void theBacklogSumsThePartitions() {
    RedisBroker broker = started();
    var sub = broker.subscriber(ORDERS.group("g").consumer("c1")).id("orders").handle(String.class, (s, ctx) -> null);
    sub.stop();
    for (int i = 0; i < 7; i++) {
      broker.publish("m" + i, ORDERS);
    }
    eventually().until(() -> broker.backlog(sub).length() == 7);
    Backlog backlog = broker.backlog(sub);
    assertThat(backlog.destination()).isEqualTo(ORDERS.group("g").consumer("c1").key());
    assertThat(backlog.length()).isEqualTo(7);
    assertThat(backlog.lag()).isEqualTo(7);
    assertThat(backlog.pending()).isZero();
    assertThat(backlog.deadLetters()).isZero();
  }

  @Test
  void healthReportsTheLagSummedOverThePartitions() throws Exception {
    // A buffer of one message and a busy handler: the partitions' consumers read (almost) nothing more.
    RedisBroker broker = started(b -> b.bufferSize(1));
    java.util.concurrent.CountDownLatch release = new java.util.concurrent.CountDownLatch(1);
    broker.subscriber(ORDERS.group("g").consumer("c")).id("lagging").handle(String.class, (s, ctx) -> {
      release.await(10, java.util.concurrent.TimeUnit.SECONDS);
      return null;
    });
    Thread publisher = Thread.ofVirtual().start(() -> broker.publishBatch(
        IntStream.range(0, 20).mapToObj(i -> "e" + i).toList(), ORDERS));
    try {
      eventually().until(() -> {
        Backlog b = broker.backlog(broker.subscription("lagging"));
        return b.length() == 20 && b.pending() >= 1 && b.lag() >= 10 && b.lag() + b.pending() == 20;
      });
      long lag = broker.backlog(broker.subscription("lagging")).lag();
      dev.brook.Health health = broker.health(dev.brook.Health.Options.DEFAULT.withMaxLag(2));
      assertThat(health.subscription("lagging").lag()).isEqualTo(lag);
      assertThat(health.status()).isEqualTo(dev.brook.Health.Status.DEGRADED);
    } finally {
      release.countDown();
      publisher.join(10_000);
    }
    eventually().until(() -> broker.backlog(broker.subscription("lagging")).lag() == 0
        && broker.backlog(broker.subscription("lagging")).pending() == 0);
    assertThat(broker.health().status()).isEqualTo(dev.brook.Health.Status.UP);
  }

  @Test
  void theDescriptionSaysItIsPartitioned() {
    RedisBroker broker = started();
    DestinationDescription d = Brokers.describe(broker, ORDERS.group("g"));
    assertThat(d.description()).contains("Partitioned into 4 streams ({orders:0} … {orders:3})");
    assertThat(d.binding()).containsEntry("partitions", 4);
  }

  @Test
  void partitionOptionsAreChecked() {
    assertThatThrownBy(() -> stream("orders").partitions(0)).isInstanceOf(IllegalArgumentException.class)
        .hasMessage("partitions must be between 1 and 1024, was 0 (stream orders).");
    assertThatThrownBy(() -> stream("orders").partitions(1025)).isInstanceOf(IllegalArgumentException.class)
        .hasMessage("partitions must be between 1 and 1024, was 1025 (stream orders).");
    assertThatThrownBy(() -> stream("{app}orders").partitions(2)).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("Stream '{app}orders' cannot be partitioned");
    assertThatThrownBy(() -> stream("o").leaseTime(Duration.ofMillis(10))).isInstanceOf(IllegalArgumentException.class)
        .hasMessage("leaseTime must be at least 300 ms, was PT0.01S.");
    assertThat(stream("orders").partitions(1).partitionKey(0)).isEqualTo("orders");
    assertThat(ORDERS.partitionKey(3)).isEqualTo("{orders:3}");
    assertThat(ORDERS.partition(3).partitionCount()).isEqualTo(1);
  }
}
