package dev.brook.tests;

import static dev.brook.redis.Redis.channel;
import static dev.brook.redis.Redis.list;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import dev.brook.BrookException;
import dev.brook.redis.RedisBroker;
import dev.brook.testing.RedisServer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

/**
 * The transport's lifecycle under concurrency: connecting never holds a lock others wait on (a
 * close does not wait for a connect to time out; consumers' connections open in parallel), a close
 * racing with starts leaves no connection and no thread, a wrong database number says so, and the
 * leak detector's thread lives only while a broker is open.
 */
class TransportLifecycleTest extends RedisTestBase {

  private long clientsNamed(String name) {
    String list = (String) redis.command("CLIENT", "LIST");
    return list.lines().filter(l -> l.contains(" name=" + name + " ")).count();
  }

  /** No broker of an earlier test is still open (one dropped unclosed is collected first). */
  private static void awaitNoBrookThread() {
    await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
      System.gc();
      assertThat(Threads.brookThreads()).isEmpty();
    });
  }

  // ---- database number ----------------------------------------------------------------------

  @Test
  void aDatabaseNumberTheServerDoesNotHaveSaysSo() throws Exception {
    try (RedisBroker broker = RedisBroker.create(redis.url() + "/99")) {
      assertThatThrownBy(broker::start)
          .isInstanceOf(BrookException.class)
          .hasMessage("Redis at " + redis.url() + "/99 has no database 99 (it has 16 databases: 0..15); use a database "
              + "number below 16 in the URL, or raise `databases` in redis.conf.");
    }
    try (RedisServer four = RedisServer.builder().arg("--databases", "4").start();
        RedisBroker broker = RedisBroker.create(four.url() + "/4")) {
      assertThatThrownBy(() -> broker.publish("x", channel("nobody")))
          .isInstanceOf(BrookException.class)
          .hasMessage("Redis at " + four.url() + "/4 has no database 4 (it has 4 databases: 0..3); use a database "
              + "number below 4 in the URL, or raise `databases` in redis.conf.");
    }
    awaitNoBrookThread();
  }

  // ---- no I/O under the lock ----------------------------------------------------------------

  @Test
  void closeDoesNotWaitForAConnectInProgress() throws Exception {
    try (DelayProxy silent = DelayProxy.blackHole()) {
      String url = "redis://127.0.0.1:" + silent.port();
      RedisBroker broker = RedisBroker.builder().url(url)
          .connectTimeout(Duration.ofSeconds(30)).commandTimeout(Duration.ofSeconds(30)).build();
      CompletableFuture<Void> starting = CompletableFuture.runAsync(broker::start, r -> Thread.ofVirtual().start(r));
      await().atMost(Duration.ofSeconds(10)).until(() -> silent.accepted() == 1); // connecting, no answer coming

      long t0 = System.nanoTime();
      broker.close();
      Duration took = Duration.ofNanos(System.nanoTime() - t0);
      assertThat(took).as("close with a connect in progress").isLessThan(Duration.ofSeconds(10));

      assertThatThrownBy(() -> starting.get(10, TimeUnit.SECONDS))
          .isInstanceOf(ExecutionException.class)
          .cause()
          .isInstanceOf(IllegalStateException.class)
          .hasMessage("Broker " + url + " is closed; create a new one.");
      System.out.printf("LIFECYCLE close during a connect took %d ms%n", took.toMillis());
    }
    assertThat(Threads.brookThreads()).isEmpty();
  }

  @Test
  void consumersOpenTheirConnectionsInParallel() throws Exception {
    Duration delay = Duration.ofMillis(500);
    int n = 20;
    try (DelayProxy slow = new DelayProxy(redis.port(), delay)) {
      RedisBroker broker = RedisBroker.builder().url("redis://127.0.0.1:" + slow.port()).clientName("parallel").build();
      closeLater(broker);
      broker.publish("connect", channel("nobody")); // the command connection, before timing
      for (int i = 0; i < n; i++) {
        broker.subscriber(list("parallel" + i)).handle(String.class, new Calls<>());
      }
      long t0 = System.nanoTime();
      broker.start();
      Duration took = Duration.ofNanos(System.nanoTime() - t0);
      System.out.printf("LIFECYCLE %d list subscriptions, each connection %d ms slow to open, started in %d ms%n",
          n, delay.toMillis(), took.toMillis());
      assertThat(clientsNamed("parallel")).isEqualTo(n + 1);
      // One after another they would take n x 500 ms = 10 s.
      assertThat(took).isLessThan(delay.multipliedBy(n / 4));
    }
  }

  @Test
  void fiftyStartsRacingWithCloseLeaveNoConnectionAndNoThread() throws Exception {
    awaitNoBrookThread();
    int n = 50;
    try (DelayProxy slow = new DelayProxy(redis.port(), Duration.ofMillis(300))) {
      String url = "redis://127.0.0.1:" + slow.port();
      RedisBroker broker = RedisBroker.builder().url(url).clientName("racing").build();
      broker.start();
      int before = slow.accepted();
      CountDownLatch go = new CountDownLatch(1);
      AtomicInteger started = new AtomicInteger();
      ConcurrentLinkedQueue<Throwable> failures = new ConcurrentLinkedQueue<>();
      List<Thread> threads = new ArrayList<>();
      for (int i = 0; i < n; i++) {
        String name = "race" + i;
        threads.add(Thread.ofPlatform().name("racer-" + i).start(() -> {
          try {
            go.await();
            broker.subscriber(list(name)).handle(String.class, new Calls<>());
            started.incrementAndGet();
          } catch (Throwable t) {
            failures.add(t);
          }
        }));
      }
      go.countDown();
      // Close while consumer connections are being opened (the proxy holds each for 300 ms).
      await().atMost(Duration.ofSeconds(10)).until(() -> slow.accepted() - before >= 10);
      broker.close();
      for (Thread t : threads) {
        t.join(Duration.ofSeconds(30));
      }

      System.out.printf("LIFECYCLE %d starts racing close: %d started, %d refused%n", n, started.get(), failures.size());
      assertThat(started.get() + failures.size()).isEqualTo(n);
      assertThat(failures).allSatisfy(f -> assertThat(f)
          .isInstanceOf(IllegalStateException.class)
          .message().satisfiesAnyOf(
              m -> assertThat(m).isEqualTo("Broker " + url + " is closed; create a new one."),
              m -> assertThat(m).startsWith("Cannot register a subscription on broker " + url + ": it is closed")));
      await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(clientsNamed("racing")).isZero());
      assertThat(Threads.brookThreads()).isEmpty();
      assertThat(broker.subscriptions()).isEmpty();
    }
  }

  // ---- the leak detector's thread ----------------------------------------------------------------

  @Test
  void theLeakDetectorThreadLivesOnlyWhileABrokerIsOpen() {
    awaitNoBrookThread();
    RedisBroker first = RedisBroker.create(redis.url());
    RedisBroker second = RedisBroker.create(redis.url());
    assertThat(Threads.brookThreads()).containsExactly("brook-cleaner");
    second.publish("x", channel("nobody"));
    first.close();
    assertThat(Threads.brookThreads()).contains("brook-cleaner");
    second.close();
    assertThat(Threads.brookThreads()).isEmpty(); // at once: close ends it and waits for it

    for (int i = 0; i < 20; i++) {
      try (RedisBroker broker = RedisBroker.create(redis.url())) {
        broker.publish("x", channel("nobody"));
      }
      assertThat(Threads.brookThreads()).isEmpty();
    }
  }

  @Test
  void aBrokerDroppedUnclosedIsClosedWithAWarnNamingWhereItWasCreated() {
    awaitNoBrookThread();
    Logger logger = (Logger) LoggerFactory.getLogger(RedisBroker.class);
    ListAppender<ILoggingEvent> log = new ListAppender<>();
    log.start();
    logger.addAppender(log);
    try {
      String createdAt = createAndDrop();
      await().atMost(Duration.ofSeconds(20)).until(() -> {
        System.gc();
        return !log.list.isEmpty();
      });
      assertThat(log.list).singleElement().satisfies(e -> {
        assertThat(e.getLevel()).isEqualTo(Level.WARN);
        assertThat(e.getFormattedMessage()).isEqualTo("A RedisBroker for " + redis.url() + " created at " + createdAt
            + " was never closed; closing it now. Call broker.close() (or use try-with-resources) when you are done with it.");
      });
      await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
        assertThat(clientsNamed("dropped")).isZero();
        assertThat(Threads.brookThreads()).isEmpty();
      });
    } finally {
      logger.detachAppender(log);
    }
  }

  /** Creates a connected broker and forgets it; returns where it was created. */
  private String createAndDrop() {
    RedisBroker broker = RedisBroker.builder().url(redis.url()).clientName("dropped").build(); // the line below - 1
    int line = new Throwable().getStackTrace()[0].getLineNumber() - 1;
    broker.publish("x", channel("nobody"));
    assertThat(clientsNamed("dropped")).isEqualTo(1);
    return getClass().getName() + ".createAndDrop(TransportLifecycleTest.java:" + line + ")";
  }
}
