package dev.brook.tests;

import static dev.brook.redis.Redis.list;
import static dev.brook.redis.Redis.stream;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.brook.Destination;
import dev.brook.Subscription;
import dev.brook.redis.DeadLetters;
import dev.brook.redis.RedisBroker;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** {@code broker.deadLetters(destination)}: list (error, attempts), replay one / matching / all, delete one, purge; lists and streams. */
class DeadLettersTest extends RedisTestBase {

  @Test
  void listDeadLetters() {
    workflow(list("jobs").deadLetter(), list("jobs"));
  }

  @Test
  void streamDeadLetters() {
    workflow(stream("events").group("g"), stream("events"));
  }

  private void workflow(Destination consumed, Destination plain) {
    RedisBroker b = broker();
    List<String> good = Collections.synchronizedList(new ArrayList<>());
    Subscription failing = b.subscriber(consumed).handle(String.class, (s, ctx) -> {
      throw new IllegalStateException("boom " + s);
    });
    b.start();
    RedisBroker publisher = broker();
    for (int i = 0; i < 5; i++) {
      publisher.publish("p" + i, plain, Map.of("message_id", "id" + i, "tenant", i % 2 == 0 && i < 4 ? "acme" : "other"));
    }
    DeadLetters dead = b.deadLetters(plain);
    await().atMost(Duration.ofSeconds(10)).until(() -> dead.count() == 5);
    failing.stop();
    List<DeadLetters.Entry> entries = dead.list();
    assertThat(entries).extracting(DeadLetters.Entry::payloadText)
        .containsExactly("p0", "p1", "p2", "p3", "p4");
    assertThat(entries).allSatisfy(e -> {
      assertThat(e.error()).contains("boom");
      assertThat(e.attempts()).isEqualTo(1);
    });
    assertThat(dead.list(2)).hasSize(2);

    // replay one, by id
    String id1 = entries.get(1).id();
    if (plain instanceof dev.brook.redis.ListDestination) {
      assertThat(id1).isEqualTo("id1");
    }
    assertThat(dead.replay(id1)).isTrue();
    assertThat(dead.replay(id1)).isFalse();
    // replay those of a tenant
    assertThat(dead.replay(h -> "acme".equals(h.get("tenant")))).isEqualTo(2);
    assertThat(dead.count()).isEqualTo(2);
    // delete one, by id, without replaying it
    assertThat(dead.delete(entries.get(3).id())).isTrue();
    assertThat(dead.delete(entries.get(3).id())).isFalse();
    assertThat(dead.list()).extracting(DeadLetters.Entry::payloadText).containsExactly("p4");

    // the replayed ones come back without the dead-letter headers, and a healthy handler takes them
    List<Map<String, String>> headers = Collections.synchronizedList(new ArrayList<>());
    b.subscriber(consumed).handle(String.class, (s, ctx) -> {
      good.add(s);
      headers.add(ctx.headers());
      return null;
    });
    await().atMost(Duration.ofSeconds(10)).until(() -> good.size() == 3);
    assertThat(good).containsExactlyInAnyOrder("p1", "p0", "p2");
    assertThat(headers).allSatisfy(h -> assertThat(h).doesNotContainKeys("x-error", "x-delivery-count", "x-original"));

    assertThat(dead.purge()).isEqualTo(1);
    assertThat(dead.count()).isZero();
    assertThat(dead.replayAll()).isZero();
  }

  @Test
  void replayAll_putsEveryDeadLetterBack() {
    RedisBroker b = broker();
    b.publish("a", list("q"));
    b.publish("b", list("q"));
    Subscription s = b.subscriber(list("q").deadLetter()).handle(String.class, (x, ctx) -> {
      throw new IllegalArgumentException("no");
    });
    b.start();
    DeadLetters dead = b.deadLetters(list("q"));
    await().atMost(Duration.ofSeconds(10)).until(() -> dead.count() == 2);
    s.stop();
    assertThat(dead.list()).allSatisfy(e -> assertThat(e.id()).startsWith("sha1:"));
    assertThat(dead.replayAll()).isEqualTo(2);
    assertThat((Long) redis.command("LLEN", "q")).isEqualTo(2L);
    assertThat(dead.count()).isZero();
  }
}
