package dev.brook.redis.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.brook.spi.Transport;
import dev.brook.redis.Redis;
import dev.brook.testing.RedisServer;
import dev.brook.testing.WithRedisServer;
import dev.brook.tests.DelayProxy;
import io.lettuce.core.RedisURI;
import io.lettuce.core.api.StatefulConnection;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import org.junit.jupiter.api.Test;

/**
 * The transport itself under racing callers (the broker's engine orders starts and close per
 * subscription, so this reaches what it cannot): 50 threads open consumer connections and the
 * shared Pub/Sub connection, each slow to open, while {@link RedisTransport#close()} runs. Close
 * waits for none of those connects; every caller gets an open connection that close then closed,
 * or the transport's "closed" error; afterwards Redis sees no connection of it and no Brook thread
 * is left.
 */
@WithRedisServer
class RedisTransportRaceTest {

  private static long clientsNamed(RedisServer redis, String name) {
    String list = (String) redis.command("CLIENT", "LIST");
    return list.lines().filter(l -> l.contains(" name=" + name + " ")).count();
  }

  private static List<String> brookThreads() {
    return Thread.getAllStackTraces().keySet().stream().map(Thread::getName).filter(n -> n.startsWith("brook-")).toList();
  }

  @Test
  void fiftyConnectsRacingCloseLeaveNothingAndCloseWaitsForNone(RedisServer redis) throws Exception {
    int n = 50;
    Duration delay = Duration.ofMillis(300);
    try (DelayProxy slow = new DelayProxy(redis.port(), delay)) {
      String url = "redis://127.0.0.1:" + slow.port();
      RedisTransport transport = new RedisTransport(RedisURI.create(url), url, new TransportOptions("racing",
          Duration.ofSeconds(10), Duration.ofSeconds(10), 10_000, 1 << 20, null));
      transport.connect();
      // Open before the race: close must close them too.
      StatefulConnection<byte[], byte[]> early = transport.connections().dedicatedConnection(() -> {}).connection();
      Transport.Consumer earlyChannel = transport.consumer(Redis.channel("early"), "early", new NullSink());
      earlyChannel.start();
      assertThat(clientsNamed(redis, "racing")).isEqualTo(3);
      int before = slow.accepted();

      CountDownLatch go = new CountDownLatch(1);
      ConcurrentLinkedQueue<StatefulConnection<byte[], byte[]>> opened = new ConcurrentLinkedQueue<>();
      ConcurrentLinkedQueue<Transport.Consumer> subscribed = new ConcurrentLinkedQueue<>();
      ConcurrentLinkedQueue<Throwable> failures = new ConcurrentLinkedQueue<>();
      List<Thread> threads = new ArrayList<>();
      for (int i = 0; i < n; i++) {
        int k = i;
        threads.add(Thread.ofPlatform().name("racer-" + i).start(() -> {
          try {
            go.await();
            if (k % 5 == 0) { // the Pub/Sub connection, opened once for all of them
              Transport.Consumer c = transport.consumer(Redis.channel("race" + k), "race" + k, new NullSink());
              c.start();
              subscribed.add(c);
            } else {
              opened.add(transport.connections().dedicatedConnection(() -> {}).connection());
            }
          } catch (Throwable t) {
            failures.add(t);
          }
        }));
      }
      go.countDown();
      await().atMost(Duration.ofSeconds(10)).until(() -> slow.accepted() - before >= 10); // connects in flight

      long t0 = System.nanoTime();
      transport.close();
      Duration took = Duration.ofNanos(System.nanoTime() - t0);
      for (Thread t : threads) {
        t.join(Duration.ofSeconds(30));
      }
      System.out.printf("RACE close with %d connects in flight took %d ms; %d consumer connections and %d Pub/Sub "
          + "subscriptions opened, %d refused%n", n, took.toMillis(), opened.size(), subscribed.size(), failures.size());

      // Holding a lock across connects, close would wait for them one after another (up to 40 x 300 ms).
      assertThat(took).isLessThan(Duration.ofSeconds(5));
      assertThat(opened.size() + subscribed.size() + failures.size()).isEqualTo(n);
      assertThat(failures).allSatisfy(f -> assertThat(f)
          .isInstanceOf(IllegalStateException.class)
          .hasMessage("Broker " + url + " is closed; create a new one."));
      assertThat(opened).allSatisfy(c -> assertThat(c.isOpen()).isFalse());
      assertThat(early.isOpen()).isFalse();
      await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(clientsNamed(redis, "racing")).isZero());
      assertThat(brookThreads()).isEmpty();
    }
  }

  /** Drops what it gets; nothing is published here. */
  private static final class NullSink implements Transport.Sink {
    @Override
    public void accept(dev.brook.spi.Inbound message) {}

    @Override
    public boolean awaitCapacity(int n) {
      return true;
    }

    @Override
    public int room() {
      return Integer.MAX_VALUE;
    }
  }
}
