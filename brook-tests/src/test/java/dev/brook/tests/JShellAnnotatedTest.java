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
 * The seed scenario with an annotated class: JShell compiles each (re)definition of a class into a
 * new wrapper ({@code REPL.$JShell$11$Orders}, then {@code REPL.$JShell$11B$Orders}); the default id
 * leaves the wrapper out, so redefining the class and including it again replaces the subscription
 * and the newest handler runs.
 */
class JShellAnnotatedTest extends RedisTestBase {

  @Test
  void redefiningAnAnnotatedClassInJShellAndIncludingItAgainReplaces(@TempDir Path dir) throws Exception {
    Path jshell = Path.of(System.getProperty("java.home"), "bin", "jshell");
    String classpath = Arrays.stream(System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"))
            .split(File.pathSeparator))
        .filter(p -> !p.isBlank() && Files.exists(Path.of(p)))   // jshell refuses a missing entry
        .collect(Collectors.joining(File.pathSeparator));
    String cell = """
        class Orders {
          @Subscribe(channel = "orders")
          void onOrder(String order) { calls.add("%s " + order); }
        }
        broker.include(new Orders());
        """;
    String script = """
        import dev.brook.Subscribe;
        import dev.brook.redis.RedisBroker;
        import static dev.brook.redis.Redis.*;
        import java.util.concurrent.CopyOnWriteArrayList;
        var calls = new CopyOnWriteArrayList<String>();
        var broker = RedisBroker.create("%s");
        broker.start();
        %s%s%s
        broker.publish("book", channel("orders"));
        long deadline = System.currentTimeMillis() + 5000;
        while (calls.isEmpty() && System.currentTimeMillis() < deadline) Thread.onSpinWait();
        Thread.sleep(300);
        System.out.println("calls=" + calls + " ids=" + broker.subscriptions().stream().map(s -> s.id()).toList());
        broker.close();
        /exit
        """.formatted(redis.url(), cell.formatted("v1"), cell.formatted("v2"), cell.formatted("v3"));
    Path file = dir.resolve("annotated.jsh");
    Files.writeString(file, script);
    Process p = new ProcessBuilder(jshell.toString(), "--class-path", classpath, "-R-Dlogback.configurationFile=none",
        file.toString())
        .redirectErrorStream(true).start();
    assertThat(p.waitFor(120, TimeUnit.SECONDS)).as("jshell finished").isTrue();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    List<String> result = out.lines().filter(l -> l.startsWith("calls=")).toList();
    assertThat(result).as("jshell output:%n%s", out).containsExactly("calls=[v3 book] ids=[REPL.Orders#onOrder]");
  }
}
