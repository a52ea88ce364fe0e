package dev.brook.tests;

import static dev.brook.redis.Redis.stream;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.brook.Broker;
import dev.brook.MessageContext;
import dev.brook.redis.RedisBroker;
import dev.brook.redis.StreamDestination;
import dev.brook.redis.internal.stream.Partitions;
import io.lettuce.core.cluster.SlotHash;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

/**
 * Partitioned streams with several members of one group on a real Redis: the fair split, leases
 * kept in Redis (never two members reading one partition), rebalancing when members join, leave or
 * crash (within two lease periods), per-key order through it all, and nothing left behind by close.
 * Lease time 1 s, so a rebalance takes about a second.
 */
class PartitionedStreamTest extends RedisTestBase {

  private static final Duration LEASE = Duration.ofSeconds(1);
  private static final StreamDestination ORDERS = stream("orders").partitions(16).group("g").leaseTime(LEASE);

  /**
   * Who handles what: for each message its member and partition; fails the test (through {@link
   * #overlaps}) when two members handle messages of one partition at the same time.
   */
  private static final class Ledger {
    final Map<String, List<String>> byKey = new ConcurrentHashMap<>();
    final Map<String, AtomicInteger> counts = new ConcurrentHashMap<>();
    final Map<String, String> memberOf = new ConcurrentHashMap<>();
    /** partition → member → handlers running now. */
    final Map<String, Map<String, AtomicInteger>> active = new ConcurrentHashMap<>();
    final List<String> overlaps = new CopyOnWriteArrayList<>();

    Object handle(String member, String payload, MessageContext ctx) throws InterruptedException {
      String partition = ctx.channel();
      Map<String, AtomicInteger> here = active.computeIfAbsent(partition, p -> new ConcurrentHashMap<>());
      here.computeIfAbsent(member, m -> new AtomicInteger()).incrementAndGet();
      try {
        here.forEach((other, n) -> {
          if (!other.equals(member) && n.get() > 0) {
            overlaps.add(member + " and " + other + " on " + partition);
          }
        });
        Thread.sleep(1);
        String key = ctx.header(Broker.KEY_HEADER);
        if (key != null) {
          byKey.computeIfAbsent(key, k -> new CopyOnWriteArrayList<>()).add(payload);
        }
        memberOf.put(payload, member);
        counts.computeIfAbsent(payload, p -> new AtomicInteger()).incrementAndGet();
        return null;
      } finally {
        here.get(member).decrementAndGet();
      }
    }
  }

  private RedisBroker member(String name, Ledger ledger) {
    RedisBroker broker = broker();
    broker.subscriber(ORDERS.consumer(name)).handle(String.class, (s, ctx) -> ledger.handle(name, s, ctx));
    broker.start();
    return broker;
  }

  /** Partition → owner, from the lease keys in Redis. */
  /** A lease holds {@code <member>#<instance>}: the member's name. */
  static String member(String leaseValue) {
    int hash = leaseValue.lastIndexOf('#');
    return hash < 0 ? leaseValue : leaseValue.substring(0, hash);
  }

  private Map<Integer, String> owners() {
    Map<Integer, String> out = new TreeMap<>();
    for (int i = 0; i < 16; i++) {
      Object owner = redis.command("GET", "{orders:" + i + "}:lease:g");
      if (owner != null) {
        out.put(i, member(owner.toString()));
      }
    }
    return out;
  }

  private Map<String, Long> shares() {
    return owners().values().stream().collect(Collectors.groupingBy(o -> o, TreeMap::new, Collectors.counting()));
  }

  private List<String> keys() {
    @SuppressWarnings("unchecked")
    List<String> keys = new ArrayList<>((List<String>) redis.command("KEYS", "*"));
    keys.removeIf(k -> k.startsWith("brook:")); // the brokers' announcements for the console
    keys.sort(null);
    return keys;
  }

  private static List<String> streams(int n) {
    return IntStream.range(0, n).mapToObj(i -> "{orders:" + i + "}").sorted().toList();
  }

  @Test
  void theSixteenPartitionsOfAStreamSpreadOverTheThreeMastersOfADefaultCluster() {
    // redis-cli --cluster create gives 3 masters slots 0-5460, 5461-10922, 10923-16383.
    int[] masters = new int[3];
    for (int i = 0; i < 16; i++) {
      int slot = SlotHash.getSlot(ORDERS.partitionKey(i));
      masters[slot <= 5460 ? 0 : slot <= 10922 ? 1 : 2]++;
    }
    assertThat(masters).containsExactly(6, 5, 5);
    // The key hash is the same in every language: Python's binascii.crc_hqx(key.encode(), 0) % n.
    assertThat(Partitions.of("customer-1", 16)).isEqualTo(48283 % 16);
    assertThat(Partitions.of("", 16)).isZero();
  }

  @Test
  void threeMembersShareSixteenPartitionsSixFiveFiveAndEachMessageGoesToItsPartitionsOwner() {
    Ledger ledger = new Ledger();
    List<RedisBroker> members = new ArrayList<>();
    for (int m = 0; m < 3; m++) {
      members.add(member("m" + m, ledger));
    }
    await().atMost(LEASE.multipliedBy(2).plusSeconds(1)).until(() -> shares().values().stream().sorted().toList()
        .equals(List.of(5L, 5L, 6L)) && shares().size() == 3);
    Map<Integer, String> owners = owners();
    assertThat(members.stream().allMatch(b -> b.subscriptions().size() == 1)).isTrue();

    RedisBroker publisher = broker();
    for (int i = 0; i < 300; i++) {
      publisher.publish("m" + i, ORDERS, "key-" + (i % 37));
    }
    await().atMost(Duration.ofSeconds(10)).until(() -> ledger.counts.size() == 300);
    assertThat(ledger.counts.values()).allMatch(c -> c.get() == 1);
    for (int i = 0; i < 300; i++) {
      int partition = Partitions.of("key-" + (i % 37), 16);
      assertThat(ledger.memberOf.get("m" + i)).as("m%d on partition %d", i, partition).isEqualTo(owners.get(partition));
    }
    assertThat(ledger.overlaps).isEmpty();

    for (RedisBroker b : members) {
      b.close();
    }
    // Leases and the member set are gone at once; only the streams stay.
    assertThat(keys()).containsExactlyElementsOf(streams(16));
  }

  @Test
  void perKeyOrderHoldsAndNoPartitionHasTwoReadersWhileMembersJoinAndLeave() throws Exception {
    Ledger ledger = new Ledger();
    RedisBroker publisher = broker();
    int keys = 40;
    AtomicInteger sent = new AtomicInteger();
    Map<String, Integer> sequence = new HashMap<>();
    List<String> published = new CopyOnWriteArrayList<>();
    RedisBroker m0 = member("m0", ledger); // first: it creates the group on every partition, at "$"
    Thread producer = Thread.ofVirtual().start(() -> {
      for (int i = 0; !Thread.currentThread().isInterrupted() && i < 4_000; i++) {
        String key = "k" + (i % keys);
        int seq = sequence.merge(key, 1, Integer::sum) - 1;
        String payload = key + ":" + seq;
        publisher.publish(payload, ORDERS, key);
        published.add(payload);
        sent.incrementAndGet();
        if (i % 20 == 0) {
          try {
            Thread.sleep(5);
          } catch (InterruptedException e) {
            return;
          }
        }
      }
    });
    await().atMost(Duration.ofSeconds(5)).until(() -> ledger.counts.size() > 100);
    RedisBroker m1 = member("m1", ledger);
    long joined = System.nanoTime();
    await().atMost(LEASE.multipliedBy(2)).until(() -> shares().equals(Map.of("m0", 8L, "m1", 8L)));
    System.out.printf("second member balanced after %d ms%n", TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - joined));
    RedisBroker m2 = member("m2", ledger);
    await().atMost(LEASE.multipliedBy(2)).until(() -> shares().values().stream().sorted().toList().equals(List.of(5L, 5L, 6L)));
    m0.close(); // leaves: its partitions go to m1 and m2 once its messages are settled
    long left = System.nanoTime();
    await().atMost(LEASE.multipliedBy(2)).until(() -> shares().equals(Map.of("m1", 8L, "m2", 8L)));
    System.out.printf("after a member left, balanced in %d ms%n", TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - left));
    producer.join(Duration.ofSeconds(30));
    assertThat(producer.isAlive()).isFalse();
    await().atMost(Duration.ofSeconds(20)).until(() -> ledger.counts.size() == published.size());

    assertThat(ledger.overlaps).isEmpty();
    // Graceful hand-overs: every message exactly once, and each key's messages in publish order.
    assertThat(ledger.counts.values()).allMatch(c -> c.get() == 1);
    for (Map.Entry<String, List<String>> e : ledger.byKey.entrySet()) {
      List<String> expected = IntStream.range(0, e.getValue().size()).mapToObj(i -> e.getKey() + ":" + i).toList();
      assertThat(e.getValue()).as("order of %s", e.getKey()).containsExactlyElementsOf(expected);
    }
    Set<String> handledBy = new HashSet<>(ledger.memberOf.values());
    assertThat(handledBy).containsExactlyInAnyOrder("m0", "m1", "m2");
    m1.close();
    m2.close();
    assertThat(keys()).containsExactlyElementsOf(streams(16));
  }

  @Test
  void aKilledMembersPartitionsAndPendingEntriesAreTakenOverWithinTwoLeasePeriods() throws Exception {
    int n = 600;
    Process child = new ProcessBuilder(ProcessHandle.current().info().command().orElseThrow(), "-cp",
        System.getProperty("java.class.path"), PartitionCrashConsumer.class.getName(), redis.url(), "orders", "16",
        Long.toString(LEASE.toMillis())).redirectErrorStream(true).start();
    try {
      BufferedReader out = new BufferedReader(new InputStreamReader(child.getInputStream()));
      String line;
      while ((line = out.readLine()) != null && !line.equals("ready")) {
        // skip log lines until the child is consuming
      }
      assertThat(line).as("child started").isEqualTo("ready");
      Thread.ofVirtual().name("crash-child-output").start(() -> {
        try {
          while (out.readLine() != null) {
            // discard: a full pipe would block the child
          }
        } catch (java.io.IOException ended) {
          // killed
        }
      });
      Ledger ledger = new Ledger();
      member("s0", ledger);
      member("s1", ledger);
      await().atMost(LEASE.multipliedBy(3)).until(() -> shares().size() == 3 && shares().get("doomed") != null
          && shares().get("doomed") >= 5);

      RedisBroker publisher = broker();
      List<String> all = IntStream.range(0, n).mapToObj(i -> "m" + i).toList();
      publisher.publishBatch(all, ORDERS);
      await().atMost(Duration.ofSeconds(20)).until(() -> (Long) redis.command("SCARD", "handled:child") >= 20);
      child.toHandle().destroyForcibly(); // SIGKILL: no release, no acks; its leases must expire
      assertThat(child.waitFor(10, TimeUnit.SECONDS)).isTrue();
      long killed = System.nanoTime();
      await().atMost(LEASE.multipliedBy(2).plusMillis(500)).pollInterval(Duration.ofMillis(20))
          .until(() -> shares().equals(Map.of("s0", 8L, "s1", 8L)));
      System.out.printf("a killed member's partitions taken over after %d ms%n",
          TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - killed));

      @SuppressWarnings("unchecked")
      Set<String> byChild = new HashSet<>((List<String>) redis.command("SMEMBERS", "handled:child"));
      assertThat(byChild.size()).as("the child handled some but not all").isBetween(20, n - 1);
      await().atMost(Duration.ofSeconds(20)).until(() -> {
        Set<String> union = new HashSet<>(byChild);
        union.addAll(ledger.counts.keySet());
        return union.size() == n;
      });
      assertThat(ledger.counts.values()).allMatch(c -> c.get() == 1);
      Set<String> duplicates = ledger.counts.keySet().stream().filter(byChild::contains).collect(Collectors.toSet());
      System.out.printf("child handled %d, survivors %d, duplicates %d%n", byChild.size(), ledger.counts.size(),
          duplicates.size());
      // A duplicate is a message the child handled but was killed before acknowledging: at most
      // the 4 handlers it ran plus acknowledgements on their way.
      assertThat(duplicates.size()).isLessThanOrEqualTo(8);
      assertThat(ledger.overlaps).isEmpty();
      for (int i = 0; i < 16; i++) {
        int p = i;
        await().atMost(Duration.ofSeconds(5)).until(() -> (Long) ((List<?>) redis.command("XPENDING", "{orders:" + p + "}", "g")).get(0) == 0);
      }
    } finally {
      child.destroyForcibly();
    }
  }

  @Test
  void aMemberWithAFullBufferHandsPartitionsOverWithinTwoLeasePeriods() {
    Ledger ledger = new Ledger();
    RedisBroker m0 = broker();
    m0.subscriber(ORDERS.consumer("m0")).handle(String.class, (s, ctx) -> {
      Thread.sleep(2); // about 400 a second: a backlog of 1,500 would take seconds to work off
      return ledger.handle("m0", s, ctx);
    });
    m0.start();
    RedisBroker publisher = broker();
    publisher.publishBatch(IntStream.range(0, 1_500).mapToObj(i -> "m" + i).toList(), ORDERS);
    await().atMost(Duration.ofSeconds(5)).until(() -> ledger.counts.size() >= 50);
    member("m1", ledger);
    long joined = System.nanoTime();
    // The given-up partitions' buffered entries go back at once; only the handler running waits.
    await().atMost(LEASE.multipliedBy(2)).until(() -> shares().equals(Map.of("m0", 8L, "m1", 8L)));
    System.out.printf("a busy member's partitions handed over after %d ms, with %d of 1500 handled%n",
        TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - joined), ledger.counts.size());
    assertThat(ledger.counts.size()).isLessThan(1_000);
    await().atMost(Duration.ofSeconds(15)).until(() -> ledger.counts.size() == 1_500);
    assertThat(ledger.counts.values()).allMatch(c -> c.get() == 1);
    assertThat(ledger.overlaps).isEmpty();
    assertThat(new HashSet<>(ledger.memberOf.values())).containsExactlyInAnyOrder("m0", "m1");
  }

  @Test
  void replacingTheSubscriptionWhileConsumingHandsEveryPartitionToTheNewOneAndLosesNothing() throws Exception {
    Ledger ledger = new Ledger();
    RedisBroker broker = broker();
    broker.subscriber(ORDERS.consumer("m")).id("orders").handle(String.class, (s, ctx) -> ledger.handle("old", s, ctx));
    broker.start();
    RedisBroker publisher = broker();
    Thread producer = Thread.ofVirtual().start(() -> {
      for (int i = 0; i < 1_000; i++) {
        publisher.publish("p" + i, ORDERS, "k" + (i % 25));
      }
    });
    await().atMost(Duration.ofSeconds(5)).until(() -> ledger.counts.size() >= 200);
    // REPLACE: the old subscription stops, settles, gives its leases up; the new one (same id, same
    // member name) takes every partition at once.
    broker.subscriber(ORDERS.consumer("m")).id("orders").handle(String.class, (s, ctx) -> ledger.handle("new", s, ctx));
    assertThat(broker.subscriptions()).hasSize(1);
    // The new subscription takes each partition once the old one has released it (same member name,
    // another instance: it never takes the old one's leases as its own).
    await().atMost(LEASE.multipliedBy(2)).until(() -> shares().equals(Map.of("m", 16L)));
    producer.join(Duration.ofSeconds(20));
    await().atMost(Duration.ofSeconds(10)).until(() -> ledger.counts.size() == 1_000);
    assertThat(ledger.counts.values()).allMatch(c -> c.get() == 1);
    assertThat(ledger.overlaps).isEmpty();
    // Per-key order holds across the REPLACE too: the old subscription's drain gives back what no
    // handler started, atomically with its worker (which never takes a key's later entry while an
    // earlier one goes back), and the new one re-delivers those before it reads new entries.
    for (Map.Entry<String, List<String>> e : ledger.byKey.entrySet()) {
      List<Integer> seqs = e.getValue().stream().map(p -> Integer.parseInt(p.substring(1))).toList();
      assertThat(seqs).as("order of %s", e.getKey()).isSorted();
    }
    assertThat(new HashSet<>(ledger.memberOf.values())).containsExactlyInAnyOrder("old", "new");
    broker.close();
    assertThat(keys()).containsExactlyElementsOf(streams(16));
  }

  @Test
  void aMemberWhoseLeaseWasTakenStopsReadingThatPartitionAtOnceAndTakesItBackWhenFree() {
    Ledger ledger = new Ledger();
    member("m0", ledger);
    await().atMost(LEASE.multipliedBy(2)).until(() -> shares().equals(Map.of("m0", 16L)));
    RedisBroker publisher = broker();
    String key = "customer-1";
    int p = Partitions.of(key, 16);
    // Another member holds the lease now (as after a pause longer than the lease time): m0 must stop
    // reading the partition at its next renewal, not go on beside the new owner.
    redis.command("SET", "{orders:" + p + "}:lease:g", "intruder", "PX", "60000");
    await().atMost(LEASE).pollInterval(Duration.ofMillis(10)).until(() -> {
      publisher.publish("probe", ORDERS, "customer-2"); // another partition: still read
      return ledger.counts.containsKey("probe");
    });
    // The member stops the partition at its next renewal (every third of the lease time), well
    // before the lease it had would have expired.
    await().pollDelay(LEASE).atMost(LEASE.plusSeconds(1)).until(() -> true);
    publisher.publish("while-taken", ORDERS, key);
    await().during(Duration.ofMillis(500)).atMost(Duration.ofSeconds(2)).until(() -> !ledger.counts.containsKey("while-taken"));
    redis.command("DEL", "{orders:" + p + "}:lease:g"); // the other member is gone
    await().atMost(LEASE.multipliedBy(2)).until(() -> ledger.counts.containsKey("while-taken"));
    assertThat(owners().get(p)).isEqualTo("m0");
    assertThat(ledger.overlaps).isEmpty();
  }
}
