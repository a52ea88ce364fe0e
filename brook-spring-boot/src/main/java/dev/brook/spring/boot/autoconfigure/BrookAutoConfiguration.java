package dev.brook.spring.boot.autoconfigure;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.brook.Broker;
import dev.brook.redis.RedisBroker;
import java.time.Duration;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBooleanProperty;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnSingleCandidate;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.context.annotation.Bean;
import org.springframework.core.env.Environment;

/**
 * Brook in a Spring Boot application: a {@link RedisBroker} bean built from {@code brook.*} (unless
 * the application defines its own {@link Broker}), every bean's {@code @Subscribe} methods included
 * in it ({@link SubscribeBeanPostProcessor}), and its subscriptions started and stopped with the
 * context ({@link BrookLifecycle}). The application's Jackson 2 {@code ObjectMapper} bean and Bean
 * Validation {@code Validator} bean are used when there is exactly one of each.
 *
 * <p>Off with {@code brook.enabled=false}. Health, metrics, observations and the AsyncAPI page are
 * configured by {@link BrookHealthAutoConfiguration}, {@link BrookMetricsAutoConfiguration} and {@link
 * BrookAsyncApiAutoConfiguration}.
 */
@AutoConfiguration(afterName = {
    "org.springframework.boot.validation.autoconfigure.ValidationAutoConfiguration",
    "org.springframework.boot.jackson2.autoconfigure.Jackson2AutoConfiguration"})
@ConditionalOnClass(RedisBroker.class)
@ConditionalOnBooleanProperty(name = "brook.enabled", matchIfMissing = true)
@EnableConfigurationProperties(BrookProperties.class)
public class BrookAutoConfiguration {

  /** Spring's default for {@code spring.lifecycle.timeout-per-shutdown-phase}. */
  static final Duration SPRING_PHASE_TIMEOUT = Duration.ofSeconds(30);
  /** Brook's own default graceful timeout. */
  static final Duration BROOK_GRACEFUL_TIMEOUT = Duration.ofSeconds(15);

  @Bean
  static SubscribeBeanPostProcessor brookSubscribeBeanPostProcessor() {
    return new SubscribeBeanPostProcessor();
  }

  @Bean(destroyMethod = "close")
  @ConditionalOnMissingBean(Broker.class)
  RedisBroker brookBroker(BrookProperties properties, Environment env, ObjectProvider<ObjectMapper> mapper,
      ObjectProvider<BrookBrokerCustomizer> customizers, org.springframework.beans.factory.ListableBeanFactory beans) {
    properties.validate();
    LettuceVersion.check();
    RedisBroker.Builder builder = RedisBroker.builder()
        .url(RedisUrls.resolve(properties, env))
        .duplicatePolicy(properties.getDuplicatePolicy())
        .gracefulTimeout(gracefulTimeout(properties, env))
        .accessLog(properties.isAccessLog());
    BrookProperties.Redis redis = properties.getRedis();
    if (redis.getClientName() != null && !redis.getClientName().isBlank()) {
      builder.clientName(redis.getClientName());
    }
    if (redis.getConnectTimeout() != null) {
      builder.connectTimeout(redis.getConnectTimeout());
    }
    if (redis.getCommandTimeout() != null) {
      builder.commandTimeout(redis.getCommandTimeout());
    }
    String appName = properties.getAppName() != null && !properties.getAppName().isBlank() ? properties.getAppName()
        : env.getProperty("spring.application.name");
    if (appName != null && !appName.isBlank()) {
      builder.appName(appName); // the console lists the service under the name Spring knows it by
    }
    ObjectMapper m = mapper.getIfUnique();
    if (m != null) {
      builder.objectMapper(m);
    }
    Validators.applyTo(builder, beans);
    customizers.orderedStream().forEach(c -> c.customize(builder));
    return builder.build();
  }

  /**
   * {@code brook.graceful-timeout}, else the smaller of Brook's default and Spring's shutdown phase
   * timeout, so a stop never outlasts the phase Spring waits for.
   */
  static Duration gracefulTimeout(BrookProperties properties, Environment env) {
    if (properties.getGracefulTimeout() != null) {
      return properties.getGracefulTimeout();
    }
    Duration phase = org.springframework.boot.context.properties.bind.Binder.get(env)
        .bind("spring.lifecycle.timeout-per-shutdown-phase", Duration.class).orElse(SPRING_PHASE_TIMEOUT);
    return phase.compareTo(BROOK_GRACEFUL_TIMEOUT) < 0 && !phase.isZero() && !phase.isNegative() ? phase : BROOK_GRACEFUL_TIMEOUT;
  }

  @Bean
  @ConditionalOnSingleCandidate(Broker.class)
  @ConditionalOnMissingBean(BrookLifecycle.class)
  BrookLifecycle brookLifecycle(Broker broker) {
    return new BrookLifecycle(broker);
  }

  /** Bean Validation's API is optional: this class is the only one that names it. */
  static final class Validators {
    private Validators() {}

    static void applyTo(RedisBroker.Builder builder, org.springframework.beans.factory.ListableBeanFactory beans) {
      if (!org.springframework.util.ClassUtils.isPresent("jakarta.validation.Validator", Validators.class.getClassLoader())) {
        return;
      }
      Holder.apply(builder, beans);
    }

    private static final class Holder {
      static void apply(RedisBroker.Builder builder, org.springframework.beans.factory.ListableBeanFactory beans) {
        jakarta.validation.Validator v = beans.getBeanProvider(jakarta.validation.Validator.class).getIfUnique();
        if (v != null) {
          builder.validator(v);
        }
      }
    }
  }

}
