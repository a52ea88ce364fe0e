package dev.brook.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.brook.testing.RedisSentinel;
import dev.brook.testing.RedisSentinelExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** The CLI's {@code --url} takes a Sentinel URL (password included) as Lettuce spells it. */
class CliSentinelTest {

  @RegisterExtension
  static RedisSentinelExtension extension = new RedisSentinelExtension(b -> b.password("hunter2"));

  @Test
  void publishAndHealth_throughTheSentinels_neverShowingThePassword(RedisSentinel sentinel) {
    String masked = sentinel.url().replace("hunter2", "****");

    CliTest.Run publish = CliTest.brook("publish", "--url", sentinel.url(), "--list", "jobs", "{\"task\": \"resize\"}");
    assertThat(publish.code()).as(publish.err()).isZero();
    assertThat(sentinel.primary().command("LLEN", "jobs")).isEqualTo(1L);

    CliTest.Run up = CliTest.brook("health", "--url", sentinel.url());
    assertThat(up.code()).as(up.err()).isZero();
    assertThat(up.out()).startsWith("UP  " + masked + "  reachable, round trip ").doesNotContain("hunter2");
  }
}
