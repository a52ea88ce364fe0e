package dev.brook.spring.boot.autoconfigure;

import static dev.brook.redis.Redis.channel;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import dev.brook.Broker;
import dev.brook.DuplicatePolicy;
import dev.brook.Publisher;
import dev.brook.Subscription;
import dev.brook.micrometer.BrookMetrics;
import dev.brook.redis.RedisBroker;
import dev.brook.spring.boot.autoconfigure.Handlers.Order;
import dev.brook.spring.boot.autoconfigure.Handlers.Orders;
import dev.brook.spring.boot.autoconfigure.Handlers.Receipt;
import dev.brook.spring.boot.autoconfigure.Handlers.Receipts;
import dev.brook.testing.RedisServer;
import dev.brook.testing.WithRedisServer;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import jakarta.validation.Validator;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.springframework.aop.framework.ProxyFactory;
import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.health.contributor.HealthIndicator;
import org.springframework.boot.health.contributor.Status;
import org.springframework.boot.test.context.FilteredClassLoader;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.boot.validation.autoconfigure.ValidationAutoConfiguration;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.validation.beanvalidation.LocalValidatorFactoryBean;

/** Every condition of the auto-configuration, on a private redis-server. */
@WithRedisServer
class BrookAutoConfigurationTest {

  private static final Duration WAIT = Duration.ofSeconds(10);

  private RedisServer redis;
  private ApplicationContextRunner runner;

  @BeforeEach
  void setUp(RedisServer redis) {
    this.redis = redis;
    this.runner = new ApplicationContextRunner()
        .withConfiguration(AutoConfigurations.of(BrookAutoConfiguration.class, BrookHealthAutoConfiguration.class,
            BrookMetricsAutoConfiguration.class, BrookAsyncApiAutoConfiguration.class))
        .withPropertyValues("brook.redis.url=" + redis.url());
  }

  @Configuration(proxyBeanMethods = false)
  static class OrdersConfig {
    @Bean
    Orders orders() {
      return new Orders();
    }

    @Bean
    Receipts receipts() {
      return new Receipts();
    }
  }

  @Test
  void aRedisBrokerBeanRunsSubscribeBeansUnderTheirClassNameIds() {
    runner.withUserConfiguration(OrdersConfig.class).run(ctx -> {
      assertThat(ctx).hasSingleBean(RedisBroker.class).hasSingleBean(BrookLifecycle.class);
      RedisBroker broker = ctx.getBean(RedisBroker.class);
      assertThat(broker.url()).isEqualTo(redis.url());
      assertThat(broker.subscriptions()).extracting(Subscription::id).containsExactlyInAnyOrder(
          Orders.class.getName() + "#onOrder", Receipts.class.getName() + "#onReceipt");
      assertThat(broker.subscriptions()).extracting(Subscription::state).containsOnly(Subscription.State.RUNNING);

      broker.publish(new Order(7, "Ada"), channel("orders"));
      await().atMost(WAIT).until(() -> ctx.getBean(Receipts.class).seen.size() == 1);
      assertThat(ctx.getBean(Receipts.class).seen).containsExactly(new Receipt(7));
      assertThat(ctx.getBean(Orders.class).seen).containsExactly(new Order(7, "Ada"));
    });
  }

  @Test
  void theBrokerAnnouncesItselfUnderSpringApplicationNameOrBrookAppName() {
    runner.withPropertyValues("spring.application.name=billing").run(ctx -> {
      RedisBroker broker = ctx.getBean(RedisBroker.class);
      String id = broker.instanceId().orElseThrow();
      await().atMost(WAIT).untilAsserted(() -> assertThat((String) redis.command("GET", "brook:broker:{" + id + "}"))
          .contains("\"app\":\"billing\""));
    });
    runner.withPropertyValues("spring.application.name=billing", "brook.app-name=billing-eu").run(ctx -> {
      String id = ctx.getBean(RedisBroker.class).instanceId().orElseThrow();
      await().atMost(WAIT).untilAsserted(() -> assertThat((String) redis.command("GET", "brook:broker:{" + id + "}"))
          .contains("\"app\":\"billing-eu\""));
    });
  }

  @Test
  void withoutRedisBrokerOnTheClassPathNothingIsConfigured() {
    runner.withClassLoader(new FilteredClassLoader(RedisBroker.class)).withUserConfiguration(OrdersConfig.class)
        .run(ctx -> assertThat(ctx).hasNotFailed().doesNotHaveBean(Broker.class).doesNotHaveBean(BrookLifecycle.class)
            .doesNotHaveBean(SubscribeBeanPostProcessor.class));
  }

  @Test
  void brookEnabledFalseConfiguresNothing() {
    runner.withPropertyValues("brook.enabled=false").withUserConfiguration(OrdersConfig.class)
        .run(ctx -> assertThat(ctx).hasNotFailed().doesNotHaveBean(Broker.class).doesNotHaveBean(HealthIndicator.class));
  }

  @Configuration(proxyBeanMethods = false)
  static class OwnBroker {
    static final AtomicInteger built = new AtomicInteger();

    @Bean
    RedisBroker myBroker(org.springframework.core.env.Environment env) {
      built.incrementAndGet();
      return RedisBroker.builder().url(env.getProperty("brook.redis.url")).clientName("mine").build();
    }
  }

  @Test
  void theApplicationsOwnBrokerWinsAndGetsTheLifecycleAndTheHandlers() {
    runner.withUserConfiguration(OwnBroker.class, OrdersConfig.class).run(ctx -> {
      assertThat(ctx).hasSingleBean(Broker.class).hasBean("myBroker").doesNotHaveBean("brookBroker");
      Broker broker = ctx.getBean(Broker.class);
      assertThat(broker.subscriptions()).hasSize(2).extracting(Subscription::state).containsOnly(Subscription.State.RUNNING);
      assertThat((String) redis.command("CLIENT", "LIST")).contains("name=mine");
    });
  }

  @Test
  void propertiesBind() {
    runner.withPropertyValues("brook.redis.client-name=orders-svc", "brook.graceful-timeout=3s",
        "brook.duplicate-policy=reject").run(ctx -> {
      RedisBroker broker = ctx.getBean(RedisBroker.class);
      assertThat(broker.gracefulTimeout()).isEqualTo(Duration.ofSeconds(3));
      assertThat((String) redis.command("CLIENT", "LIST")).contains("name=orders-svc");
      broker.include(new Orders());
      org.assertj.core.api.Assertions.assertThatThrownBy(() -> broker.include(new Orders()))
          .isInstanceOf(dev.brook.DuplicateSubscriptionException.class);
      assertThat(ctx.getBean(BrookProperties.class).getDuplicatePolicy()).isEqualTo(DuplicatePolicy.REJECT);
    });
  }

  @Test
  void theGracefulTimeoutStaysWithinSpringsShutdownPhase() {
    runner.withPropertyValues("spring.lifecycle.timeout-per-shutdown-phase=4s")
        .run(ctx -> assertThat(ctx.getBean(Broker.class).gracefulTimeout()).isEqualTo(Duration.ofSeconds(4)));
    runner.run(ctx -> assertThat(ctx.getBean(Broker.class).gracefulTimeout()).isEqualTo(Duration.ofSeconds(15)));
  }

  @Test
  void badValuesFailTheStartNamingTheProperty() {
    runner.withPropertyValues("brook.graceful-timeout=-1s").run(ctx -> assertThat(ctx).hasFailed()
        .getFailure().rootCause().hasMessageContaining("brook.graceful-timeout must be positive"));
    runner.withPropertyValues("brook.redis.url=http://localhost:6379").run(ctx -> assertThat(ctx).hasFailed()
        .getFailure().rootCause().hasMessageContaining("brook.redis.url must be a Redis URL"));
    runner.withPropertyValues("brook.duplicate-policy=sometimes").run(ctx -> assertThat(ctx).hasFailed()
        .getFailure().hasStackTraceContaining("brook.duplicate-policy").hasStackTraceContaining("sometimes"));
    runner.withPropertyValues("brook.asyncapi.path=asyncapi/").run(ctx -> assertThat(ctx).hasFailed()
        .getFailure().rootCause().hasMessageContaining("brook.asyncapi.path must start with '/'"));
  }

  @Test
  void anUnreachableRedisFailsTheStartNamingTheServer() {
    runner.withPropertyValues("brook.redis.url=redis://127.0.0.1:1", "brook.redis.connect-timeout=1s")
        .withUserConfiguration(OrdersConfig.class)
        .run(ctx -> assertThat(ctx).hasFailed().getFailure().hasStackTraceContaining("127.0.0.1:1"));
  }

  @Test
  void springDataRedisSettingsServeWhenBrookHasNoUrl() {
    ApplicationContextRunner noUrl = new ApplicationContextRunner()
        .withConfiguration(AutoConfigurations.of(BrookAutoConfiguration.class));
    noUrl.withPropertyValues("spring.data.redis.host=127.0.0.1", "spring.data.redis.port=" + redis.port())
        .run(ctx -> assertThat(ctx.getBean(RedisBroker.class).url()).isEqualTo("redis://127.0.0.1:" + redis.port()));
    noUrl.withPropertyValues("spring.data.redis.url=" + redis.url())
        .run(ctx -> assertThat(ctx.getBean(RedisBroker.class).url()).isEqualTo(redis.url()));
    // Brook's own URL wins over Spring Data's.
    noUrl.withPropertyValues("spring.data.redis.host=10.255.255.1", "brook.redis.url=" + redis.url())
        .run(ctx -> assertThat(ctx.getBean(RedisBroker.class).url()).isEqualTo(redis.url()));
  }

  @Test
  void lettuceFromSpringBoots6LineFailsWithTheFix() {
    org.assertj.core.api.Assertions.assertThatThrownBy(() -> LettuceVersion.check("6.8.2.RELEASE"))
        .hasMessageContaining("Brook needs Lettuce 7.x").hasMessageContaining("<lettuce.version>7.7.0.RELEASE</lettuce.version>");
    LettuceVersion.check("7.7.0.RELEASE/1960d49");
    LettuceVersion.check(null);
  }

  @Test
  void springDataRedisPasswordAndDatabaseMakeTheUrl() {
    BrookProperties props = new BrookProperties();
    org.springframework.mock.env.MockEnvironment env = new org.springframework.mock.env.MockEnvironment()
        .withProperty("spring.data.redis.host", "cache").withProperty("spring.data.redis.port", "6380")
        .withProperty("spring.data.redis.username", "app").withProperty("spring.data.redis.password", "p@ss word")
        .withProperty("spring.data.redis.database", "3").withProperty("spring.data.redis.ssl.enabled", "true");
    assertThat(RedisUrls.resolve(props, env)).isEqualTo("rediss://app:p%40ss%20word@cache:6380/3");
    assertThat(RedisUrls.resolve(props, new org.springframework.mock.env.MockEnvironment())).isEqualTo("redis://localhost:6379");
  }

  @Test
  void springDataRedisSentinelAndClusterSettingsMakeTheirUrls() {
    BrookProperties props = new BrookProperties();
    org.springframework.mock.env.MockEnvironment sentinel = new org.springframework.mock.env.MockEnvironment()
        .withProperty("spring.data.redis.sentinel.master", "mymaster")
        .withProperty("spring.data.redis.sentinel.nodes", "s1:26379, s2:26380")
        .withProperty("spring.data.redis.password", "secret").withProperty("spring.data.redis.database", "2")
        // Spring Data Redis prefers Sentinel over cluster and host settings, and so does Brook.
        .withProperty("spring.data.redis.cluster.nodes", "c1:7000").withProperty("spring.data.redis.host", "h");
    assertThat(RedisUrls.resolve(props, sentinel)).isEqualTo("redis-sentinel://:secret@s1:26379,s2:26380/2#mymaster");
    org.springframework.mock.env.MockEnvironment cluster = new org.springframework.mock.env.MockEnvironment()
        .withProperty("spring.data.redis.cluster.nodes", "c1:7000,c2:7001,")
        .withProperty("spring.data.redis.username", "app").withProperty("spring.data.redis.password", "pw")
        .withProperty("spring.data.redis.ssl.enabled", "true").withProperty("spring.data.redis.host", "ignored");
    assertThat(RedisUrls.resolve(props, cluster)).isEqualTo("rediss-cluster://app:pw@c1:7000,c2:7001");
    // Without a master name the sentinel nodes are not enough: Spring Data Redis ignores them too.
    org.springframework.mock.env.MockEnvironment noMaster = new org.springframework.mock.env.MockEnvironment()
        .withProperty("spring.data.redis.sentinel.nodes", "s1:26379").withProperty("spring.data.redis.port", "6390");
    assertThat(RedisUrls.resolve(props, noMaster)).isEqualTo("redis://localhost:6390");
  }

  @Configuration(proxyBeanMethods = false)
  static class SnakeCaseMapper {
    @Bean
    ObjectMapper objectMapper() {
      return new ObjectMapper().setPropertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE);
    }
  }

  @Test
  void theApplicationsJackson2MapperEncodesAndDecodes() {
    runner.withUserConfiguration(SnakeCaseMapper.class, OrdersConfig.class).run(ctx -> {
      Broker broker = ctx.getBean(Broker.class);
      broker.publish("{\"id\":5,\"customer_name\":\"Lin\"}", channel("orders"));
      await().atMost(WAIT).until(() -> ctx.getBean(Orders.class).seen.size() == 1);
      assertThat(ctx.getBean(Orders.class).seen).containsExactly(new Order(5, "Lin"));
    });
  }

  @Configuration(proxyBeanMethods = false)
  static class CountingValidator {
    static final AtomicInteger validations = new AtomicInteger();

    @Bean
    LocalValidatorFactoryBean validator() {
      return new LocalValidatorFactoryBean() {
        @Override
        public <T> java.util.Set<jakarta.validation.ConstraintViolation<T>> validate(T object, Class<?>... groups) {
          validations.incrementAndGet();
          return super.validate(object, groups);
        }
      };
    }
  }

  @Test
  void validUsesTheApplicationsValidator() {
    CountingValidator.validations.set(0);
    runner.withUserConfiguration(CountingValidator.class, OrdersConfig.class).run(ctx -> {
      Broker broker = ctx.getBean(Broker.class);
      Subscription orders = broker.subscription(Orders.class.getName() + "#onOrder");
      broker.publish(new Order(-1, "Neg"), channel("orders"));
      broker.publish(new Order(2, "Pos"), channel("orders"));
      await().atMost(WAIT).until(() -> orders.metrics().handled() == 1 && orders.metrics().decodeErrors() == 1);
      assertThat(ctx.getBean(Orders.class).seen).containsExactly(new Order(2, "Pos"));
      assertThat(CountingValidator.validations).hasValue(2);
    });
  }

  @Test
  void bootsValidationAutoConfigurationsValidatorIsUsed() {
    runner.withConfiguration(AutoConfigurations.of(ValidationAutoConfiguration.class)).withUserConfiguration(OrdersConfig.class)
        .run(ctx -> {
          assertThat(ctx).hasSingleBean(Validator.class);
          Broker broker = ctx.getBean(Broker.class);
          Subscription orders = broker.subscription(Orders.class.getName() + "#onOrder");
          broker.publish(new Order(0, "Zero"), channel("orders"));
          await().atMost(WAIT).until(() -> orders.metrics().decodeErrors() == 1);
          assertThat(ctx.getBean(Orders.class).seen).isEmpty();
        });
  }

  @Test
  void withoutBeanValidationOnTheClassPathTheBrokerStillStarts() {
    runner.withClassLoader(new FilteredClassLoader("jakarta.validation")).withUserConfiguration(OrdersConfig.class)
        .run(ctx -> assertThat(ctx).hasNotFailed().hasSingleBean(RedisBroker.class));
  }

  @Configuration(proxyBeanMethods = false)
  static class ProxiedOrders {
    static final AtomicInteger advised = new AtomicInteger();

    @Bean
    Orders orders() {
      ProxyFactory f = new ProxyFactory(new Orders());
      f.setProxyTargetClass(true);
      f.addAdvice((org.aopalliance.intercept.MethodInterceptor) inv -> {
        advised.incrementAndGet();
        return inv.proceed();
      });
      return (Orders) f.getProxy();
    }
  }

  @Test
  void aClassProxyKeepsItsIdsAndItsAdviceRuns() {
    ProxiedOrders.advised.set(0);
    runner.withUserConfiguration(ProxiedOrders.class).run(ctx -> {
      Broker broker = ctx.getBean(Broker.class);
      assertThat(ctx.getBean(Orders.class).getClass().getName()).contains("$$");
      assertThat(broker.subscriptions()).extracting(Subscription::id).containsExactly(Orders.class.getName() + "#onOrder");
      broker.publish(new Order(3, "Cy"), channel("orders"));
      await().atMost(WAIT).until(() -> broker.subscriptions().iterator().next().metrics().handled() == 1);
      assertThat(ProxiedOrders.advised.get()).isGreaterThanOrEqualTo(1);
    });
  }

  @Test
  void stoppingTheContextStopsSubscriptionsBeforeTheBrokerCloses() {
    runner.withUserConfiguration(OrdersConfig.class).run(ctx -> {
      Broker broker = ctx.getBean(Broker.class);
      assertThat(broker.subscriptions()).extracting(Subscription::state).containsOnly(Subscription.State.RUNNING);
      ctx.stop();
      assertThat(broker.subscriptions()).extracting(Subscription::state).containsOnly(Subscription.State.STOPPED);
      assertThat(((Number) ((List<?>) redis.command("PUBSUB", "NUMSUB", "orders")).get(1)).longValue()).isZero();
      broker.publish(new Order(1, "still publishes"), channel("orders"));
      ctx.start();
      assertThat(broker.subscriptions()).extracting(Subscription::state).containsOnly(Subscription.State.RUNNING);
    });
  }

  static class Slow {
    static final java.util.concurrent.CountDownLatch started = new java.util.concurrent.CountDownLatch(1);
    static final java.util.concurrent.atomic.AtomicBoolean interrupted = new java.util.concurrent.atomic.AtomicBoolean();

    @dev.brook.Subscribe(channel = "slow")
    void onSlow(String s) {
      started.countDown();
      try {
        Thread.sleep(30_000);
      } catch (InterruptedException e) {
        interrupted.set(true);
      }
    }
  }

  @Configuration(proxyBeanMethods = false)
  static class SlowConfig {
    @Bean
    Slow slow() {
      return new Slow();
    }
  }

  @Test
  void aStopFitsSpringsShutdownPhase() {
    long[] handlerStarted = {0};
    runner.withUserConfiguration(SlowConfig.class).withPropertyValues("spring.lifecycle.timeout-per-shutdown-phase=1s")
        .run(ctx -> {
          assertThat(ctx.getBean(Broker.class).gracefulTimeout()).isEqualTo(Duration.ofSeconds(1));
          ctx.getBean(Broker.class).publish("work", channel("slow"));
          assertThat(Slow.started.await(10, java.util.concurrent.TimeUnit.SECONDS)).isTrue();
          handlerStarted[0] = System.nanoTime();
        });
    // The handler would sleep 30 s: the stop interrupted it after the 1 s phase timeout.
    assertThat(Duration.ofNanos(System.nanoTime() - handlerStarted[0])).isLessThan(Duration.ofSeconds(8));
    assertThat(Slow.interrupted).isTrue();
  }

  @Configuration(proxyBeanMethods = false)
  static class Observations {
    @Bean
    io.micrometer.observation.ObservationRegistry observationRegistry() {
      return io.micrometer.observation.ObservationRegistry.create();
    }
  }

  @Test
  void observationsBindToTheApplicationsObservationRegistry() {
    runner.withUserConfiguration(Observations.class, OrdersConfig.class).run(ctx -> {
      assertThat(ctx).hasSingleBean(dev.brook.micrometer.BrookObservation.class);
      java.util.List<String> seen = new java.util.concurrent.CopyOnWriteArrayList<>();
      io.micrometer.observation.ObservationRegistry registry = ctx.getBean(io.micrometer.observation.ObservationRegistry.class);
      registry.observationConfig().observationHandler(new io.micrometer.observation.ObservationHandler<>() {
        @Override
        public void onStop(io.micrometer.observation.Observation.Context context) {
          seen.add(context.getName());
        }

        @Override
        public boolean supportsContext(io.micrometer.observation.Observation.Context context) {
          return true;
        }
      });
      ctx.getBean(Broker.class).publish(new Order(4, "O"), channel("orders"));
      await().atMost(WAIT).until(() -> seen.contains(dev.brook.micrometer.BrookObservation.PROCESS));
      assertThat(seen).contains(dev.brook.micrometer.BrookObservation.SEND);
    });
    runner.withUserConfiguration(Observations.class).withPropertyValues("brook.observation.enabled=false")
        .run(ctx -> assertThat(ctx).doesNotHaveBean(dev.brook.micrometer.BrookObservation.class));
  }

  @Test
  void healthComesFromTheBroker() {
    runner.withUserConfiguration(OrdersConfig.class).run(ctx -> {
      HealthIndicator health = ctx.getBean("brookHealthIndicator", HealthIndicator.class);
      org.springframework.boot.health.contributor.Health h = health.health();
      assertThat(h.getStatus()).isEqualTo(Status.UP);
      assertThat(h.getDetails()).containsKeys("server", "subscriptions");
      assertThat(((Map<?, ?>) h.getDetails().get("subscriptions")).containsKey(Orders.class.getName() + "#onOrder")).isTrue();
    });
    runner.withPropertyValues("management.health.brook.enabled=false")
        .run(ctx -> assertThat(ctx).doesNotHaveBean("brookHealthIndicator"));
    runner.withClassLoader(new FilteredClassLoader(HealthIndicator.class))
        .run(ctx -> assertThat(ctx).hasNotFailed().doesNotHaveBean("brookHealthIndicator"));
  }

  @Configuration(proxyBeanMethods = false)
  static class Registry {
    @Bean(destroyMethod = "close")
    MeterRegistry meterRegistry() {
      return new SimpleMeterRegistry();
    }
  }

  @Test
  void metricsBindToTheApplicationsRegistry() {
    runner.withUserConfiguration(Registry.class, OrdersConfig.class).run(ctx -> {
      assertThat(ctx).hasSingleBean(BrookMetrics.class);
      Broker broker = ctx.getBean(Broker.class);
      Subscription orders = broker.subscription(Orders.class.getName() + "#onOrder");
      broker.publish(new Order(9, "M"), channel("orders"));
      await().atMost(WAIT).until(() -> orders.metrics().handled() == 1);
      MeterRegistry registry = ctx.getBean(MeterRegistry.class);
      await().atMost(WAIT).until(() -> registry.find(BrookMetrics.HANDLED).functionCounters().stream()
          .mapToDouble(io.micrometer.core.instrument.FunctionCounter::count).sum() >= 1);
    });
    runner.withUserConfiguration(OrdersConfig.class).run(ctx -> assertThat(ctx).doesNotHaveBean(BrookMetrics.class));
    runner.withUserConfiguration(Registry.class).withPropertyValues("brook.metrics.enabled=false")
        .run(ctx -> assertThat(ctx).doesNotHaveBean(BrookMetrics.class));
    runner.withUserConfiguration(Registry.class).withClassLoader(new FilteredClassLoader(BrookMetrics.class))
        .run(ctx -> assertThat(ctx).hasNotFailed().doesNotHaveBean(BrookMetrics.class));
  }

  @Configuration(proxyBeanMethods = false)
  static class OrdersPublisher {
    @Bean
    Publisher ordersPublisher(Broker broker) {
      return broker.publisher(channel("orders"));
    }
  }

  @Test
  void publisherBeansAreFactoryMethods() {
    runner.withUserConfiguration(OrdersPublisher.class, OrdersConfig.class).run(ctx -> {
      ctx.getBean("ordersPublisher", Publisher.class).publish(new Order(11, "P"));
      await().atMost(WAIT).until(() -> ctx.getBean(Receipts.class).seen.size() == 1);
    });
  }
}
