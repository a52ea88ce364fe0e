package dev.brook.tests;

import static dev.brook.redis.Redis.channel;
import static dev.brook.redis.Redis.list;
import static dev.brook.redis.Redis.stream;
import static org.assertj.core.api.Assertions.assertThat;

import dev.brook.redis.RedisBroker;
import java.util.List;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

/**
 * A burst of 50,000 messages in one pipeline, more commands than the command connection's request
 * queue holds (10,000 by default): every message arrives once, in order, on a real redis-server.
 */
class PipelineBurstTest extends RedisTestBase {
  private static final int N = 50_000;

  @Test
  void fiftyThousandPublishesToDistinctDestinationsInOnePipelineAllArriveInOrder() {
    RedisBroker broker = broker();
    broker.start();
    broker.pipeline(p -> {
      for (int i = 0; i < N; i++) {
        // alternating destinations: no run to merge into one command, one command per message
        p.publish("m" + i, i % 2 == 0 ? stream("burst-s") : channel("burst-nobody"));
      }
    });
    broker.pipeline(p -> IntStream.range(0, N).forEach(i -> p.publish("l" + i, list("burst-l" + (i % 2)))));
    assertThat(redis.command("XLEN", "burst-s")).isEqualTo((long) N / 2);
    assertThat(redis.command("LLEN", "burst-l0")).isEqualTo((long) N / 2);
    assertThat(redis.command("LLEN", "burst-l1")).isEqualTo((long) N / 2);
    List<?> first = (List<?>) redis.command("LRANGE", "burst-l0", "0", "0");
    List<?> last = (List<?>) redis.command("LRANGE", "burst-l0", "-1", "-1");
    assertThat(String.valueOf(first.get(0))).endsWith("l0");
    assertThat(String.valueOf(last.get(0))).endsWith("l" + (N - 2));
  }

  @Test
  void aBatchOfFiftyThousandToAStreamArrivesWhole() {
    RedisBroker broker = broker();
    broker.start();
    broker.publishBatch(IntStream.range(0, N).mapToObj(i -> "e" + i).toList(), stream("burst-batch"));
    assertThat(redis.command("XLEN", "burst-batch")).isEqualTo((long) N);
  }
}
