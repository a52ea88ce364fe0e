package dev.brook.spring.boot.autoconfigure;

import dev.brook.Broker;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.boot.health.autoconfigure.contributor.ConditionalOnEnabledHealthIndicator;
import org.springframework.boot.health.contributor.HealthIndicator;
import org.springframework.context.annotation.Bean;

/**
 * The {@code brook} health contributor ({@code /actuator/health/brook}) when Spring Boot's health
 * module is present (it comes with {@code spring-boot-starter-actuator}); off with {@code
 * management.health.brook.enabled=false}.
 */
@AutoConfiguration(after = BrookAutoConfiguration.class)
@ConditionalOnClass({HealthIndicator.class, Broker.class})
@ConditionalOnBean(Broker.class)
@ConditionalOnEnabledHealthIndicator("brook")
public class BrookHealthAutoConfiguration {

  @Bean
  @ConditionalOnMissingBean(name = "brookHealthIndicator")
  BrookHealthIndicator brookHealthIndicator(Broker broker) {
    return new BrookHealthIndicator(broker);
  }
}
