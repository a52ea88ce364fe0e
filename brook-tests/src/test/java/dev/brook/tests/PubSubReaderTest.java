package dev.brook.tests;

import static dev.brook.redis.Redis.channel;
import static dev.brook.redis.Redis.pattern;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.brook.Subscription;
import dev.brook.redis.RedisBroker;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Brook's own Pub/Sub reader on a standalone Redis (issue 21: a blocking socket read by one platform
 * thread, {@code brook-pubsub-reader}): it is the one in use, reconnects and subscribes again after
 * the server ends the connection or restarts (one gap counted, messages flow again), authenticates as
 * the URL's ACL user, skips a message over maxMessageSize, leaves no thread or socket when closed in
 * the middle of a reconnect loop or of 10,000 subscribes, and keeps the server's subscriptions equal
 * to the routes while many threads subscribe and unsubscribe one channel at once.
 */
class PubSubReaderTest extends RedisTestBase {

  private static final String READER = "brook-pubsub-reader";

  private static long readers() {
    return Threads.platformNames().stream().filter(READER::equals).count();
  }

  /** Publishes to {@code channel} every 20 ms until {@code got} has grown; how long that took. */
  private Duration publishUntilHeard(String channel, Calls<String> got, int before) {
    long t0 = System.nanoTime();
    await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(20)).until(() -> {
      redis.command("PUBLISH", channel, "again");
      return got.count() > before;
    });
    return Duration.ofNanos(System.nanoTime() - t0);
  }

  private List<String> clientLines(String name) {
    String list = (String) redis.command("CLIENT", "LIST");
    return list.lines().filter(l -> l.contains(" name=" + name + " ")).toList();
  }

  @Test
  void theReaderIsInUseAndComesBackAfterClientKillTypePubsub() {
    long before = readers();
    RedisBroker broker = broker(b -> b.clientName("reader-kill"));
    Calls<String> onChannel = new Calls<>();
    Calls<String> onPattern = new Calls<>();
    broker.subscriber(channel("k.ch")).handle(String.class, onChannel);
    broker.subscriber(pattern("k.p.*")).handle(String.class, onPattern);
    broker.start();
    assertThat(readers()).isEqualTo(before + 1);
    List<String> subscribed = clientLines("reader-kill").stream().filter(l -> !l.contains(" sub=0 ")
        || !l.contains(" psub=0 ")).toList();
    assertThat(subscribed).hasSize(1);
    assertThat(subscribed.get(0)).contains(" sub=1 ").contains(" psub=1 ").endsWith(" resp=3");

    broker.publish("first", channel("k.ch"));
    assertThat(onChannel.awaitOne().payload()).isEqualTo("first");

    assertThat((Long) redis.command("CLIENT", "KILL", "TYPE", "pubsub")).isEqualTo(1L);
    await().atMost(Duration.ofSeconds(5)).until(() -> broker.pubSubMetrics().disconnects() == 1);
    Duration channelBack = publishUntilHeard("k.ch", onChannel, 1);
    Duration patternBack = publishUntilHeard("k.p.x", onPattern, 0);
    System.out.printf("PUBSUB-READER after CLIENT KILL: channel back in %d ms, pattern in %d ms%n",
        channelBack.toMillis(), patternBack.toMillis());
    assertThat(redis.command("PUBSUB", "NUMSUB", "k.ch")).isEqualTo(List.of("k.ch", 1L));
    assertThat(redis.command("PUBSUB", "NUMPAT")).isEqualTo(1L);
    assertThat(broker.pubSubMetrics().disconnects()).isEqualTo(1);
    assertThat(readers()).isEqualTo(before + 1);
    broker.close();
    await().atMost(Duration.ofSeconds(5)).until(() -> readers() == before);
  }

  /**
   * The idle check's PING, shortened to 300 ms (internal property), on a real Redis: a subscribed
   * RESP3 connection answers it ({@code +PONG}), so an idle reader keeps its connection, and Redis
   * shows the PING as the reader's last command.
   */
  @Test
  void anIdleReaderPingsAndARealRedisAnswersWithoutAReconnect() {
    // Read when the reader is built (at start): set around the whole test, cleared for the others.
    System.setProperty("brook.internal.pubsubIdlePingMillis", "300");
    try {
      RedisBroker broker = broker(b -> b.clientName("reader-ping").commandTimeout(Duration.ofMillis(800)));
      Calls<String> onChannel = new Calls<>();
      broker.subscriber(channel("i.ch")).handle(String.class, onChannel);
      broker.start();
      await().atMost(Duration.ofSeconds(5)).until(() -> clientLines("reader-ping").stream()
          .anyMatch(l -> l.contains(" sub=1 ") && l.contains(" cmd=ping ")));
      await().during(Duration.ofSeconds(3)).atMost(Duration.ofSeconds(5))
          .until(() -> broker.pubSubMetrics().disconnects() == 0);
      List<String> reader = clientLines("reader-ping").stream().filter(l -> l.contains(" sub=1 ")).toList();
      assertThat(reader).hasSize(1);
      assertThat(reader.get(0)).contains(" cmd=ping ").endsWith(" resp=3");
      broker.publish("after", channel("i.ch"));
      assertThat(onChannel.awaitOne().payload()).isEqualTo("after");
      assertThat(broker.pubSubMetrics().disconnects()).isZero();
      broker.close();
    } finally {
      System.clearProperty("brook.internal.pubsubIdlePingMillis");
    }
  }

  @Test
  void aRedisRestartIsOneGapAndTheSubscriptionsComeBack() {
    RedisBroker broker = broker();
    Calls<String> onChannel = new Calls<>();
    Calls<String> onPattern = new Calls<>();
    broker.subscriber(channel("r.ch")).handle(String.class, onChannel);
    broker.subscriber(pattern("r.p.*")).handle(String.class, onPattern);
    broker.start();
    broker.publish("first", channel("r.ch"));
    assertThat(onChannel.awaitOne().payload()).isEqualTo("first");
    redis.kill();
    redis.restart();
    Duration channelBack = publishUntilHeard("r.ch", onChannel, 1);
    Duration patternBack = publishUntilHeard("r.p.1", onPattern, 0);
    System.out.printf("PUBSUB-READER after a restart: channel back in %d ms, pattern in %d ms%n",
        channelBack.toMillis(), patternBack.toMillis());
    assertThat(channelBack).isLessThan(Duration.ofSeconds(3));
    assertThat(broker.pubSubMetrics().disconnects()).isEqualTo(1);
    assertThat(redis.command("PUBSUB", "NUMSUB", "r.ch")).isEqualTo(List.of("r.ch", 1L));
  }

  @Test
  void anAclUserOfTheUrlIsWhoTheReaderIs() {
    redis.command("ACL", "SETUSER", "reader", "on", ">s3cret", "~*", "&*", "+@all");
    try {
      RedisBroker broker = RedisBroker.builder().url("redis://reader:s3cret@127.0.0.1:" + redis.port())
          .clientName("acl-reader").build();
      closeLater(broker);
      Calls<String> got = new Calls<>();
      broker.subscriber(channel("acl.ch")).handle(String.class, got);
      broker.start();
      broker.publish("hello", channel("acl.ch"));
      assertThat(got.awaitOne().payload()).isEqualTo("hello");
      List<String> sub = clientLines("acl-reader").stream().filter(l -> l.contains(" sub=1 ")).toList();
      assertThat(sub).hasSize(1);
      assertThat(sub.get(0)).contains(" user=reader ");
      broker.close();
    } finally {
      redis.command("ACL", "DELUSER", "reader");
    }
  }

  @Test
  void aMessageOverMaxMessageSizeIsCountedAndTheNextOneHandled() {
    RedisBroker broker = broker(b -> b.maxMessageSize(1024));
    Calls<byte[]> got = new Calls<>();
    Subscription s = broker.subscriber(channel("big.ch")).handle(byte[].class, got);
    broker.start();
    var raw = raw().sync();
    raw.publish(utf8("big.ch"), new byte[8 * 1024 * 1024]);
    raw.publish(utf8("big.ch"), utf8("small"));
    assertThat(got.awaitOne().payload()).isEqualTo(utf8("small"));
    assertThat(s.metrics().decodeErrors()).isEqualTo(1);
    assertThat(broker.pubSubMetrics().disconnects()).isZero();
    assertThat(broker.pubSubMetrics().received()).isEqualTo(2);
  }

  /**
   * A broker that subscribes once and closes, so that JVM-wide lazies are not counted: the first
   * blocking connect on a virtual thread (a start's) creates the JDK's I/O pollers, epoll descriptors
   * that live as long as the JVM.
   */
  private void warmUp() {
    try (RedisBroker warm = broker()) {
      warm.subscriber(channel("warm")).handle(String.class, new Calls<>());
      warm.start();
    }
  }

  @Test
  void closeDuringTheReconnectLoopLeavesNoThreadAndNoSocket() {
    warmUp();
    await().atMost(Duration.ofSeconds(10)).until(() -> readers() == 0);
    Map<String, Integer> fdsBefore = FileDescriptors.byKind();
    List<String> threadsBefore = Threads.brookThreads();
    RedisBroker broker = broker();
    broker.subscriber(channel("loop.ch")).handle(String.class, new Calls<>());
    broker.start();
    assertThat(readers()).isEqualTo(1);
    redis.kill();
    try {
      await().atMost(Duration.ofSeconds(5)).until(() -> broker.pubSubMetrics().disconnects() == 0
          && broker.pubSubMetrics().downtime().toMillis() > 300); // down, and the reader is backing off
      long t0 = System.nanoTime();
      broker.close();
      System.out.printf("PUBSUB-READER close during the reconnect loop took %d ms%n",
          TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0));
      await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> {
        assertThat(readers()).isZero();
        assertThat(Threads.brookThreads()).isEqualTo(threadsBefore);
        assertThat(FileDescriptors.grown(fdsBefore, FileDescriptors.byKind())).isEmpty();
      });
    } finally {
      redis.restart();
    }
  }

  @Test
  @Timeout(value = 60, unit = TimeUnit.SECONDS)
  void closeDuringTenThousandSubscribesLeavesNoThreadNoSocketNoSubscription() throws Exception {
    await().atMost(Duration.ofSeconds(10)).until(() -> readers() == 0);
    warmUp();
    for (int round = 0; round < 3; round++) {
      int counted = round;
      Map<String, Integer> fdsBefore = FileDescriptors.byKind();
      List<String> threadsBefore = Threads.brookThreads();
      RedisBroker broker = RedisBroker.builder().url(redis.url()).clientName("close-10k").build();
      for (int i = 0; i < 10_000; i++) {
        broker.subscriber(channel("t" + i)).handle(String.class, (p, ctx) -> null);
      }
      Thread starter = Thread.ofPlatform().start(() -> {
        try {
          broker.start();
        } catch (RuntimeException closedMeanwhile) {
          // expected: the broker closes under it
        }
      });
      await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(1))
          .until(() -> readers() == 1 || !starter.isAlive());
      Thread.sleep(round * 20L); // at several points of the subscribing
      broker.close();
      starter.join(20_000);
      assertThat(starter.isAlive()).isFalse();
      await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
        assertThat(readers()).isZero();
        assertThat(Threads.brookThreads()).isEqualTo(threadsBefore);
        assertThat(FileDescriptors.grown(fdsBefore, FileDescriptors.byKind())).as("round %d", counted).isEmpty();
        assertThat(clientLines("close-10k")).isEmpty();
        assertThat((List<?>) redis.command("PUBSUB", "CHANNELS", "t*")).isEmpty();
      });
    }
  }

  @Test
  @Timeout(value = 60, unit = TimeUnit.SECONDS)
  void racingSubscribesAndUnsubscribesOfOneChannelEndWithTheServerMatchingTheRoutes() throws Exception {
    RedisBroker broker = broker(b -> b.clientName("race"));
    Calls<String> keeper = new Calls<>();
    broker.subscriber(channel("race.keep")).handle(String.class, keeper);
    broker.start();
    int threads = 16;
    ExecutorService pool = Executors.newFixedThreadPool(threads);
    CountDownLatch go = new CountDownLatch(1);
    List<Future<Subscription>> left = new ArrayList<>();
    try {
      for (int t = 0; t < threads; t++) {
        int me = t;
        left.add(pool.submit(() -> {
          go.await();
          Subscription last = null;
          for (int i = 0; i < 50; i++) {
            Subscription s = broker.subscriber(channel(i % 2 == 0 ? "race.a" : "race.b")).id("t" + me + "-" + i)
                .handle(String.class, (p, ctx) -> null);
            s.start();
            if (ThreadLocalRandom.current().nextBoolean()) {
              Thread.onSpinWait();
            }
            s.close();
            last = s;
          }
          // Thread 0 leaves one subscription of race.a open; everyone else closes all of theirs.
          if (me == 0) {
            Subscription s = broker.subscriber(channel("race.a")).id("t0-last").handle(String.class, (p, ctx) -> null);
            s.start();
            return s;
          }
          return last;
        }));
      }
      go.countDown();
      for (Future<Subscription> f : left) {
        f.get(50, TimeUnit.SECONDS);
      }
    } finally {
      pool.shutdownNow();
    }
    assertThat(redis.command("PUBSUB", "NUMSUB", "race.a", "race.b", "race.keep"))
        .isEqualTo(List.of("race.a", 1L, "race.b", 0L, "race.keep", 1L));
    assertThat((List<Object>) redis.command("PUBSUB", "CHANNELS", "race.*")).containsExactlyInAnyOrder("race.a", "race.keep");
    assertThat(broker.pubSubMetrics().disconnects()).isZero();
    broker.publish("still here", channel("race.keep"));
    assertThat(keeper.awaitOne().payload()).isEqualTo("still here");
  }
}
