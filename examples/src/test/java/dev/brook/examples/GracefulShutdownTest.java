package dev.brook.examples;

import static org.assertj.core.api.Assertions.assertThat;

import dev.brook.testing.RedisServer;
import dev.brook.testing.WithRedisServer;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** A service run with App in its own JVM stops gracefully on SIGTERM and exits 0. */
@WithRedisServer
class GracefulShutdownTest {

  @Test
  void sigtermShutsDownGracefullyAndExitsZero(RedisServer redis) throws Exception {
    String java = ProcessHandle.current().info().command().orElseThrow();
    // The service's own logging (logback.xml: INFO on the console), not the tests' (a file): the test reads its lines.
    Process child = new ProcessBuilder(java, "-cp", System.getProperty("java.class.path"),
        "-Dlogback.configurationFile=logback.xml", QuickStart.class.getName(), "--forever", "--url", redis.url())
        .redirectErrorStream(true)
        .start();
    List<String> lines = new CopyOnWriteArrayList<>();
    Thread reader = Thread.ofPlatform().daemon().name("child-output").start(() -> {
      try (var in = new BufferedReader(new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8))) {
        String line;
        while ((line = in.readLine()) != null) {
          lines.add(line);
        }
      } catch (java.io.IOException ignored) {
        // The child closed its output.
      }
    });
    try {
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
      while (lines.stream().filter(l -> l.startsWith("receipts <- ")).count() < 3) {
        assertThat(child.isAlive()).as("child alive; output so far: %s", lines).isTrue();
        assertThat(System.nanoTime()).as("receipts within 30 s; output: %s", lines).isLessThan(deadline);
        Thread.onSpinWait();
        reader.join(20);
      }
      // SIGTERM through the handle: Process.destroy() would also close our end of the child's output.
      assertThat(child.toHandle().destroy()).isTrue();
      assertThat(child.waitFor(20, TimeUnit.SECONDS)).as("exited; output: %s", lines).isTrue();
      reader.join(10_000);
      assertThat(reader.isAlive()).as("child output read to the end").isFalse();
      assertThat(child.exitValue()).as("exit code; output: %s", lines).isZero();
      assertThat(lines).anyMatch(l -> l.contains("Received SIGTERM; shutting down gracefully."))
          .contains("Stopped cleanly.");
    } finally {
      child.destroyForcibly();
    }
    assertThat(((String) redis.command("CLIENT", "LIST")).lines().filter(l -> l.contains("name=brook "))).isEmpty();
  }
}
