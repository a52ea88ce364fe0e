package dev.brook.tests;

import static dev.brook.redis.Redis.stream;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.brook.Broker;
import dev.brook.redis.RedisBroker;
import dev.brook.redis.StreamDestination;
import dev.brook.redis.internal.stream.Partitions;
import dev.brook.testing.RedisCluster;
import dev.brook.testing.RedisServer;
import dev.brook.testing.WithRedisCluster;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * A partitioned stream on a Redis Cluster of three masters: its partitions live on all three, the
 * members' leases and member set work across slots, and three members share the 16 partitions 6/5/5
 * with every message handled once and each key in order.
 */
@WithRedisCluster(shared = true)
class PartitionedStreamClusterTest {

  private static final Duration LEASE = Duration.ofSeconds(1);
  private static final StreamDestination ORDERS = stream("orders").partitions(16).group("g").leaseTime(LEASE);

  private final RedisCluster cluster;
  private final TestResources resources = new TestResources();

  PartitionedStreamClusterTest(RedisCluster cluster) {
    this.cluster = cluster;
  }

  @AfterEach
  void closeAll() throws Exception {
    resources.close();
  }

  private Map<String, Long> shares() {
    Map<String, Long> out = new TreeMap<>();
    for (int i = 0; i < 16; i++) {
      Object owner = cluster.command("GET", "{orders:" + i + "}:lease:g");
      if (owner != null) {
        out.merge(PartitionedStreamTest.member(owner.toString()), 1L, Long::sum);
      }
    }
    return out;
  }

  @Test
  void threeMembersShareAStreamSpreadOverThreeMasters() {
    Set<Integer> masters = new HashSet<>();
    for (int i = 0; i < 16; i++) {
      masters.add(cluster.masterFor(ORDERS.partitionKey(i)).port());
    }
    assertThat(masters).hasSize(3);

    Map<String, List<String>> byKey = new ConcurrentHashMap<>();
    Map<String, AtomicInteger> counts = new ConcurrentHashMap<>();
    List<RedisBroker> members = new ArrayList<>();
    for (int m = 0; m < 3; m++) {
      String name = "m" + m;
      RedisBroker broker = resources.broker(cluster.url(), b -> {});
      broker.subscriber(ORDERS.consumer(name)).handle(String.class, (s, ctx) -> {
        byKey.computeIfAbsent(ctx.header(Broker.KEY_HEADER), k -> new CopyOnWriteArrayList<>()).add(s);
        counts.computeIfAbsent(s, k -> new AtomicInteger()).incrementAndGet();
        return null;
      });
      broker.start();
      members.add(broker);
    }
    await().atMost(LEASE.multipliedBy(3)).until(() -> shares().values().stream().sorted().toList()
        .equals(List.of(5L, 5L, 6L)) && shares().size() == 3);

    RedisBroker publisher = resources.broker(cluster.url(), b -> {});
    int n = 600;
    publisher.pipeline(p -> {
      for (int i = 0; i < n; i++) {
        p.publish("k" + (i % 30) + ":" + (i / 30), ORDERS, "k" + (i % 30));
      }
    });
    await().atMost(Duration.ofSeconds(15)).until(() -> counts.size() == n);
    assertThat(counts.values()).allMatch(c -> c.get() == 1);
    for (Map.Entry<String, List<String>> e : byKey.entrySet()) {
      assertThat(e.getValue()).as("order of %s", e.getKey())
          .containsExactlyElementsOf(IntStream.range(0, 20).mapToObj(i -> e.getKey() + ":" + i).toList());
    }
    // Every master holds some of the entries.
    Map<Integer, Long> perMaster = new TreeMap<>();
    for (int i = 0; i < 16; i++) {
      RedisServer master = cluster.masterFor(ORDERS.partitionKey(i));
      perMaster.merge(master.port(), (Long) cluster.command("XLEN", ORDERS.partitionKey(i)), Long::sum);
    }
    assertThat(perMaster).hasSize(3);
    assertThat(perMaster.values().stream().mapToLong(Long::longValue).sum()).isEqualTo(n);
    assertThat(perMaster.values()).allMatch(c -> c > 0);
    System.out.println("entries per master: " + perMaster + ", partition of k0: " + Partitions.of("k0", 16));

    for (RedisBroker b : members) {
      b.close();
    }
    assertThat(shares()).isEmpty();
    assertThat(cluster.command("EXISTS", "{orders}:members:g")).isEqualTo(0L);
  }

  @Test
  void aDurablePublishWaitsOnEachPartitionsOwnMaster() {
    StreamDestination durable = stream("durable").partitions(16).waitForReplicas(1, Duration.ofSeconds(2));
    RedisBroker publisher = resources.broker(cluster.url(), b -> {});
    for (int i = 0; i < 30; i++) {
      publisher.publish("one" + i, durable, "k" + i);
    }
    publisher.publishBatch(IntStream.range(0, 30).mapToObj(i -> "batch" + i).toList(), durable);
    publisher.pipeline(p -> {
      for (int i = 0; i < 30; i++) {
        p.publish("piped" + i, durable, "k" + i);
      }
    });
    long total = 0;
    Set<Integer> masters = new HashSet<>();
    for (int i = 0; i < 16; i++) {
      long length = (Long) cluster.command("XLEN", durable.partitionKey(i));
      total += length;
      if (length > 0) {
        masters.add(cluster.masterFor(durable.partitionKey(i)).port());
      }
    }
    assertThat(total).isEqualTo(90);
    assertThat(masters).hasSize(3);
    assertThat(cluster.command("XLEN", durable.partitionKey(Partitions.of("k7", 16)))).isNotEqualTo(0L);
  }
}
