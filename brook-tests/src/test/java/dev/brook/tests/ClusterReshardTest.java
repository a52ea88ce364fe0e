package dev.brook.tests;

import static dev.brook.redis.Redis.list;
import static dev.brook.redis.Redis.stream;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import dev.brook.Destination;
import dev.brook.Subscription;
import dev.brook.redis.Backlog;
import dev.brook.redis.RedisBroker;
import dev.brook.testing.RedisCluster;
import dev.brook.testing.RedisServer;
import dev.brook.testing.WithRedisCluster;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

/**
 * The slots of a list's and a stream's hash tags moved to another master ({@link RedisCluster#moveSlots}, one key a
 * {@code MIGRATE}, as {@code redis-cli --cluster reshard} does) while publishers and consumers keep working: Lettuce
 * follows {@code ASK} and {@code MOVED}, Redis moves clients blocked on a migrated slot with {@code MOVED}, and
 * Brook's scripts retry {@code TRYAGAIN}; nothing is lost or handled twice (exact counts), no publish fails (durable
 * ones, {@code waitForReplicas}, which go straight to the slot's master, follow {@code MOVED} and {@code ASK} to the
 * node Redis names), the consumers carry on on the new owner, and Brook logs no error storm (its WARN
 * and ERROR lines are counted).
 */
@WithRedisCluster
class ClusterReshardTest {

  private static final org.slf4j.Logger LOG = LoggerFactory.getLogger(ClusterReshardTest.class);
  private static final Duration WITHIN = Duration.ofSeconds(20);

  private final TestResources resources = new TestResources();
  private final ListAppender<ILoggingEvent> log = new ListAppender<>();
  private final Logger brookLog = (Logger) LoggerFactory.getLogger("dev.brook");

  @AfterEach
  void closeAll() throws Exception {
    brookLog.detachAppender(log);
    resources.close();
  }

  @Test
  void aListAndAStreamMovedToAnotherMasterWhileConsuming_loseNothing_andLogNoErrorStorm(RedisCluster cluster)
      throws Exception {
    log.start();
    brookLog.addAppender(log);
    RedisServer from = cluster.masters().getFirst();
    RedisServer to = cluster.masters().get(1);
    Kind list = new Kind("list", list(ClusterFailoverTest.keyOn(cluster, from, "rs.l")));
    Kind stream = new Kind("stream", stream(ClusterFailoverTest.keyOn(cluster, from, "rs.s")).group("g"));
    // Published with WAIT: the write and its WAIT go straight to the master of the slot (not through Lettuce's
    // redirects); one that reaches the old owner after the move is answered MOVED (or ASK during it) and Brook sends
    // it, with its WAIT, to the node Redis named.
    Kind durable = new Kind("durable list", list(ClusterFailoverTest.keyOn(cluster, from, "rs.d"))
        .waitForReplicas(1, Duration.ofMillis(500)));
    List<Kind> kinds = List.of(list, stream, durable);
    RedisBroker consumers = resources.broker(cluster.url(), b -> b.clientName("rs-consumers"));
    RedisBroker publishers = resources.broker(cluster.url(), b -> b.clientName("rs-publishers"));
    for (Kind k : kinds) {
      // Slow enough handlers that the consumers hold unsettled messages while their keys move.
      consumers.subscriber(k.destination).concurrency(4).handle(Long.class, (n, ctx) -> {
        k.received.computeIfAbsent(n, x -> new AtomicInteger()).incrementAndGet();
        ClusterFailoverTest.sleep(n % 10 == 0 ? 5 : 0);
        return null;
      });
    }
    consumers.start();
    publishers.start();
    AtomicBoolean publishing = new AtomicBoolean(true);
    List<Thread> threads = new ArrayList<>();
    for (Kind k : kinds) {
      threads.add(Thread.ofVirtual().name("rs-publish-" + k.name).start(() -> {
        long n = 0;
        while (publishing.get()) {
          long next = n++;
          k.sent.set(n);
          try {
            publishers.publish(next, k.destination);
            k.acked.add(next);
          } catch (RuntimeException e) {
            k.failed.incrementAndGet();
            k.lastFailure = e.toString();
            if (k.failures.size() < 100) {
              k.failures.add(e.toString());
            }
          }
          ClusterFailoverTest.sleep(next % 5 == 0 ? 1 : 0);
        }
      }));
    }
    awaitHandled(kinds, 300);

    long t0 = System.nanoTime();
    int movedKeys = 0;
    for (Kind k : kinds) {
      movedKeys += cluster.moveSlots(RedisCluster.slot(k.key()), RedisCluster.slot(k.key()), to, 1);
    }
    long moveMillis = (System.nanoTime() - t0) / 1_000_000;
    assertThat(cluster.masterFor(list.key())).isSameAs(to);
    assertThat(cluster.masterFor(stream.key())).isSameAs(to);
    assertThat(cluster.masterFor(durable.key())).isSameAs(to);
    awaitHandled(kinds, 300);
    publishing.set(false);
    for (Thread t : threads) {
      t.join(Duration.ofSeconds(10));
    }
    await().atMost(WITHIN).pollInterval(Duration.ofMillis(50)).untilAsserted(() -> {
      for (Kind k : kinds) {
        Backlog b = consumers.backlog(consumers.subscriptions().stream()
            .filter(s -> s.destination().equals(k.destination)).findFirst().orElseThrow());
        assertThat(k != stream ? List.of(b.length(), b.processing()) : List.of(b.lag(), b.pending()))
            .as(k.name + " backlog " + b).containsOnly(0L);
      }
    });
    long warns = log.list.stream().filter(e -> e.getLevel() == Level.WARN).count();
    long errors = log.list.stream().filter(e -> e.getLevel() == Level.ERROR).count();
    String report = "moved " + movedKeys + " keys in " + moveMillis + " ms; " + kinds + "; Brook logged " + warns
        + " WARN and " + errors + " ERROR lines: " + log.list.stream().map(ILoggingEvent::getFormattedMessage).toList();
    LOG.info("Reshard under load: {}", report);
    System.out.println("Reshard under load: " + report);

    for (Kind k : kinds) {
      // Durable ones too: a write (and its WAIT) that reached the old owner is sent again where MOVED/ASK says.
      assertThat(k.failed.get()).as(k.name + " publishes failed (last: " + k.lastFailure + ")").isZero();
      assertThat(k.received.keySet()).as(k.name + ": every acknowledged message handled").isEqualTo(k.acked);
      assertThat(k.received.values()).as(k.name + ": none handled twice").allMatch(c -> c.get() == 1);
    }
    for (Subscription s : consumers.subscriptions()) {
      assertThat(s.state()).as(s.id()).isEqualTo(Subscription.State.RUNNING);
    }
    // The old owner holds nothing of theirs any more: every key (queue, processing list, heartbeat, stream) moved.
    // (Brokers' announcements for the console, brook:*, live in slots of their own.)
    assertThat(((List<?>) from.command("KEYS", "*")).stream().map(String::valueOf).filter(k -> !k.startsWith("brook:"))).isEmpty();
    assertThat(errors).as("ERROR lines").isZero();
    // TRYAGAIN while a slot is split (a list's move script and settlement, a stream's settlement) and what they
    // lead to: a few lines per destination moved, each saying it is retried, then that it works again.
    assertThat(warns).as("WARN lines").isLessThanOrEqualTo(4L * kinds.size());
    assertThat(log.list).as("a migrated stream is not taken for a deleted one")
        .noneMatch(e -> e.getFormattedMessage().contains("is gone"));
  }

  @Test
  void aStreamConsumerBlockedOnTheOldOwnerFollowsItsStream(RedisCluster cluster) {
    log.start();
    brookLog.addAppender(log);
    RedisServer from = cluster.masters().getFirst();
    RedisServer to = cluster.masters().get(1);
    Kind stream = new Kind("stream", stream(ClusterFailoverTest.keyOn(cluster, from, "rs.b")).group("g"));
    RedisBroker broker = resources.broker(cluster.url(), b -> b.clientName("rs-blocked"));
    broker.subscriber(stream.destination).handle(Long.class, (n, ctx) -> {
      stream.received.computeIfAbsent(n, x -> new AtomicInteger()).incrementAndGet();
      return null;
    });
    broker.start();
    for (long n = 0; n < 10; n++) {
      broker.publish(n, stream.destination);
    }
    await().atMost(WITHIN).until(() -> stream.received.size() == 10);
    // Idle: its XREADGROUP blocks on the old owner, and MIGRATE deleting the stream there ends it (UNBLOCKED).
    await().atMost(WITHIN).until(() -> ((String) from.command("CLIENT", "LIST")).lines()
        .anyMatch(l -> l.contains("name=rs-blocked") && l.contains("cmd=xreadgroup") && l.contains("flags=b")));

    cluster.moveSlotOf(stream.key(), to);
    for (long n = 10; n < 20; n++) {
      broker.publish(n, stream.destination);
    }

    await().atMost(WITHIN).until(() -> stream.received.size() == 20);
    assertThat(stream.received.values()).as("none handled twice").allMatch(c -> c.get() == 1);
    assertThat(log.list).as("a migrated stream is not taken for a deleted one: no WARN, the group is not made again")
        .noneMatch(e -> e.getLevel().isGreaterOrEqual(Level.WARN));
  }

  @Test
  void slotsMovedByRedisCliItselfWhileConsuming(RedisCluster cluster) throws Exception {
    log.start();
    brookLog.addAppender(log);
    RedisServer from = cluster.masters().getFirst();
    RedisServer to = cluster.masters().get(2);
    // redis-cli moves the lowest slots of the source: give both destinations a hash tag of that slot.
    int first = cluster.slotsOf(from).getFirst();
    String tag = java.util.stream.IntStream.iterate(0, i -> i + 1).mapToObj(i -> "t" + i)
        .filter(t -> RedisCluster.slot(t) == first).findFirst().orElseThrow();
    Kind list = new Kind("list", list("{" + tag + "}jobs"));
    Kind stream = new Kind("stream", stream("{" + tag + "}events").group("g"));
    List<Kind> kinds = List.of(list, stream);
    RedisBroker consumers = resources.broker(cluster.url(), b -> b.clientName("rs-cli-consumers"));
    RedisBroker publishers = resources.broker(cluster.url(), b -> b.clientName("rs-cli-publishers"));
    for (Kind k : kinds) {
      consumers.subscriber(k.destination).concurrency(4).handle(Long.class, (n, ctx) -> {
        k.received.computeIfAbsent(n, x -> new AtomicInteger()).incrementAndGet();
        return null;
      });
    }
    consumers.start();
    publishers.start();
    AtomicBoolean publishing = new AtomicBoolean(true);
    List<Thread> threads = new ArrayList<>();
    for (Kind k : kinds) {
      threads.add(Thread.ofVirtual().name("rs-cli-publish-" + k.name).start(() -> {
        long n = 0;
        while (publishing.get()) {
          long next = n++;
          k.sent.set(n);
          try {
            publishers.publish(next, k.destination);
            k.acked.add(next);
          } catch (RuntimeException e) {
            k.failed.incrementAndGet();
            k.lastFailure = e.toString();
            if (k.failures.size() < 100) {
              k.failures.add(e.toString());
            }
          }
          ClusterFailoverTest.sleep(1);
        }
      }));
    }
    awaitHandled(kinds, 200);

    List<Integer> moved = cluster.reshardWithRedisCli(1, from, to);

    assertThat(moved).containsExactly(first);
    assertThat(cluster.masterFor(list.key())).isSameAs(to);
    awaitHandled(kinds, 200);
    publishing.set(false);
    for (Thread t : threads) {
      t.join(Duration.ofSeconds(10));
    }
    await().atMost(WITHIN).pollInterval(Duration.ofMillis(20)).until(() -> kinds.stream()
        .allMatch(k -> k.received.keySet().equals(k.acked)));
    System.out.println("redis-cli reshard under load: " + kinds + "; Brook logged " + log.list.stream()
        .filter(e -> e.getLevel().isGreaterOrEqual(Level.WARN)).map(ILoggingEvent::getFormattedMessage).toList());
    for (Kind k : kinds) {
      assertThat(k.failed.get()).as(k.name + " publishes failed (last: " + k.lastFailure + ")").isZero();
      assertThat(k.received.values()).as(k.name + ": none handled twice").allMatch(c -> c.get() == 1);
    }
    assertThat(log.list).noneMatch(e -> e.getLevel() == Level.ERROR || e.getFormattedMessage().contains("is gone"));
    assertThat(log.list.stream().filter(e -> e.getLevel() == Level.WARN).count()).as("WARN lines")
        .isLessThanOrEqualTo(4L * kinds.size());
  }

  private static void awaitHandled(List<Kind> kinds, int more) {
    Map<Kind, Integer> from = new java.util.HashMap<>();
    kinds.forEach(k -> from.put(k, k.received.size()));
    await().atMost(WITHIN).pollInterval(Duration.ofMillis(10)).untilAsserted(() -> {
      for (Kind k : kinds) {
        assertThat(k.received.size() - from.get(k)).as(k.name + " (last publish failure: " + k.lastFailure + ")")
            .isGreaterThanOrEqualTo(more);
      }
    });
  }

  private static final class Kind {
    final String name;
    final Destination destination;
    final Map<Long, AtomicInteger> received = new ConcurrentHashMap<>();
    final Set<Long> acked = ConcurrentHashMap.newKeySet();
    final AtomicLong sent = new AtomicLong();
    final AtomicLong failed = new AtomicLong();
    volatile String lastFailure;
    final List<String> failures = new java.util.concurrent.CopyOnWriteArrayList<>();

    Kind(String name, Destination destination) {
      this.name = name;
      this.destination = destination;
    }

    String key() {
      return destination.name();
    }

    @Override
    public String toString() {
      return name + " " + destination.name() + ": sent " + sent.get() + ", acknowledged " + acked.size() + ", failed "
          + failed.get() + (lastFailure == null ? "" : " (last: " + lastFailure + ")") + ", handled " + received.size();
    }
  }
}
