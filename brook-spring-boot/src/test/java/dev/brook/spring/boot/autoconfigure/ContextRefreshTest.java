package dev.brook.spring.boot.autoconfigure;

import static dev.brook.redis.Redis.channel;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.brook.Broker;
import dev.brook.Subscribe;
import dev.brook.Subscription;
import dev.brook.testing.RedisServer;
import dev.brook.testing.WithRedisServer;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/**
 * The seed's scenario in Spring clothes: a test-context refresh or a DevTools restart runs the
 * registration code again in the same JVM, which is what made FastStream stack subscribers. Twenty
 * contexts, each closed before the next starts: one live subscription per id each time, a message
 * published in the last one handled exactly once, and no thread, connection or Redis subscription
 * left (CLIENT LIST and PUBSUB NUMSUB on the private server; LeakCheckExtension for threads).
 */
@WithRedisServer
class ContextRefreshTest {

  private static final int REFRESHES = 20;
  static final AtomicInteger handled = new AtomicInteger();

  /** A new instance (and, across DevTools restarts, a new class) per context; the same id every time. */
  static class Audit {
    @Subscribe(channel = "audit")
    void onEvent(String event) {
      handled.incrementAndGet();
    }
  }

  @Configuration(proxyBeanMethods = false)
  static class App {
    @Bean
    Audit audit() {
      return new Audit();
    }
  }

  @Test
  void twentyRefreshesLeaveOneSubscriptionAndNothingBehind(RedisServer redis) {
    handled.set(0);
    ApplicationContextRunner runner = new ApplicationContextRunner()
        .withConfiguration(AutoConfigurations.of(BrookAutoConfiguration.class))
        .withPropertyValues("brook.redis.url=" + redis.url(), "brook.redis.client-name=refresh")
        .withUserConfiguration(App.class);
    int[] clientsWhileRunning = {-1};
    for (int i = 1; i <= REFRESHES; i++) {
      boolean last = i == REFRESHES;
      runner.run(ctx -> {
        assertThat(ctx).hasNotFailed();
        Broker broker = ctx.getBean(Broker.class);
        assertThat(broker.subscriptions()).extracting(Subscription::id).containsExactly(Audit.class.getName() + "#onEvent");
        assertThat(numsub(redis, "audit")).isEqualTo(1);
        int clients = brookClients(redis);
        if (clientsWhileRunning[0] < 0) {
          clientsWhileRunning[0] = clients;
        }
        assertThat(clients).as("Brook's connections to Redis while a context runs").isEqualTo(clientsWhileRunning[0]);
        if (last) {
          broker.publish("after the last refresh", channel("audit"));
          await().atMost(Duration.ofSeconds(10)).until(() -> handled.get() >= 1);
          // Anything else that would get it (a stacked subscriber) has had time to.
          broker.publish("fence", channel("audit"));
          await().atMost(Duration.ofSeconds(10)).until(() -> handled.get() >= 2);
        }
      });
      assertThat(numsub(redis, "audit")).as("Redis subscriptions after context %d closed", i).isZero();
      await().atMost(Duration.ofSeconds(5)).until(() -> brookClients(redis) == 0);
    }
    assertThat(handled).hasValue(2);
  }

  private static long numsub(RedisServer redis, String channel) {
    return ((Number) ((List<?>) redis.command("PUBSUB", "NUMSUB", channel)).get(1)).longValue();
  }

  private static int brookClients(RedisServer redis) {
    return (int) ((String) redis.command("CLIENT", "LIST")).lines().filter(l -> l.contains("name=refresh")).count();
  }
}
