package dev.brook.spring.boot.test;

import dev.brook.redis.RedisBroker;
import dev.brook.spring.boot.autoconfigure.BrookAutoConfiguration;
import dev.brook.testing.TestRedisBroker;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnSingleCandidate;
import org.springframework.context.annotation.Bean;

/**
 * What {@link AutoConfigureTestBroker} imports: a {@link TestRedisBroker} over the context's {@link
 * RedisBroker}, created with the other singletons (before {@code BrookLifecycle} starts the broker,
 * so it never connects to Redis) and closed with the context before the broker is.
 */
@AutoConfiguration(after = BrookAutoConfiguration.class)
@ConditionalOnClass(TestRedisBroker.class)
public class TestBrokerAutoConfiguration {

  @Bean(destroyMethod = "close")
  @ConditionalOnMissingBean
  @ConditionalOnSingleCandidate(RedisBroker.class)
  TestRedisBroker brookTestBroker(RedisBroker broker) {
    return TestRedisBroker.of(broker);
  }
}
