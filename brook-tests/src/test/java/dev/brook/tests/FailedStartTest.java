package dev.brook.tests;

import static dev.brook.redis.Redis.list;
import static dev.brook.redis.Redis.stream;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.brook.BrookException;
import dev.brook.Subscription;
import dev.brook.redis.RedisBroker;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/**
 * A subscription start that Redis refuses (a stream group on a key holding a list, an invalid
 * {@code startFrom}, a list on a key holding a stream) fails with a {@link BrookException} naming
 * the destination, what Redis said and the fix, and leaves nothing behind: its connection is closed
 * and the broker's registry does not keep it.
 */
class FailedStartTest extends RedisTestBase {

  private long clientsNamed(String name) {
    String list = (String) redis.command("CLIENT", "LIST");
    return list.lines().filter(l -> l.contains(" name=" + name + " ")).count();
  }

  @Test
  void fiftyFailedGroupStartsOnAListKeyLeaveNoConnectionAndNoRegistration() {
    redis.command("RPUSH", "events", "a list, not a stream");
    RedisBroker broker = broker(b -> b.clientName("failed-start"));
    broker.start();
    long baseline = clientsNamed("failed-start");
    assertThat(baseline).isEqualTo(1); // the command connection

    for (int i = 0; i < 50; i++) {
      assertThatThrownBy(() -> broker.subscriber(stream("events").group("g")).handle(String.class, new Calls<>()))
          .isInstanceOf(BrookException.class)
          .hasMessage("Cannot create consumer group 'g' on stream 'events': Redis says WRONGTYPE Operation against a key "
              + "holding the wrong kind of value: the key holds a list, not a stream. Use another stream name or delete "
              + "the key.");
    }

    await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> assertThat(clientsNamed("failed-start")).isEqualTo(baseline));
    assertThat(redis.command("LLEN", "events")).isEqualTo(1L);
    assertThat(broker.subscriptions()).extracting(Subscription::id).isEmpty();
  }

  @Test
  void anInvalidStartFromNamesTheIdAndTheAcceptedForms() {
    RedisBroker broker = broker(b -> b.clientName("failed-start"));
    broker.start();
    long baseline = clientsNamed("failed-start");

    assertThatThrownBy(() -> broker.subscriber(stream("orders").group("billing").startFrom("yesterday"))
        .handle(String.class, new Calls<>()))
        .isInstanceOf(BrookException.class)
        .hasMessage("Cannot create consumer group 'billing' on stream 'orders' at 'yesterday': Redis says ERR Invalid "
            + "stream ID specified as stream command argument. startFrom takes StreamDestination.LATEST (\"$\"), "
            + "StreamDestination.BEGINNING (\"0\") or an entry id such as \"1700000000000-0\" (milliseconds-sequence).");
    assertThatThrownBy(() -> broker.subscriber(stream("orders").startFrom("yesterday")).handle(String.class, new Calls<>()))
        .isInstanceOf(BrookException.class)
        .hasMessage("Cannot read stream 'orders' at 'yesterday': Redis says ERR Invalid stream ID specified as stream "
            + "command argument. startFrom takes StreamDestination.LATEST (\"$\"), StreamDestination.BEGINNING (\"0\") or "
            + "an entry id such as \"1700000000000-0\" (milliseconds-sequence).");

    await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> assertThat(clientsNamed("failed-start")).isEqualTo(baseline));
    assertThat(broker.subscriptions()).isEmpty();
  }

  @Test
  void aListSubscriptionOnAStreamKeyFailsAtStartNamingTheType() {
    redis.command("XADD", "jobs", "*", "data", "x");
    RedisBroker broker = broker(b -> b.clientName("failed-start"));
    broker.start();
    long baseline = clientsNamed("failed-start");

    for (var destination : java.util.List.of(list("jobs"), list("jobs").atMostOnce())) {
      assertThatThrownBy(() -> broker.subscriber(destination).handle(String.class, new Calls<>()))
          .isInstanceOf(BrookException.class)
          .hasMessage("Cannot consume list 'jobs': the key holds a stream, not a list. Use another list name or delete "
              + "the key.");
    }

    await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> assertThat(clientsNamed("failed-start")).isEqualTo(baseline));
    assertThat(broker.subscriptions()).isEmpty();
    assertThat((java.util.List<?>) redis.command("KEYS", "{jobs}:*")).isEmpty(); // no heartbeat, no processing list
  }

  @Test
  void aFailedBrokerStartReleasesTheConnectionsOfTheFailedSubscription() {
    redis.command("RPUSH", "events", "a list, not a stream");
    RedisBroker broker = broker(b -> b.clientName("failed-start"));
    broker.subscriber(stream("events").group("g")).handle(String.class, new Calls<>());
    assertThatThrownBy(broker::start)
        .isInstanceOf(BrookException.class)
        .hasMessageStartingWith("Cannot create consumer group 'g' on stream 'events': Redis says WRONGTYPE");
    await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> assertThat(clientsNamed("failed-start")).isEqualTo(1));

    // Once the key is fixed, the same subscription starts.
    redis.command("DEL", "events");
    broker.start();
    assertThat(broker.subscriptions()).extracting(Subscription::state).containsExactly(Subscription.State.RUNNING);
  }
}
