package dev.brook.examples;

import static org.assertj.core.api.Assertions.assertThat;

import dev.brook.testing.RedisServer;
import dev.brook.testing.WithRedisServer;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** The quick start the README promises: it runs, handles three orders and exits cleanly. */
@WithRedisServer
class QuickStartTest {

  @Test
  void quickStartHandlesThreeOrdersAndStops(RedisServer redis) {
    PrintStream original = System.out;
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
    try {
      QuickStart.run(redis.url(), false);
    } finally {
      System.setOut(original);
    }
    String printed = out.toString(StandardCharsets.UTF_8);
    assertThat(printed.lines().filter(l -> l.startsWith("receipts <- "))).hasSize(3);
    assertThat(printed).contains("receipts <- Receipt[orderId=2, text=10 x pen]")
        .contains("logs.*   <- [info] handled order 3")
        .contains("Stopped cleanly.");
    assertThat(redis.command("PUBSUB", "NUMPAT")).isEqualTo(0L);
  }
}
