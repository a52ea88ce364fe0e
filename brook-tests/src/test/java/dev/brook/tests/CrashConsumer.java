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
 * <p>Arguments: redis URL, {@code list}, {@code list-per-key}, {@code list-rate-per-key},
 * {@code list-per-key-burst}, {@code list-rate-per-key-burst}, {@code stream}, {@code stream-per-key}
 * or {@code stream-retry}, destination name.
 */
public final class CrashConsumer {

  public static void main(String[] args) throws Exception {
    String url = args[0];
    Destination destination = switch (args[1]) {
      case "list" -> list(args[2]).consumer("doomed").heartbeat(Duration.ofSeconds(1));
      // ConcurrencyPerKeyTest: the slots this process holds must free themselves once it is killed
      case "list-per-key" -> list(args[2]).consumer("doomed").heartbeat(Duration.ofSeconds(1)).concurrencyPerKey("tenant", 2);
      // JobsProbeTest: messages parked by a per-key rate limit stay in Redis when this process is killed
      case "list-rate-per-key" -> list(args[2]).consumer("doomed").heartbeat(Duration.ofSeconds(1))
          .rateLimitPerKey("tenant", 5, Duration.ofSeconds(1));
      // PerKeyBurstTest: the same limits as the test's own consumers (PerKeyBurstTest.SLOTS, RATE)
      case "list-per-key-burst" -> list(args[2]).consumer("doomed").heartbeat(Duration.ofSeconds(1))
          .concurrencyPerKey("tenant", PerKeyBurstTest.SLOTS);
      case "list-rate-per-key-burst" -> list(args[2]).consumer("doomed").heartbeat(Duration.ofSeconds(1))
          .rateLimitPerKey("tenant", PerKeyBurstTest.RATE, Duration.ofSeconds(1));
      // StreamPerKeyTest: slots held and entries parked by this process come back once it is killed
      case "stream-per-key" -> stream(args[2]).group("g").consumer("doomed").minIdle(Duration.ofMillis(500)).startFrom("0")
          .concurrencyPerKey("tenant", 2);
      default -> stream(args[2]).group("g").consumer("doomed").minIdle(Duration.ofMillis(500)).startFrom("0");
    };
    RedisClient client = RedisClient.create(url);
    RedisCommands<String, String> record = client.connect().sync();
    RedisBroker broker = RedisBroker.create(url);
    dev.brook.SubscriberBuilder builder = broker.subscriber(destination).concurrency(8);
    boolean failFirst = args[1].equals("stream-retry");
    if (failFirst) {
      // JobsProbeTest: every entry's first attempt fails and waits 30 s for its retry; once this
      // process is killed nothing keeps the entries from going idle, and the others take them.
      builder = builder.retry(dev.brook.Backoff.fixed(Duration.ofSeconds(30)));
    }
    builder.handle(String.class, (s, ctx) -> {
      if (failFirst && ctx.deliveryCount() == 1) {
        record.sadd("failed:child", s);
        throw new IllegalStateException("first attempt fails");
      }
      Thread.sleep(100); // slow on purpose: messages are in flight when the kill comes
      record.sadd("handled:child", s);
      return null;
    });
    broker.start();
    System.out.println("ready");
    Thread.currentThread().join(); // until killed
  }

  /**
   * Starts this consumer in a child JVM and returns once it consumes ("ready"); what it prints
   * afterwards is read and discarded on a virtual thread, since a full pipe would block its logging
   * threads, Lettuce's I/O thread among them, and with it the acknowledgements the tests count on.
   * The caller kills the process.
   */
  static Process launch(String url, String kind, String name) throws java.io.IOException {
    Process child = new ProcessBuilder(ProcessHandle.current().info().command().orElseThrow(),
        "-cp", System.getProperty("java.class.path"), CrashConsumer.class.getName(), url, kind, name)
        .redirectErrorStream(true).start();
    java.io.BufferedReader out = new java.io.BufferedReader(new java.io.InputStreamReader(child.getInputStream()));
    String line;
    while ((line = out.readLine()) != null && !line.equals("ready")) {
      // skip log lines until the child is consuming
    }
    if (line == null) {
      child.destroyForcibly();
      throw new IllegalStateException("The crash consumer (" + kind + " " + name + ") ended before it was ready.");
    }
    Thread.ofVirtual().name("crash-child-output").start(() -> {
      try {
        while (out.readLine() != null) {
          // discard
        }
      } catch (java.io.IOException ended) {
        // the child was killed
      }
    });
    return child;
  }

  private CrashConsumer() {}
}
