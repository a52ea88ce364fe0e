package dev.brook.spring.boot.autoconfigure;

import static dev.brook.redis.Redis.list;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.brook.Subscribe;
import dev.brook.redis.RedisBroker;
import dev.brook.testing.RedisCluster;
import dev.brook.testing.RedisSentinel;
import dev.brook.testing.WithRedisCluster;
import dev.brook.testing.WithRedisSentinel;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/**
 * One Redis configuration for Spring Data Redis and Brook beyond a single node: with only
 * {@code spring.data.redis.cluster.nodes} or {@code spring.data.redis.sentinel.*} set, the broker
 * connects to that cluster or that Sentinel-guarded primary and a {@code @Subscribe} bean consumes
 * from a List there.
 */
class SpringDataRedisTopologiesTest {

  static final List<String> jobs = new CopyOnWriteArrayList<>();

  static class Jobs {
    @Subscribe(list = "topology-jobs")
    void onJob(String job) {
      jobs.add(job);
    }
  }

  @Configuration(proxyBeanMethods = false)
  static class App {
    @Bean
    Jobs jobs() {
      return new Jobs();
    }
  }

  private static void roundTrip(ApplicationContextRunner runner, String expectedScheme) {
    jobs.clear();
    runner.withConfiguration(AutoConfigurations.of(BrookAutoConfiguration.class)).withUserConfiguration(App.class).run(ctx -> {
      assertThat(ctx).hasNotFailed();
      RedisBroker broker = ctx.getBean(RedisBroker.class);
      assertThat(broker.url()).startsWith(expectedScheme);
      broker.publish("j1", list("topology-jobs"));
      broker.publish("j2", list("topology-jobs"));
      await().atMost(Duration.ofSeconds(10)).until(() -> jobs.size() >= 2);
      assertThat(jobs).containsExactly("j1", "j2");
    });
  }

  @Nested
  @WithRedisCluster
  class OnACluster {
    @Test
    void clusterNodesFromSpringDataRedisServeBrook(RedisCluster cluster) {
      String nodes = cluster.nodes().stream().limit(2).map(n -> n.host() + ":" + n.port()).collect(Collectors.joining(","));
      roundTrip(new ApplicationContextRunner().withPropertyValues("spring.data.redis.cluster.nodes=" + nodes), "redis-cluster://");
    }
  }

  @Nested
  @WithRedisSentinel
  class BehindSentinel {
    @Test
    void sentinelSettingsFromSpringDataRedisServeBrook(RedisSentinel sentinel) {
      String nodes = sentinel.sentinels().stream().map(n -> n.host() + ":" + n.port()).collect(Collectors.joining(","));
      roundTrip(new ApplicationContextRunner().withPropertyValues("spring.data.redis.sentinel.master=" + sentinel.masterName(),
          "spring.data.redis.sentinel.nodes=" + nodes), "redis-sentinel://");
    }
  }
}
