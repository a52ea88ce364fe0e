package dev.brook.tests;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.List;
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
    String out = JShell.run(dir, script);
    List<String> result = out.lines().filter(l -> l.startsWith("calls=")).toList();
    assertThat(result).as("jshell output:%n%s", out).containsExactly("calls=[v3 book] ids=[REPL.Orders#onOrder]");
  }
}
