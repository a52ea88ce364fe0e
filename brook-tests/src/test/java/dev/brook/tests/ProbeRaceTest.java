package dev.brook.tests;

import static dev.brook.redis.Redis.pattern;
import static dev.brook.redis.Redis.shardChannel;
import static dev.brook.redis.Redis.stream;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.brook.Destination;
import dev.brook.Subscription;
import dev.brook.redis.RedisBroker;
import dev.brook.redis.StreamDestination;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BiConsumer;
import org.junit.jupiter.api.Test;

/**
 * Probe: thirty threads register one id with REPLACE at once, on destination kinds the
 * channel/list stress test does not cover (shard channel, pattern, stream group, partitioned
 * stream), while a publisher runs. Never two handlers of the id at once; one subscription left;
 * on streams every entry exactly once.
 */
class ProbeRaceTest extends RedisTestBase {

  private static final int THREADS = 30;

  private void race(Destination dest, BiConsumer<RedisBroker, Integer> publish, boolean exactlyOnce) throws Exception {
    RedisBroker broker = broker(b -> b.gracefulTimeout(Duration.ofSeconds(30)));
    broker.start();
    RegistrationStressTest.Tally tally = new RegistrationStressTest.Tally();
    AtomicInteger published = new AtomicInteger();
    AtomicBoolean publishing = new AtomicBoolean(true);
    RedisBroker producer = broker();
    Thread publisher = Thread.ofPlatform().start(() -> {
      while (publishing.get() && published.get() < 5_000) {
        publish.accept(producer, published.getAndIncrement());
      }
    });
    List<Throwable> failures = RegistrationStressTest.race(THREADS,
        i -> broker.subscriber(dest).id("racer").handle(String.class, tally));
    publishing.set(false);
    publisher.join();
    assertThat(failures).isEmpty();
    assertThat(broker.subscriptions()).hasSize(1);
    assertThat(broker.subscription("racer").state()).isEqualTo(Subscription.State.RUNNING);
    if (exactlyOnce) {
      int n = published.get();
      try {
        await().atMost(Duration.ofSeconds(30)).until(() -> tally.calls.size() >= n);
      } catch (org.awaitility.core.ConditionTimeoutException e) {
        List<Integer> missing = new ArrayList<>();
        for (int i = 0; i < n; i++) {
          if (!tally.calls.containsKey("m" + i)) {
            missing.add(i);
          }
        }
        throw new AssertionError("published " + n + ", missing " + missing.size() + ": "
            + missing.subList(0, Math.min(50, missing.size())), e);
      }
      await().during(Duration.ofMillis(300)).atMost(Duration.ofSeconds(5)).until(() -> tally.total.get() == n);
      assertThat(tally.handledTwice()).as("entries handled twice").isZero();
    }
    assertThat(tally.maxActive.get()).as("handlers of one id running at once").isEqualTo(1);
  }

  @Test
  void shardChannelRace() throws Exception {
    race(shardChannel("sh"), (p, i) -> p.publish("m" + i, shardChannel("sh")), false);
    assertThat(redis.command("PUBSUB", "SHARDNUMSUB", "sh")).isEqualTo(List.of("sh", 1L));
  }

  @Test
  void patternRace() throws Exception {
    race(pattern("pp.*"), (p, i) -> p.publish("m" + i, dev.brook.redis.Redis.channel("pp.x")), false);
    assertThat(redis.command("PUBSUB", "NUMPAT")).isEqualTo(1L);
  }

  @Test
  void streamGroupRace() throws Exception {
    StreamDestination dest = stream("rs").group("g").startFrom(StreamDestination.BEGINNING);
    race(dest, (p, i) -> p.publish("m" + i, dest), true);
  }

  @Test
  void partitionedStreamRace() throws Exception {
    StreamDestination dest = stream("rp").partitions(4).group("g").startFrom(StreamDestination.BEGINNING).leaseTime(Duration.ofSeconds(1)).consumer("c");
    race(dest, (p, i) -> p.publish("m" + i, dest, "k" + (i % 16)), true);
  }

  @Test
  void rejectUnderRacingRegistrationsLetsExactlyOneWin() throws Exception {
    RedisBroker broker = broker(b -> b.duplicatePolicy(dev.brook.DuplicatePolicy.REJECT));
    broker.start();
    for (Destination dest : List.<Destination>of(shardChannel("rj-sh"), stream("rj-p").partitions(2).group("g"),
        dev.brook.redis.Redis.list("rj-l"))) {
      String id = "rj-" + dest.hashCode();
      AtomicInteger won = new AtomicInteger();
      List<Throwable> failures = RegistrationStressTest.race(THREADS, i -> {
        try {
          broker.subscriber(dest).id(id).handle(String.class, (p, ctx) -> null);
          won.incrementAndGet();
        } catch (dev.brook.DuplicateSubscriptionException e) {
          // expected for all but one
        }
      });
      assertThat(failures).isEmpty();
      assertThat(won.get()).as("registrations of %s that won", dest).isEqualTo(1);
      assertThat(broker.subscription(id).state()).isEqualTo(Subscription.State.RUNNING);
    }
    assertThat(broker.subscriptions()).hasSize(3);
    assertThat(redis.command("PUBSUB", "SHARDNUMSUB", "rj-sh")).isEqualTo(List.of("rj-sh", 1L));
  }
}
