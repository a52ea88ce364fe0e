package dev.brook.cli;

import static dev.brook.cli.CliTest.brook;
import static dev.brook.redis.Redis.list;
import static dev.brook.redis.Redis.stream;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.brook.Subscription;
import dev.brook.cli.CliTest.Run;
import dev.brook.redis.RedisBroker;
import dev.brook.testing.RedisServer;
import dev.brook.testing.WithRedisServer;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** {@code brook dlq list|replay|purge} on a private redis-server: a list's and a stream's dead letters. */
@WithRedisServer
class DlqCommandTest {

  private static void deadLetters(RedisServer redis, dev.brook.Destination consumed, dev.brook.Destination plain) {
    try (RedisBroker broker = RedisBroker.create(redis.url())) {
      Subscription s = broker.subscriber(consumed).handle(String.class, (x, ctx) -> {
        throw new IllegalStateException("cannot do " + x);
      });
      broker.start();
      for (int i = 0; i < 3; i++) {
        broker.publish("job" + i, plain, Map.of("message_id", "m" + i, "tenant", i == 0 ? "acme" : "other"));
      }
      await().atMost(Duration.ofSeconds(10)).until(() -> broker.deadLetters(plain).count() == 3);
      s.stop();
    }
  }

  @Test
  void listReplayAndPurgeAList(RedisServer redis) {
    deadLetters(redis, list("jobs").deadLetter(), list("jobs"));
    Run listed = brook("dlq", "list", "--url", redis.url(), "--list", "jobs");
    assertThat(listed.code()).as(listed.err()).isZero();
    assertThat(listed.out().lines().toList()).containsExactly(
        "m0\tattempts=1\terror=java.lang.IllegalStateException: cannot do job0\tjob0",
        "m1\tattempts=1\terror=java.lang.IllegalStateException: cannot do job1\tjob1",
        "m2\tattempts=1\terror=java.lang.IllegalStateException: cannot do job2\tjob2");
    assertThat(listed.errLines()).containsExactly("3 of 3 dead letters of list:jobs.");

    Run one = brook("dlq", "replay", "--url", redis.url(), "--list", "jobs", "--id", "m1");
    assertThat(one.code()).as(one.err()).isZero();
    assertThat(one.errLines()).containsExactly("Replayed 1 dead letters to list:jobs.");
    Run missing = brook("dlq", "replay", "--url", redis.url(), "--list", "jobs", "--id", "m1");
    assertThat(missing.code()).isEqualTo(1);
    assertThat(missing.err()).contains("No dead letter with id m1 in list:jobs");
    Run tenant = brook("dlq", "replay", "--url", redis.url(), "--list", "jobs", "-H", "tenant=acme");
    assertThat(tenant.errLines()).containsExactly("Replayed 1 dead letters to list:jobs.");
    assertThat(redis.command("LLEN", "jobs")).isEqualTo(2L);

    Run purge = brook("dlq", "purge", "--url", redis.url(), "--list", "jobs");
    assertThat(purge.errLines()).containsExactly("Purged 1 dead letters of list:jobs.");
    assertThat(redis.command("EXISTS", "{jobs}:dlq")).isEqualTo(0L);
  }

  @Test
  void replayAllOfAStream(RedisServer redis) {
    deadLetters(redis, stream("events").group("g"), stream("events"));
    Run listed = brook("dlq", "list", "--url", redis.url(), "--stream", "events", "--max", "2");
    assertThat(listed.out().lines()).hasSize(2);
    assertThat(listed.errLines()).containsExactly("2 of 3 dead letters of stream:events.");
    Run all = brook("dlq", "replay", "--url", redis.url(), "--stream", "events", "--all");
    assertThat(all.errLines()).containsExactly("Replayed 3 dead letters to stream:events.");
    assertThat(redis.command("XLEN", "{events}:dlq")).isEqualTo(0L);
    assertThat(redis.command("XLEN", "events")).isEqualTo(6L);
  }

  @Test
  void wrongCommandLines(RedisServer redis) {
    Run noTarget = brook("dlq", "list", "--url", redis.url());
    assertThat(noTarget.code()).isEqualTo(2);
    Run noSelection = brook("dlq", "replay", "--url", redis.url(), "--list", "jobs");
    assertThat(noSelection.code()).isEqualTo(2);
    Run noSub = brook("dlq");
    assertThat(noSub.errLines()).containsExactly("brook dlq: Missing a command: list, replay or purge (see 'brook dlq --help')");
  }
}
