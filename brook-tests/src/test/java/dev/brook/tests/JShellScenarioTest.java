package dev.brook.tests;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
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
    Path jshell = Path.of(System.getProperty("java.home"), "bin", "jshell");
    assertThat(jshell).as("jshell of the running JDK").isExecutable();
    String classpath = Arrays.stream(System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"))
            .split(File.pathSeparator))
        .filter(p -> !p.isBlank() && Files.exists(Path.of(p)))
        .collect(Collectors.joining(File.pathSeparator));
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
        broker.publish("marker", channel("other"));
        long deadline = System.currentTimeMillis() + 5000;
        while (calls.get() < 1 && System.currentTimeMillis() < deadline) Thread.onSpinWait();
        Thread.sleep(300);
        System.out.println("calls=" + calls.get() + " subscriptions=" + broker.subscriptions().size());
        broker.close();
        /exit
        """.formatted(redis.url(), snippet, snippet, snippet);
    Path file = dir.resolve("seed.jsh");
    Files.writeString(file, script);
    Process p = new ProcessBuilder(jshell.toString(), "--class-path", classpath, "-R-Dlogback.configurationFile=none",
        file.toString())
        .redirectErrorStream(true).start();
    assertThat(p.waitFor(120, TimeUnit.SECONDS)).as("jshell finished").isTrue();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    List<String> result = out.lines().filter(l -> l.startsWith("calls=")).toList();
    assertThat(result).as("jshell output:%n%s", out).containsExactly("calls=1 subscriptions=1");
  }
}
