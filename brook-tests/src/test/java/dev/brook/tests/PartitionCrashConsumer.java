package dev.brook.tests;

import static dev.brook.redis.Redis.stream;

import dev.brook.redis.RedisBroker;
import io.lettuce.core.RedisClient;
import io.lettuce.core.api.sync.RedisCommands;
import java.time.Duration;

/**
 * A member of a partitioned stream's group for {@code PartitionedStreamTest}: handles messages
 * slowly (recording each in the Redis set {@code handled:child}) so that it always holds some, until
 * the test kills it with SIGKILL — its leases are never released, they expire.
 *
 * <p>Arguments: redis URL, stream name, partitions, lease time in ms.
 */
public final class PartitionCrashConsumer {

  public static void main(String[] args) throws Exception {
    String url = args[0];
    RedisClient client = RedisClient.create(url);
    RedisCommands<String, String> record = client.connect().sync();
    RedisBroker broker = RedisBroker.create(url);
    broker.subscriber(stream(args[1]).partitions(Integer.parseInt(args[2])).group("g").consumer("doomed")
        .leaseTime(Duration.ofMillis(Long.parseLong(args[3]))).startFrom("0")).concurrency(4)
        .handle(String.class, (s, ctx) -> {
          Thread.sleep(20); // slow on purpose: messages are in flight when the kill comes
          record.sadd("handled:child", s);
          return null;
        });
    broker.start();
    System.out.println("ready");
    Thread.currentThread().join(); // until killed
  }

  private PartitionCrashConsumer() {}
}
