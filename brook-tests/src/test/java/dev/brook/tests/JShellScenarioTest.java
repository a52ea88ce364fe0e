package dev.brook.tests;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The seed scenario for real: JShell (the JDK's, the one running this test) runs the same
 * registration snippet three times on one broker, publishes once, and prints the number of handler
 * calls and live subscriptions. FastStream's notebook bug would print 3 and 3; Brook prints 1 and 1.
 */
class JShellScenarioTest extends RedisTestBase {

  @Test
  void reRunningASnippetThreeTimesInJShellHandlesOnceWithOneSubscription(@TempDir Path dir) throws Exception {
    String snippet = """
        broker.subscriber(channel("orders")).handle(String.class, (order, ctx) -> { calls.incrementAndGet(); return null; });
        """;
    String script = """
        import dev.brook.redis.RedisBroker;
        import static dev.brook.redis.Redis.*;
        import java.util.concurrent.atomic.AtomicInteger;
        var calls = new AtomicInteger();
        var broker = RedisBroker.create("%s");
        broker.start();
        %s%s%s
        broker.publish("book", channel("orders"));
        long deadline = System.currentTimeMillis() + 5000;
        while (calls.get() < 1 && System.currentTimeMillis() < deadline) Thread.onSpinWait();
        Thread.sleep(300);
        System.out.println("calls=" + calls.get() + " subscriptions=" + broker.subscriptions().size());
        broker.close();
        /exit
        """.formatted(redis.url(), snippet, snippet, snippet);
    String out = JShell.run(dir, script);
    List<String> result = out.lines().filter(l -> l.startsWith("calls=")).toList();
    assertThat(result).as("jshell output:%n%s", out).containsExactly("calls=1 subscriptions=1");
  }
}
