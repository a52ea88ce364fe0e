package dev.brook.examples.guide;

import static org.assertj.core.api.Assertions.assertThat;

import dev.brook.testing.RedisServer;
import dev.brook.testing.WithRedisServer;
import org.junit.jupiter.api.Test;

/** docs/guide.md, "Responses, whole replies, batch results and pipelines", against a private redis-server. */
@WithRedisServer
class RepliesGuideTest {

  @Test
  void repliesBatchesAndPipelines(RedisServer redis) {
    assertThat(Replies.run(redis.url())).containsExactly("Price[item=book, cents=1299] v2 order-7");
    assertThat(redis.command("XLEN", "price-log")).isEqualTo(1L);
    assertThat(redis.command("XLEN", "audit")).isEqualTo(1L);
  }
}
