package dev.brook.tests;

import static dev.brook.redis.Redis.list;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.brook.redis.RedisBroker;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** {@code idempotent(ttl)}: a message id completed once is acknowledged without the handler the next time. */
class IdempotentTest extends RedisTestBase {

  @Test
  void aCompletedIdIsSkipped_andRecordedInTheDoneSetWithItsExpiry() {
    RedisBroker b = broker();
    List<String> handled = Collections.synchronizedList(new ArrayList<>());
    b.subscriber(list("jobs").idempotent(Duration.ofMinutes(1))).handle(String.class, (s, ctx) -> {
      handled.add(s + "/" + ctx.header("message_id"));
      return null;
    });
    b.start();
    RedisBroker publisher = broker();
    publisher.publish("first", list("jobs"), Map.of("message_id", "m1"));
    await().atMost(Duration.ofSeconds(5)).until(() -> handled.size() == 1);
    await().atMost(Duration.ofSeconds(5)).until(() -> redis.command("ZSCORE", "{jobs}:done", "m1") != null);
    publisher.publish("again", list("jobs"), Map.of("message_id", "m1"));
    publisher.publish("other", list("jobs"), Map.of("message_id", "m2"));
    publisher.publish("no id", list("jobs"));
    await().atMost(Duration.ofSeconds(5)).until(() -> handled.size() == 3);
    await().atMost(Duration.ofSeconds(5)).until(() -> (Long) redis.command("LLEN", "jobs") == 0L
        && ((List<?>) redis.command("KEYS", "{jobs}:processing:*")).stream()
            .allMatch(k -> (Long) redis.command("LLEN", k.toString()) == 0L));
    assertThat(handled).containsExactly("first/m1", "other/m2", "no id/null");
    long expiry = Long.parseLong(redis.command("ZSCORE", "{jobs}:done", "m1").toString());
    long now = System.currentTimeMillis();
    assertThat(expiry - now).isBetween(50_000L, 61_000L);
    assertThat((Long) redis.command("ZCARD", "{jobs}:done")).isEqualTo(2L);
  }

  @Test
  void withoutIdempotent_theSameIdIsHandledTwice() {
    RedisBroker b = broker();
    List<String> handled = Collections.synchronizedList(new ArrayList<>());
    b.subscriber(list("plain")).handle(String.class, (s, ctx) -> {
      handled.add(s);
      return null;
    });
    b.start();
    broker().publish("x", list("plain"), Map.of("message_id", "m1"));
    broker().publish("y", list("plain"), Map.of("message_id", "m1"));
    await().atMost(Duration.ofSeconds(5)).until(() -> handled.size() == 2);
    assertThat((Long) redis.command("EXISTS", "{plain}:done")).isZero();
  }

  @Test
  void anExpiredIdIsHandledAgain() throws Exception {
    RedisBroker b = broker();
    List<String> handled = Collections.synchronizedList(new ArrayList<>());
    b.subscriber(list("short").idempotent(Duration.ofMillis(200))).handle(String.class, (s, ctx) -> {
      handled.add(s);
      return null;
    });
    b.start();
    RedisBroker publisher = broker();
    publisher.publish("a", list("short"), Map.of("message_id", "m1"));
    await().atMost(Duration.ofSeconds(5)).until(() -> redis.command("ZSCORE", "{short}:done", "m1") != null);
    Thread.sleep(300); // the window ends: only time can end it
    publisher.publish("b", list("short"), Map.of("message_id", "m1"));
    await().atMost(Duration.ofSeconds(5)).until(() -> handled.size() == 2);
    assertThat(handled).containsExactly("a", "b");
  }

  @Test
  void aStreamGroupSkipsACompletedId() {
    RedisBroker b = broker();
    List<String> handled = Collections.synchronizedList(new ArrayList<>());
    b.subscriber(dev.brook.redis.Redis.stream("events").group("g").idempotent(Duration.ofMinutes(1)))
        .handle(String.class, (s, ctx) -> {
          handled.add(s);
          return null;
        });
    b.start();
    RedisBroker publisher = broker();
    publisher.publish("first", dev.brook.redis.Redis.stream("events"), Map.of("message_id", "m1"));
    await().atMost(Duration.ofSeconds(5)).until(() -> redis.command("ZSCORE", "{events}:done", "m1") != null);
    publisher.publish("again", dev.brook.redis.Redis.stream("events"), Map.of("message_id", "m1"));
    publisher.publish("other", dev.brook.redis.Redis.stream("events"), Map.of("message_id", "m2"));
    await().atMost(Duration.ofSeconds(5)).until(() -> handled.size() == 2);
    await().atMost(Duration.ofSeconds(5)).until(() ->
        ((List<?>) redis.command("XPENDING", "events", "g")).get(0).equals(0L));
    assertThat(handled).containsExactly("first", "other");
  }
}
