package dev.brook.testing;

import static dev.brook.redis.Redis.channel;
import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.platform.engine.discovery.DiscoverySelectors.selectClass;

import dev.brook.redis.RedisBroker;
import io.lettuce.core.RedisClient;
import io.lettuce.core.api.StatefulRedisConnection;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.platform.engine.TestExecutionResult;
import org.junit.platform.engine.support.descriptor.ClassSource;
import org.junit.platform.engine.support.descriptor.MethodSource;
import org.junit.platform.launcher.TestExecutionListener;
import org.junit.platform.launcher.TestIdentifier;
import org.junit.platform.launcher.core.LauncherDiscoveryRequestBuilder;
import org.junit.platform.launcher.core.LauncherFactory;

/**
 * Runs small test classes with {@link CheckLeaks} through the JUnit launcher and looks at their outcome. The
 * samples are nested classes, which Surefire does not run on its own; what they leak on purpose is closed here.
 */
class LeakCheckExtensionTest {

  /** What the samples leaked on purpose, closed after each run. */
  private static final List<AutoCloseable> LEFT = new CopyOnWriteArrayList<>();

  @AfterEach
  void closeWhatTheSamplesLeft() throws Exception {
    for (AutoCloseable c : LEFT) {
      c.close();
    }
    LEFT.clear();
  }

  @Test
  void aTestThatLeavesABrokerOpenFailsNamingItsThreadsAndConnections() {
    Map<String, TestExecutionResult> results = run(LeavesABrokerOpen.class);

    TestExecutionResult leak = results.get("leaves");
    assertThat(leak.getStatus()).isEqualTo(TestExecutionResult.Status.FAILED);
    assertThat(leak.getThrowable().orElseThrow())
        .isInstanceOf(AssertionError.class)
        .hasMessageStartingWith("Test LeavesABrokerOpen.leaves(RedisServer) left ")
        .hasMessageContaining("thread(s)")
        .hasMessageContaining("Redis connection(s)")
        .hasMessageContaining("brook-cleaner")
        .hasMessageContaining("name=leaky ")
        .hasMessageContaining("1000 ms after it and its @AfterEach methods returned");
    assertThat(results.get("closes").getStatus()).isEqualTo(TestExecutionResult.Status.SUCCESSFUL);
    assertThat(results.get("LeavesABrokerOpen").getStatus()).as("the class is not failed for it again")
        .isEqualTo(TestExecutionResult.Status.SUCCESSFUL);
    assertThat(results.get("closesInAfterEach").getStatus()).isEqualTo(TestExecutionResult.Status.SUCCESSFUL);
  }

  @Test
  void aRawConnectionLeftOpenIsARedisConnectionLeak() {
    Map<String, TestExecutionResult> results = run(LeavesAConnectionOpen.class);

    assertThat(results.get("leaves").getThrowable().orElseThrow())
        .hasMessageContaining("left 1 Redis connection(s) behind")
        .hasMessageContaining("name=raw ")
        .hasMessageNotContaining("thread(s)");
  }

  @Test
  void anOpenTestRedisBrokerIsALeakEvenWithoutThreadsOrConnections() {
    Map<String, TestExecutionResult> results = run(LeavesATestBrokerOpen.class);

    assertThat(results.get("leaves").getThrowable().orElseThrow())
        .hasMessageContaining("1 open TestRedisBroker(s)")
        .hasMessageContaining("TestRedisBroker.of(RedisBroker[redis://127.0.0.1:1])");
  }

  @Test
  void whatExistedBeforeTheTestIsNoLeakButAClassThatLeavesItOpenFails() {
    Map<String, TestExecutionResult> results = run(KeepsAClassBroker.class);

    assertThat(results.get("usesTheClassBroker").getStatus()).isEqualTo(TestExecutionResult.Status.SUCCESSFUL);
    assertThat(results.get("killsTheServer").getStatus()).isEqualTo(TestExecutionResult.Status.SUCCESSFUL);
    assertThat(results.get("KeepsAClassBroker").getThrowable().orElseThrow())
        .hasMessageStartingWith("Test class KeepsAClassBroker left ")
        .hasMessageContaining("thread(s) behind")
        .hasMessageContaining("brook-cleaner")
        .hasMessageContaining("@AfterAll");
  }

  private static Map<String, TestExecutionResult> run(Class<?> testClass) {
    Map<String, TestExecutionResult> results = new ConcurrentHashMap<>();
    LauncherFactory.create().execute(LauncherDiscoveryRequestBuilder.request().selectors(selectClass(testClass))
        .configurationParameter(LeakCheckExtension.GRACE_PARAMETER, "PT1S").build(),
        new TestExecutionListener() {
          @Override
          public void executionFinished(TestIdentifier id, TestExecutionResult result) {
            String name = id.getSource().map(source -> source instanceof MethodSource m ? m.getMethodName()
                : source instanceof ClassSource c ? c.getJavaClass().getSimpleName() : id.getDisplayName())
                .orElse(id.getDisplayName());
            results.put(name, result);
          }
        });
    return results;
  }

  // ---- samples ------------------------------------------------------------------------------------

  @WithRedisServer
  @CheckLeaks
  static class LeavesABrokerOpen {
    private final List<RedisBroker> toClose = new ArrayList<>();

    @AfterEach
    void close() {
      toClose.forEach(RedisBroker::close);
    }

    @Test
    void leaves(RedisServer redis) {
      RedisBroker broker = RedisBroker.builder().url(redis.url()).clientName("leaky").build();
      LEFT.add(broker);
      broker.subscriber(channel("c")).handle(String.class, (s, ctx) -> null);
      broker.start();
    }

    @Test
    void closes(RedisServer redis) {
      try (RedisBroker broker = RedisBroker.builder().url(redis.url()).build()) {
        broker.subscriber(channel("c")).handle(String.class, (s, ctx) -> null);
        broker.start();
      }
    }

    @Test
    void closesInAfterEach(RedisServer redis) {
      RedisBroker broker = RedisBroker.builder().url(redis.url()).build();
      toClose.add(broker);
      broker.start();
    }
  }

  @WithRedisServer
  @CheckLeaks
  static class LeavesAConnectionOpen {
    @Test
    void leaves(RedisServer redis) {
      RedisClient client = RedisClient.create(redis.url());
      StatefulRedisConnection<String, String> connection = client.connect();
      LEFT.add(client::shutdown);
      connection.sync().clientSetname("raw");
    }
  }

  @CheckLeaks
  static class LeavesATestBrokerOpen {
    @Test
    void leaves() {
      RedisBroker broker = RedisBroker.create("redis://127.0.0.1:1");
      TestRedisBroker test = TestRedisBroker.of(broker);
      LEFT.add(broker);
      LEFT.add(test);
    }
  }

  @WithRedisServer
  @CheckLeaks
  static class KeepsAClassBroker {
    static RedisBroker classBroker;

    @BeforeAll
    static void open(RedisServer redis) {
      classBroker = RedisBroker.builder().url(redis.url()).build();
      classBroker.start();
      LEFT.add(classBroker);
    }

    @Test
    void usesTheClassBroker() {
      classBroker.publish("x", channel("c"));
    }

    @Test
    void killsTheServer(RedisServer redis) {
      redis.kill();
    }

    @AfterAll
    static void forgetsToCloseIt() {
    }
  }
}
