package dev.brook.testing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.platform.engine.discovery.DiscoverySelectors.selectClass;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.platform.engine.TestExecutionResult;
import org.junit.platform.engine.support.descriptor.ClassSource;
import org.junit.platform.engine.support.descriptor.MethodSource;
import org.junit.platform.launcher.TestExecutionListener;
import org.junit.platform.launcher.TestIdentifier;
import org.junit.platform.launcher.core.LauncherDiscoveryRequestBuilder;
import org.junit.platform.launcher.core.LauncherFactory;

/**
 * Runs the small test classes of {@link LeakCheckSamples} through the JUnit launcher and looks at their outcome;
 * what they leak on purpose is closed here.
 */
class LeakCheckExtensionTest {

  @AfterEach
  void closeWhatTheSamplesLeft() throws Exception {
    for (AutoCloseable c : LeakCheckSamples.LEFT) {
      c.close();
    }
    LeakCheckSamples.LEFT.clear();
  }

  @Test
  void aTestThatLeavesABrokerOpenFailsNamingItsThreadsAndConnections() {
    Map<String, TestExecutionResult> results = run(LeakCheckSamples.LeavesABrokerOpen.class);

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
    Map<String, TestExecutionResult> results = run(LeakCheckSamples.LeavesAConnectionOpen.class);

    assertThat(results.get("leaves").getThrowable().orElseThrow())
        .hasMessageContaining("left 1 Redis connection(s) behind")
        .hasMessageContaining("name=raw ")
        .hasMessageNotContaining("thread(s)");
  }

  @Test
  void aConnectionLeftOpenToASentinelIsARedisConnectionLeak() {
    Map<String, TestExecutionResult> results = run(LeakCheckSamples.LeavesASentinelConnectionOpen.class);

    assertThat(results.get("leaves").getThrowable().orElseThrow())
        .hasMessageContaining("left 1 Redis connection(s) behind")
        .hasMessageContaining("name=rawsentinel ")
        .hasMessageNotContaining("thread(s)");
    assertThat(results.get("closes").getStatus()).isEqualTo(TestExecutionResult.Status.SUCCESSFUL);
  }

  @Test
  void anOpenTestRedisBrokerIsALeakEvenWithoutThreadsOrConnections() {
    Map<String, TestExecutionResult> results = run(LeakCheckSamples.LeavesATestBrokerOpen.class);

    assertThat(results.get("leaves").getThrowable().orElseThrow())
        .hasMessageContaining("1 open TestRedisBroker(s)")
        .hasMessageContaining("TestRedisBroker.of(RedisBroker[redis://127.0.0.1:1])");
  }

  @Test
  void whatExistedBeforeTheTestIsNoLeakButAClassThatLeavesItOpenFails() {
    Map<String, TestExecutionResult> results = run(LeakCheckSamples.KeepsAClassBroker.class);

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
}
