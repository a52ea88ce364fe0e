package dev.brook.tests;

import static dev.brook.redis.Redis.channel;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.brook.Subscription;
import dev.brook.redis.RedisBroker;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * What the lifecycle does in Redis: SUBSCRIBE and UNSUBSCRIBE as subscriptions start, stop and
 * close, and one shared deadline for closing a busy broker. The states themselves, as a user sees
 * them, are in {@code behaviour.LifecycleBehaviour}, on Redis and in memory.
 */
class LifecycleTest extends RedisTestBase {

  private Object numsub(String channel) {
    return ((List<?>) redis.command("PUBSUB", "NUMSUB", channel)).get(1);
  }

  @Test
  void startStopAndCloseSubscribeAndUnsubscribeOnRedis() {
    RedisBroker broker = broker();
    Subscription sub = broker.subscriber(channel("s")).handle(String.class, new Calls<>());
    Subscription other = broker.subscriber(channel("keep")).handle(String.class, new Calls<>());
    assertThat(numsub("s")).isEqualTo(0L);
    broker.start();
    sub.start();
    sub.start();
    assertThat(numsub("s")).isEqualTo(1L);
    sub.stop();
    sub.stop();
    assertThat(numsub("s")).isEqualTo(0L);
    sub.start();
    assertThat(numsub("s")).isEqualTo(1L);
    sub.close();
    assertThat(numsub("s")).isEqualTo(0L);
    assertThat(numsub("keep")).isEqualTo(1L);
    other.close();
    assertThat(numsub("keep")).isEqualTo(0L);
  }

  @Test
  void closingOneOfTwoSubscriptionsOnAChannelKeepsTheChannelSubscribed() {
    RedisBroker broker = broker();
    Subscription first = broker.subscriber(channel("shared")).id("a").handle(String.class, new Calls<>());
    broker.subscriber(channel("shared")).id("b").handle(String.class, new Calls<>());
    broker.start();
    assertThat(numsub("shared")).isEqualTo(1L); // one SUBSCRIBE for both
    first.close();
    assertThat(numsub("shared")).isEqualTo(1L);
  }

  @Test
  void brokerCloseShareOneDeadlineAcrossSubscriptions() throws Exception {
    RedisBroker broker = broker(b -> b.gracefulTimeout(Duration.ofSeconds(1)));
    int n = 20;
    CountDownLatch allEntered = new CountDownLatch(n);
    for (int i = 0; i < n; i++) {
      broker.subscriber(channel("busy" + i)).handle(String.class, (s, ctx) -> {
        allEntered.countDown();
        Thread.sleep(60_000); // ignores nothing: interrupted when the deadline passes
        return null;
      });
    }
    broker.start();
    for (int i = 0; i < n; i++) {
      broker.publish("x", channel("busy" + i));
    }
    assertThat(allEntered.await(10, TimeUnit.SECONDS)).isTrue();
    long t0 = System.nanoTime();
    broker.close();
    Duration took = Duration.ofNanos(System.nanoTime() - t0);
    // One shared 1 s deadline, not 20 × 1 s.
    assertThat(took).isLessThan(Duration.ofSeconds(4));
    assertThat(broker.subscriptions()).isEmpty();
  }

}
