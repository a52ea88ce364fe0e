package dev.brook.tests;

import static dev.brook.redis.Redis.list;
import static dev.brook.redis.Redis.stream;

import dev.brook.Destination;
import dev.brook.redis.RedisBroker;
import io.lettuce.core.RedisClient;
import io.lettuce.core.api.sync.RedisCommands;
import java.time.Duration;

/**
 * A consumer process for the crash tests: handles messages slowly (recording each in the Redis set
 * {@code handled:child}) so that it always holds some, until the test kills it with SIGKILL.
 *
 * <p>Arguments: redis URL, {@code list} or {@code stream}, destination name.
 */
public final class CrashConsumer {

  public static void main(String[] args) throws Exception {
    String url = args[0];
    Destination destination = args[1].equals("list")
        ? list(args[2]).consumer("doomed").heartbeat(Duration.ofSeconds(1))
        : stream(args[2]).group("g").consumer("doomed").minIdle(Duration.ofMillis(500)).startFrom("0");
    RedisClient client = RedisClient.create(url);
    RedisCommands<String, String> record = client.connect().sync();
    RedisBroker broker = RedisBroker.create(url);
    broker.subscriber(destination).concurrency(8).handle(String.class, (s, ctx) -> {
      Thread.sleep(100); // slow on purpose: messages are in flight when the kill comes
      record.sadd("handled:child", s);
      return null;
    });
    broker.start();
    System.out.println("ready");
    Thread.currentThread().join(); // until killed
  }

  private CrashConsumer() {}
}
