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
 * <p>Arguments: redis URL, {@code list}, {@code list-per-key} or {@code stream}, destination name.
 */
public final class CrashConsumer {

  public static void main(String[] args) throws Exception {
    String url = args[0];
    Destination destination = switch (args[1]) {
      case "list" -> list(args[2]).consumer("doomed").heartbeat(Duration.ofSeconds(1));
      // ConcurrencyPerKeyTest: the slots this process holds must free themselves once it is killed
      case "list-per-key" -> list(args[2]).consumer("doomed").heartbeat(Duration.ofSeconds(1)).concurrencyPerKey("tenant", 2);
      default -> stream(args[2]).group("g").consumer("doomed").minIdle(Duration.ofMillis(500)).startFrom("0");
    };
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
