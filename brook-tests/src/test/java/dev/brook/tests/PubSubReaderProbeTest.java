package dev.brook.tests;

import static dev.brook.redis.Redis.channel;
import static dev.brook.redis.Redis.pattern;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import dev.brook.Subscription;
import dev.brook.redis.RedisBroker;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.slf4j.LoggerFactory;

/**
 * An adversarial probe of Brook's own Pub/Sub reader on a real private Redis: a channel the ACL
 * denies, a password changed while the reader is down, a server that ends every new connection right
 * after HELLO, handlers that block or throw, publish order per channel, subscribes and unsubscribes
 * racing with connection kills, and a close from inside a handler.
 */
class PubSubReaderProbeTest extends RedisTestBase {

  private static final String READER = "brook-pubsub-reader";
  private final ListAppender<ILoggingEvent> log = new ListAppender<>();
  private final List<Logger> watched = List.of((Logger) LoggerFactory.getLogger("dev.brook.redis.PubSub"),
      (Logger) LoggerFactory.getLogger("dev.brook.redis.Connection"));

  @BeforeEach
  void watchLogs() {
    log.start();
    watched.forEach(l -> l.addAppender(log));
  }

  @AfterEach
  void unwatchLogs() {
    watched.forEach(l -> l.detachAppender(log));
  }

  private List<String> warnings() {
    return log.list.stream().filter(e -> e.getLevel() == Level.WARN).map(ILoggingEvent::getFormattedMessage).toList();
  }

  private static long readers() {
    return Threads.platformNames().stream().filter(READER::equals).count();
  }

  private List<String> clientLines(String name) {
    String list = (String) redis.command("CLIENT", "LIST");
    return list.lines().filter(l -> l.contains(" name=" + name + " ")).toList();
  }

  @Test
  void aChannelTheAclDeniesIsNotSubscribedAgainAfterAReconnect() {
    redis.command("ACL", "SETUSER", "limited", "on", ">pw", "~*", "resetchannels", "&ok.*", "+@all");
    try {
      RedisBroker broker = RedisBroker.builder().url("redis://limited:pw@127.0.0.1:" + redis.port())
          .clientName("acl-denied").build();
      closeLater(broker);
      Calls<String> ok = new Calls<>();
      broker.subscriber(channel("ok.a")).handle(String.class, ok);
      broker.start();
      // The broker runs: handle() starts the subscription, and fails it.
      assertThat(org.assertj.core.api.Assertions.catchThrowable(
          () -> broker.subscriber(channel("no.b")).handle(String.class, new Calls<>()))).hasMessageContaining("NOPERM");
      redis.command("CLIENT", "KILL", "TYPE", "pubsub");
      await().atMost(Duration.ofSeconds(5)).until(() -> broker.pubSubMetrics().disconnects() == 1);
      await().atMost(Duration.ofSeconds(5)).pollInterval(Duration.ofMillis(20)).until(() -> {
        redis.command("PUBLISH", "ok.a", "back");
        return ok.count() > 0;
      });
      assertThat(warnings()).as("WARN lines").noneMatch(w -> w.contains("no.b"));
    } finally {
      redis.command("ACL", "DELUSER", "limited");
    }
  }

  @Test
  void aPasswordChangedWhileTheReaderIsDownIsAWarningThatSaysSoAndOneGap() {
    redis.command("ACL", "SETUSER", "rotating", "on", ">old", "~*", "&*", "+@all");
    try {
      RedisBroker broker = RedisBroker.builder().url("redis://rotating:old@127.0.0.1:" + redis.port())
          .clientName("rotating").build();
      closeLater(broker);
      Calls<String> got = new Calls<>();
      broker.subscriber(channel("rot.ch")).handle(String.class, got);
      broker.start();
      redis.command("ACL", "SETUSER", "rotating", "resetpass", ">new");
      redis.command("CLIENT", "KILL", "TYPE", "pubsub");
      await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> assertThat(warnings())
          .anyMatch(w -> w.contains("WRONGPASS") && w.contains("Pub/Sub")));
      redis.command("ACL", "SETUSER", "rotating", ">old");
      await().atMost(Duration.ofSeconds(5)).pollInterval(Duration.ofMillis(20)).until(() -> {
        redis.command("PUBLISH", "rot.ch", "back");
        return got.count() > 0;
      });
      assertThat(broker.pubSubMetrics().disconnects()).isEqualTo(1);
    } finally {
      redis.command("ACL", "DELUSER", "rotating");
    }
  }

  /**
   * A loopback proxy to the private Redis; while {@code cut} is set, every new connection is ended
   * right after the server's first reply (HELLO's) has been passed on.
   */
  private static final class HelloCutter implements AutoCloseable {
    final ServerSocket server;
    final AtomicBoolean cut = new AtomicBoolean();
    final AtomicInteger cutOff = new AtomicInteger();
    final Set<Socket> sockets = ConcurrentHashMap.newKeySet();

    HelloCutter(int upstreamPort) throws IOException {
      server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
      Thread.ofVirtual().name("hello-cutter").start(() -> {
        try {
          while (true) {
            Socket client = server.accept();
            Socket upstream = new Socket(InetAddress.getLoopbackAddress(), upstreamPort);
            sockets.add(client);
            sockets.add(upstream);
            boolean cutThis = cut.get();
            Thread.ofVirtual().start(() -> pump(client, upstream, false));
            Thread.ofVirtual().start(() -> pump(upstream, client, cutThis));
          }
        } catch (IOException closed) {
          // the test is over
        }
      });
    }

    private void pump(Socket from, Socket to, boolean endAfterFirst) {
      byte[] buffer = new byte[16 * 1024];
      try (InputStream in = from.getInputStream(); OutputStream out = to.getOutputStream()) {
        for (int n; (n = in.read(buffer)) > 0; ) {
          out.write(buffer, 0, n);
          out.flush();
          if (endAfterFirst) {
            cutOff.incrementAndGet();
            break;
          }
        }
      } catch (IOException gone) {
        // either side closed
      } finally {
        quietly(from);
        quietly(to);
      }
    }

    private void quietly(Socket s) {
      try {
        s.close();
      } catch (IOException ignored) {
        // closing
      }
      sockets.remove(s);
    }

    int port() {
      return server.getLocalPort();
    }

    @Override
    public void close() throws IOException {
      server.close();
      sockets.forEach(this::quietly);
    }
  }

  @Test
  void aServerThatEndsEveryConnectionRightAfterHelloIsOneGapAndAFewWarnings() throws Exception {
    try (HelloCutter proxy = new HelloCutter(redis.port())) {
      RedisBroker broker = RedisBroker.builder().url("redis://127.0.0.1:" + proxy.port()).clientName("cut").build();
      closeLater(broker);
      Calls<String> got = new Calls<>();
      broker.subscriber(channel("cut.ch")).handle(String.class, got);
      broker.start();
      proxy.cut.set(true);
      redis.command("CLIENT", "KILL", "TYPE", "pubsub");
      Thread.sleep(3_000); // the reader connects, hears HELLO's reply, is cut off, backs off, again and again
      int cuts = proxy.cutOff.get();
      proxy.cut.set(false);
      await().atMost(Duration.ofSeconds(5)).pollInterval(Duration.ofMillis(20)).until(() -> {
        redis.command("PUBLISH", "cut.ch", "back");
        return got.count() > 0;
      });
      List<String> warnings = warnings();
      System.out.printf("PUBSUB-PROBE %d connections cut after HELLO in 3 s: %d WARN lines, %d disconnects counted%n",
          cuts, warnings.size(), broker.pubSubMetrics().disconnects());
      assertThat(cuts).as("connections cut (back-off 10 ms doubling to 1 s)").isBetween(4, 14);
      assertThat(warnings).as("WARN lines for one outage").hasSizeLessThanOrEqualTo(2);
      assertThat(broker.pubSubMetrics().disconnects()).as("gaps counted for one outage").isEqualTo(1);
    }
  }

  @Test
  void aHandlerThatBlocksOrThrowsHoldsUpNoOtherChannelAndTheOverflowIsCounted() throws Exception {
    RedisBroker broker = broker(b -> b.bufferSize(10));
    CountDownLatch release = new CountDownLatch(1);
    AtomicInteger slowHandled = new AtomicInteger();
    Subscription slow = broker.subscriber(channel("h.slow")).concurrency(1).handle(String.class, (p, ctx) -> {
      release.await();
      slowHandled.incrementAndGet();
      return null;
    });
    Subscription throwing = broker.subscriber(channel("h.throw")).handle(String.class, (p, ctx) -> {
      throw new IllegalStateException("handler fails on purpose");
    });
    Calls<String> fast = new Calls<>();
    broker.subscriber(channel("h.fast")).concurrency(1).handle(String.class, fast);
    broker.start();
    try {
      for (int i = 0; i < 50; i++) {
        redis.command("PUBLISH", "h.slow", "s" + i);
        redis.command("PUBLISH", "h.throw", "t" + i);
        redis.command("PUBLISH", "h.fast", "f" + i);
      }
      await().atMost(Duration.ofSeconds(5)).until(() -> fast.count() == 50);
      List<String> expected = new ArrayList<>();
      for (int i = 0; i < 50; i++) {
        expected.add("f" + i);
      }
      assertThat(fast.payloads()).isEqualTo(expected);
      await().atMost(Duration.ofSeconds(5)).until(() -> throwing.metrics().failed() == 50);
      // One in the handler, ten in the buffer, the other 39 dropped and counted.
      await().atMost(Duration.ofSeconds(5)).until(() -> slow.metrics().dropped() == 39);
    } finally {
      release.countDown();
    }
    await().atMost(Duration.ofSeconds(5)).until(() -> slowHandled.get() == 11);
    assertThat(broker.pubSubMetrics().disconnects()).isZero();
    assertThat(broker.pubSubMetrics().received()).isEqualTo(150);
  }

  @Test
  void messagesArriveInPublishOrderPerChannelAndPattern() throws Exception {
    RedisBroker broker = broker();
    int channels = 4;
    int each = 2_000;
    List<Calls<String>> got = new ArrayList<>();
    for (int c = 0; c < channels; c++) {
      Calls<String> calls = new Calls<>();
      got.add(calls);
      broker.subscriber(channel("ord." + c)).concurrency(1).handle(String.class, calls);
    }
    Calls<String> onPattern = new Calls<>();
    broker.subscriber(pattern("ord.*")).concurrency(1).handle(String.class, onPattern);
    broker.start();
    ExecutorService pool = Executors.newFixedThreadPool(channels);
    try {
      List<Future<?>> done = new ArrayList<>();
      for (int c = 0; c < channels; c++) {
        int me = c;
        done.add(pool.submit(() -> {
          var connection = raw();
          connection.setAutoFlushCommands(false);
          var async = connection.async();
          for (int i = 0; i < each; i++) {
            async.publish(utf8("ord." + me), utf8(Integer.toString(i)));
            if (i % 100 == 99) {
              connection.flushCommands();
            }
          }
          connection.flushCommands();
          return null;
        }));
      }
      for (Future<?> f : done) {
        f.get(30, TimeUnit.SECONDS);
      }
    } finally {
      pool.shutdownNow();
    }
    await().atMost(Duration.ofSeconds(20)).until(() -> got.stream().allMatch(c -> c.count() == each)
        && onPattern.count() == channels * each);
    for (Calls<String> c : got) {
      List<Integer> seen = c.payloads().stream().map(Integer::parseInt).toList();
      assertThat(seen).isSorted().doesNotHaveDuplicates();
    }
    Map<String, List<Integer>> byChannel = new ConcurrentHashMap<>();
    for (var call : onPattern.all()) {
      byChannel.computeIfAbsent(call.context().channel(), k -> new CopyOnWriteArrayList<>()).add(Integer.parseInt(call.payload()));
    }
    assertThat(byChannel).hasSize(channels);
    byChannel.values().forEach(seen -> assertThat(seen).isSorted().hasSize(each));
  }

  @Test
  @Timeout(value = 60, unit = TimeUnit.SECONDS)
  void subscribesAndUnsubscribesRacingWithConnectionKillsEndWithTheServerMatchingTheRoutes() throws Exception {
    RedisBroker broker = broker(b -> b.clientName("race-kill"));
    Calls<String> keeper = new Calls<>();
    broker.subscriber(channel("rk.keep")).handle(String.class, keeper);
    broker.subscriber(pattern("rk.p.*")).handle(String.class, new Calls<>());
    broker.start();
    AtomicBoolean killing = new AtomicBoolean(true);
    AtomicInteger kills = new AtomicInteger();
    Thread killer = Thread.ofPlatform().start(() -> {
      while (killing.get()) {
        kills.addAndGet(((Long) redis.command("CLIENT", "KILL", "TYPE", "pubsub")).intValue());
        try {
          Thread.sleep(37);
        } catch (InterruptedException e) {
          return;
        }
      }
    });
    int threads = 16;
    ExecutorService pool = Executors.newFixedThreadPool(threads);
    AtomicInteger failedStarts = new AtomicInteger();
    CountDownLatch go = new CountDownLatch(1);
    try {
      List<Future<?>> done = new ArrayList<>();
      for (int t = 0; t < threads; t++) {
        int me = t;
        done.add(pool.submit(() -> {
          go.await();
          for (int i = 0; i < 100; i++) {
            Subscription s = broker.subscriber(i % 3 == 0 ? pattern("rk.q.*") : channel(i % 2 == 0 ? "rk.a" : "rk.b"))
                .id("t" + me + "-" + i).handle(String.class, (p, ctx) -> null);
            try {
              s.start();
            } catch (RuntimeException e) {
              failedStarts.incrementAndGet();
            }
            s.close();
          }
          return null;
        }));
      }
      go.countDown();
      for (Future<?> f : done) {
        f.get(50, TimeUnit.SECONDS);
      }
    } finally {
      killing.set(false);
      killer.join();
      pool.shutdownNow();
    }
    Subscription last = broker.subscriber(channel("rk.a")).id("last").handle(String.class, (p, ctx) -> null);
    last.start();
    System.out.printf("PUBSUB-PROBE race with %d kills: %d starts failed%n", kills.get(), failedStarts.get());
    await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> {
      assertThat(redis.command("PUBSUB", "NUMSUB", "rk.a", "rk.b", "rk.keep"))
          .isEqualTo(List.of("rk.a", 1L, "rk.b", 0L, "rk.keep", 1L));
      assertThat(redis.command("PUBSUB", "NUMPAT")).isEqualTo(1L);
      assertThat(clientLines("race-kill").stream().filter(l -> !l.contains(" sub=0 ") || !l.contains(" psub=0 ")))
          .hasSize(1);
    });
    broker.publish("still here", channel("rk.keep"));
    assertThat(keeper.awaitOne().payload()).isEqualTo("still here");
  }

  @Test
  @Timeout(value = 30, unit = TimeUnit.SECONDS)
  void closeFromInsideAHandlerReleasesEverything() throws Exception {
    await().atMost(Duration.ofSeconds(10)).until(() -> readers() == 0);
    List<String> threadsBefore = Threads.brookThreads();
    RedisBroker broker = RedisBroker.builder().url(redis.url()).clientName("close-inside").build();
    closeLater(broker);
    CountDownLatch closed = new CountDownLatch(1);
    broker.subscriber(channel("ci.ch")).handle(String.class, (p, ctx) -> {
      broker.close();
      closed.countDown();
      return null;
    });
    broker.start();
    redis.command("PUBLISH", "ci.ch", "bye");
    assertThat(closed.await(10, TimeUnit.SECONDS)).as("close() inside the handler returned").isTrue();
    await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> {
      assertThat(readers()).isZero();
      assertThat(clientLines("close-inside")).isEmpty();
      assertThat(Threads.brookThreads()).isEqualTo(threadsBefore);
    });
  }
  @Test
  void aSubscribeThatTimedOutWhileRedisWasDownLeavesNoSubscriptionOnceRedisIsBack() {
    RedisBroker broker = broker(b -> b.commandTimeout(Duration.ofMillis(500)));
    Calls<String> keep = new Calls<>();
    broker.subscriber(channel("st.keep")).handle(String.class, keep);
    broker.start();
    redis.kill();
    try {
      assertThat(org.assertj.core.api.Assertions.catchThrowable(
          () -> broker.subscriber(channel("st.late")).handle(String.class, new Calls<>())))
          .as("a start while Redis is down").isNotNull();
    } finally {
      redis.restart();
    }
    await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(20)).until(() -> {
      redis.command("PUBLISH", "st.keep", "back");
      return keep.count() > 0;
    });
    // The failed start's channel: not subscribed by anyone, so not on the server either.
    await().during(Duration.ofMillis(300)).atMost(Duration.ofSeconds(2)).untilAsserted(() ->
        assertThat((List<Object>) redis.command("PUBSUB", "CHANNELS", "st.*")).containsExactly("st.keep"));
  }
}
