package dev.brook.tests.behaviour;

import static dev.brook.redis.Redis.channel;
import static dev.brook.redis.Redis.list;
import static dev.brook.redis.Redis.stream;
import static org.assertj.core.api.Assertions.assertThat;

import dev.brook.Health;
import dev.brook.Health.Status;
import dev.brook.PullSubscription;
import dev.brook.Subscription;
import dev.brook.redis.Backlog;
import dev.brook.redis.RedisBroker;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * {@code broker.health()} (UP, DEGRADED with the subscription named, DOWN when closed) and {@code
 * RedisBroker.backlog} with exact figures, on both backends.
 */
abstract class HealthBehaviour extends Behaviour {

  HealthBehaviour(Backend backend) {
    super(backend);
  }

  @Test
  void runningBrokerIsUp_withTheServerAndEverySubscription() {
    RedisBroker broker = started();
    broker.subscriber(list("h-jobs")).id("jobs").handle(String.class, (s, ctx) -> null);
    broker.subscriber(channel("h-news")).id("news").handle(String.class, (s, ctx) -> null);
    broker.start();
    if (backend.real()) {
      // start() returns once the consume loop is started, not once it has polled Redis the first time.
      eventually().until(() -> broker.health().subscription("jobs").lastPoll() != null);
    }

    Health health = broker.health();
    assertThat(health.status()).isEqualTo(Status.UP);
    assertThat(health.problems()).isEmpty();
    assertThat(health.server().reachable()).isTrue();
    assertThat(health.server().roundTrip()).isNotNull();
    assertThat(health.server().reconnecting()).isFalse();
    assertThat(health.subscriptions()).extracting(Health.SubscriptionHealth::id).containsExactly("jobs", "news");
    Health.SubscriptionHealth jobs = health.subscription("jobs");
    assertThat(jobs.state()).isEqualTo(Subscription.State.RUNNING);
    assertThat(jobs.status()).isEqualTo(Status.UP);
    assertThat(jobs.destination()).isEqualTo("list:h-jobs");
    assertThat(jobs.busyWorkers()).isZero();
    assertThat(jobs.concurrency()).isEqualTo(1);
    assertThat(jobs.lag()).isEqualTo(-1);
    // A List's consume loop polls (on Redis); Pub/Sub is pushed, and the in-memory Redis pushes everything.
    if (backend.real()) {
      assertThat(jobs.lastPoll()).isNotNull();
    }
    assertThat(health.subscription("news").lastPoll()).isNull();
    assertThat(health.toJson()).startsWith("{\"status\":\"UP\"").contains("\"id\":\"jobs\"");
    assertThat(health.toString()).startsWith("UP  ");
  }

  @Test
  void stoppedSubscriptionIsDegraded_namingIt_andUpWhenStartedAgain() {
    RedisBroker broker = started();
    Subscription jobs = broker.subscriber(list("h-stop")).id("jobs").handle(String.class, (s, ctx) -> null);
    broker.start();
    assertThat(broker.health().status()).isEqualTo(Status.UP);

    jobs.stop();
    Health health = broker.health();
    assertThat(health.status()).isEqualTo(Status.DEGRADED);
    assertThat(health.subscription("jobs").state()).isEqualTo(Subscription.State.STOPPED);
    assertThat(health.subscription("jobs").status()).isEqualTo(Status.DEGRADED);
    assertThat(health.problems()).singleElement().asString().startsWith("subscription 'jobs' is STOPPED");

    jobs.start();
    assertThat(broker.health().status()).isEqualTo(Status.UP);
  }

  @Test
  void stuckHandlerIsDegraded_namingTheSubscription_andUpWhenItReturns() throws Exception {
    RedisBroker broker = started();
    CountDownLatch release = new CountDownLatch(1);
    broker.subscriber(list("h-stuck")).id("stuck").handle(String.class, (s, ctx) -> {
      release.await(10, TimeUnit.SECONDS);
      return null;
    });
    broker.subscriber(list("h-fine")).id("fine").handle(String.class, (s, ctx) -> null);
    broker.start();
    Health.Options options = Health.Options.DEFAULT.withStuckAfter(Duration.ofMillis(300));
    Thread publisher = null;
    try {
      publisher = inBackground(() -> broker.publish("work", list("h-stuck")));
      eventually().until(() -> broker.health(options).status() == Status.DEGRADED);
      Health health = broker.health(options);
      Health.SubscriptionHealth stuck = health.subscription("stuck");
      assertThat(stuck.status()).isEqualTo(Status.DEGRADED);
      assertThat(stuck.busyWorkers()).isEqualTo(1);
      assertThat(stuck.oldestBusy()).isGreaterThan(Duration.ofMillis(300));
      assertThat(stuck.problem()).startsWith("subscription 'stuck': all 1 of its handler(s) have been busy for ");
      assertThat(health.problems()).containsExactly(stuck.problem());
      assertThat(health.subscription("fine").status()).isEqualTo(Status.UP);
      // With the default threshold (60 s) the same moment is UP.
      assertThat(broker.health().status()).isEqualTo(Status.UP);
    } finally {
      release.countDown();
      join(publisher);
    }
    eventually().until(() -> broker.health(options).status() == Status.UP);
    assertThat(broker.health(options).subscription("stuck").busyWorkers()).isZero();
  }

  @Test
  void pullSubscriptionWaitingForItsCallerIsNotStuck() throws Exception {
    RedisBroker broker = started();
    PullSubscription<String> jobs = broker.subscriber(list("h-pull").consumer("c")).id("pulled").pull(String.class);
    Health.Options options = Health.Options.DEFAULT.withStuckAfter(Duration.ofMillis(200));
    Thread publisher = inBackground(() -> broker.publish("a", list("h-pull")));
    try {
      // The message waits for a caller of get(): its handler is busy, by design.
      eventually().until(() -> broker.health(options).subscription("pulled").busyWorkers() == 1);
      Thread.sleep(300);
      Health health = broker.health(options);
      assertThat(health.subscription("pulled").oldestBusy()).isGreaterThan(Duration.ofMillis(200));
      assertThat(health.status()).isEqualTo(Status.UP);
      assertThat(jobs.get(Duration.ofSeconds(5)).payload()).isEqualTo("a");
    } finally {
      join(publisher);
    }
  }

  @Test
  void brokerStopDegradesEverySubscription_startMakesItUpAgain() {
    RedisBroker broker = started();
    broker.subscriber(list("h-a")).id("a").handle(String.class, (s, ctx) -> null);
    broker.subscriber(channel("h-b")).id("b").handle(String.class, (s, ctx) -> null);
    broker.start();
    broker.stop();
    Health health = broker.health();
    assertThat(health.status()).isEqualTo(Status.DEGRADED);
    assertThat(health.problems()).containsExactly(
        "subscription 'a' is STOPPED: it consumes nothing until started again",
        "subscription 'b' is STOPPED: it consumes nothing until started again");
    broker.start();
    assertThat(broker.health().status()).isEqualTo(Status.UP);
  }

  @Test
  void closedBrokerIsDown() {
    RedisBroker broker = started();
    broker.subscriber(list("h-closed")).id("jobs").handle(String.class, (s, ctx) -> null);
    broker.start();
    assertThat(broker.health().status()).isEqualTo(Status.UP);
    broker.close();
    Health health = broker.health();
    assertThat(health.status()).isEqualTo(Status.DOWN);
    assertThat(health.problems()).containsExactly("the broker is closed");
    assertThat(health.server().reachable()).isFalse();
  }

  @Test
  void streamLagOverTheThresholdIsDegraded() throws Exception {
    // A buffer of one message: with its handler busy the subscription reads no further, so the lag grows.
    RedisBroker broker = started(b -> b.bufferSize(1));
    CountDownLatch release = new CountDownLatch(1);
    broker.subscriber(stream("h-lag").group("g").consumer("c")).id("lagging").handle(String.class, (s, ctx) -> {
      release.await(10, TimeUnit.SECONDS);
      return null;
    });
    broker.start();
    Health.Options maxLag2 = Health.Options.DEFAULT.withMaxLag(2);
    Thread publisher = inBackground(() -> broker.publishBatch(List.of("e0", "e1", "e2", "e3", "e4"), stream("h-lag")));
    try {
      // One in the handler, one in the buffer, three unread. (The in-memory Redis hands the one for
      // the buffer over only when the handler is done, so there it is four unread and one pending.)
      eventually().until(() -> {
        Backlog b = broker.backlog(broker.subscription("lagging"));
        return b.length() == 5 && b.pending() >= 1 && b.lag() >= 3 && b.lag() + b.pending() == 5;
      });
      long lag = broker.backlog(broker.subscription("lagging")).lag();
      Health health = broker.health(maxLag2);
      assertThat(health.status()).isEqualTo(Status.DEGRADED);
      assertThat(health.subscription("lagging").lag()).isEqualTo(lag);
      assertThat(health.problems()).containsExactly("subscription 'lagging': its group lags " + lag
          + " entries behind the stream (maxLag 2): consumers are slower than producers.");
      assertThat(broker.health(Health.Options.DEFAULT.withMaxLag(lag)).status()).isEqualTo(Status.UP);
    } finally {
      release.countDown();
      join(publisher);
    }
    // UP comes as soon as the lag is 2 or less, so wait for the group to catch up fully before asserting both.
    eventually().until(() -> broker.health(maxLag2).subscription("lagging").lag() == 0);
    assertThat(broker.health(maxLag2).status()).isEqualTo(Status.UP);
  }

  @Test
  void backlogOfAReliableList_exactCounts() throws Exception {
    RedisBroker broker = started();
    CountDownLatch release = new CountDownLatch(1);
    Subscription jobs = broker.subscriber(list("h-q").deadLetter().consumer("c")).id("jobs")
        .handle(String.class, (s, ctx) -> {
          if (s.equals("bad")) {
            throw new IllegalArgumentException("bad job");
          }
          release.await(10, TimeUnit.SECONDS);
          return null;
        });
    broker.start();
    assertThat(broker.backlog(jobs)).isEqualTo(new Backlog("jobs", "list:h-q", 0, -1, -1, -1, 0, 0));

    backend.despiteFailures(() -> broker.publish("bad", list("h-q")));
    backend.despiteFailures(() -> broker.publish("bad", list("h-q")));
    eventually().until(() -> broker.backlog(jobs).deadLetters() == 2);
    Thread publisher = inBackground(() -> broker.publishBatch(List.of("job0", "job1", "job2"), list("h-q")));
    try {
      // The handler holds the first; all three wait in the subscription's processing list.
      eventually().until(() -> broker.backlog(jobs).processing() == 3);
      assertThat(broker.backlog(jobs)).isEqualTo(new Backlog("jobs", "list:h-q", 0, -1, -1, -1, 3, 2));
    } finally {
      release.countDown();
      join(publisher);
    }
    eventually().until(() -> broker.backlog(jobs).processing() == 0);
    jobs.stop();
    broker.publish("later1", list("h-q"));
    broker.publish("later2", list("h-q"));
    assertThat(broker.backlog(jobs)).isEqualTo(new Backlog("jobs", "list:h-q", 2, -1, -1, -1, 0, 2));
  }

  @Test
  void backlogOfAStreamGroup_exactCounts() throws Exception {
    RedisBroker broker = started();
    CountDownLatch release = new CountDownLatch(1);
    Subscription events = broker.subscriber(stream("h-s").group("g").consumer("c")).id("events")
        .handle(String.class, (s, ctx) -> {
          if (s.equals("bad")) {
            throw new IllegalArgumentException("bad event");
          }
          release.await(10, TimeUnit.SECONDS);
          return null;
        });
    broker.start();
    assertThat(broker.backlog(events)).isEqualTo(new Backlog("events", "stream:h-s/g/c", 0, 0, 0, 0, -1, 0));

    backend.despiteFailures(() -> broker.publish("bad", stream("h-s")));
    eventually().until(() -> broker.backlog(events).deadLetters() == 1);
    assertThat(broker.backlog(events)).isEqualTo(new Backlog("events", "stream:h-s/g/c", 1, 0, 0, 0, -1, 1));
    Thread publisher = inBackground(() -> broker.publishBatch(List.of("e0", "e1", "e2"), stream("h-s")));
    try {
      // Read by the group (lag 0), pending for this consumer until handled.
      eventually().until(() -> broker.backlog(events).consumerPending() == 3);
      assertThat(broker.backlog(events)).isEqualTo(new Backlog("events", "stream:h-s/g/c", 4, 0, 3, 3, -1, 1));
    } finally {
      release.countDown();
      join(publisher);
    }
    eventually().until(() -> broker.backlog(events).pending() == 0);
    events.stop();
    for (int i = 0; i < 4; i++) {
      broker.publish("later" + i, stream("h-s"));
    }
    assertThat(broker.backlog(events)).isEqualTo(new Backlog("events", "stream:h-s/g/c", 8, 4, 0, 0, -1, 1));
    assertThat(broker.health().subscription("events").lag()).isEqualTo(-1); // not running: not asked
  }

  /**
   * Publishes on another thread: the synchronous in-memory broker's publish waits for the handlers
   * it reached, and these block until the test releases them.
   */
  private static Thread inBackground(Runnable publish) {
    return Thread.ofVirtual().start(publish);
  }

  private static void join(Thread t) throws InterruptedException {
    if (t != null) {
      t.join(Duration.ofSeconds(30));
    }
  }

  @Test
  void backlogOfAChannelHasNoFigures() {
    RedisBroker broker = started();
    Subscription news = broker.subscriber(channel("h-news")).id("news").handle(String.class, (s, ctx) -> null);
    broker.start();
    assertThat(broker.backlog(news)).isEqualTo(new Backlog("news", "channel:h-news", -1, -1, -1, -1, -1, -1));
  }
}
