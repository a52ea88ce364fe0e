package dev.brook.tests;

import static dev.brook.redis.Redis.channel;
import static dev.brook.redis.Redis.list;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.brook.redis.RedisBroker;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Whole broker lifecycles (create, start with a channel and a list subscription, publish, receive,
 * close) leave nothing of the process behind: file descriptors by kind (TCP and UDP sockets, Unix
 * sockets, pipes, epoll and eventfd descriptors, files), platform threads and {@code brook-}
 * threads are back at their baselines, exactly. Every other cycle connects by host name
 * ({@code localhost}), through the DNS resolver.
 *
 * <p>The default build runs 1,000 cycles (about 20 s); {@code -Psoak} also runs 10,000.
 */
class LeakCycleTest extends RedisTestBase {

  @Test
  @Timeout(value = 3, unit = TimeUnit.MINUTES)
  void aThousandBrokerCyclesLeaveNoFileDescriptorAndNoThreadBehind() throws InterruptedException {
    brokerCycles(1_000);
  }

  @Test
  @Tag("soak")
  @Timeout(value = 30, unit = TimeUnit.MINUTES)
  void tenThousandBrokerCyclesLeaveNoFileDescriptorAndNoThreadBehind() throws InterruptedException {
    brokerCycles(10_000);
  }

  private void brokerCycles(int n) throws InterruptedException {
    for (int i = 1; i <= 10; i++) {
      cycle(-i); // warm-up: class loading, log files, JVM-wide pools
    }
    await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(Threads.brookThreads()).isEmpty());
    Map<String, Integer> fdsBefore = FileDescriptors.byKind();
    int threadsBefore = Threads.platformCount();
    List<String> threadNamesBefore = Threads.platformNames();

    long t0 = System.nanoTime();
    for (int i = 0; i < n; i++) {
      cycle(i);
    }
    long tookMs = (System.nanoTime() - t0) / 1_000_000;

    // Closing is synchronous; the wait only covers threads the JVM itself ends a moment later.
    await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
      assertThat(Threads.brookThreads()).as("brook threads").isEmpty();
      assertThat(Threads.platformCount()).as("platform threads %s, before %s", Threads.platformNames(), threadNamesBefore)
          .isLessThanOrEqualTo(threadsBefore);
      assertThat(FileDescriptors.grown(fdsBefore, FileDescriptors.byKind()))
          .as("file descriptors grown by kind after %d broker cycles (before: %s)", n, fdsBefore).isEmpty();
    });
    System.out.printf("LEAK broker create/start/publish/close x %d in %d ms (%.1f ms/cycle): fds %s -> %s%n",
        n, tookMs, (double) tookMs / n, fdsBefore, FileDescriptors.byKind());
  }

  private void cycle(int i) throws InterruptedException {
    String url = i % 2 == 0 ? redis.url() : redis.url().replace("127.0.0.1", "localhost");
    try (RedisBroker broker = RedisBroker.builder().url(url).clientName("leak-cycle").build()) {
      CountDownLatch received = new CountDownLatch(2);
      broker.subscriber(channel("cycle.c")).handle(String.class, (s, ctx) -> {
        received.countDown();
        return null;
      });
      broker.subscriber(list("cycle-l")).handle(String.class, (s, ctx) -> {
        received.countDown();
        return null;
      });
      broker.start();
      broker.publish("m" + i, channel("cycle.c"));
      broker.publish("m" + i, list("cycle-l"));
      assertThat(received.await(10, TimeUnit.SECONDS)).as("cycle %d received both", i).isTrue();
    }
  }
}
