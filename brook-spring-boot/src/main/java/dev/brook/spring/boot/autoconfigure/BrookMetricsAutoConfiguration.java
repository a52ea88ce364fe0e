package dev.brook.spring.boot.autoconfigure;

import dev.brook.Broker;
import dev.brook.micrometer.BrookMetrics;
import dev.brook.micrometer.BrookObservation;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.observation.ObservationRegistry;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBooleanProperty;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/**
 * Brook's Micrometer meters ({@link BrookMetrics}) when {@code brook-micrometer} is on the class path
 * and the context has a {@link MeterRegistry}, and its Observations ({@link BrookObservation}) when
 * it has an {@link ObservationRegistry}; no code. Each is closed with the context, which removes its
 * middleware and meters. Off with {@code brook.metrics.enabled=false} / {@code
 * brook.observation.enabled=false}.
 */
@AutoConfiguration(after = BrookAutoConfiguration.class, afterName = {
    "org.springframework.boot.micrometer.metrics.autoconfigure.MetricsAutoConfiguration",
    "org.springframework.boot.micrometer.metrics.autoconfigure.CompositeMeterRegistryAutoConfiguration",
    "org.springframework.boot.micrometer.metrics.autoconfigure.export.simple.SimpleMetricsExportAutoConfiguration",
    "org.springframework.boot.micrometer.observation.autoconfigure.ObservationAutoConfiguration"})
@ConditionalOnClass({BrookMetrics.class, Broker.class})
@ConditionalOnBean(Broker.class)
public class BrookMetricsAutoConfiguration {

  @Configuration(proxyBeanMethods = false)
  @ConditionalOnBean(MeterRegistry.class)
  @ConditionalOnBooleanProperty(name = "brook.metrics.enabled", matchIfMissing = true)
  static class Metrics {
    @Bean(destroyMethod = "close")
    @ConditionalOnMissingBean
    BrookMetrics brookMetrics(Broker broker, MeterRegistry registry) {
      return BrookMetrics.bind(broker, registry);
    }
  }

  @Configuration(proxyBeanMethods = false)
  @ConditionalOnBean(ObservationRegistry.class)
  @ConditionalOnBooleanProperty(name = "brook.observation.enabled", matchIfMissing = true)
  static class Observations {
    @Bean(destroyMethod = "close")
    @ConditionalOnMissingBean
    BrookObservation brookObservation(Broker broker, ObservationRegistry registry) {
      return BrookObservation.bind(broker, registry);
    }
  }
}
