package dev.brook.spring.boot.autoconfigure;

import dev.brook.redis.RedisBroker;

/**
 * Changes the {@link RedisBroker.Builder} of the broker Brook's auto-configuration builds, after the
 * {@code brook.*} properties are applied: middlewares, ack policy, client resources, TLS. Declare
 * one or more as beans; they run in {@link org.springframework.core.annotation.Order @Order}.
 *
 * <p>Called once per context, on the thread that creates the broker bean. A builder option may be
 * set once: a customizer that sets one the properties set fails the start with a message naming it.
 */
@FunctionalInterface
public interface BrookBrokerCustomizer {

  void customize(RedisBroker.Builder builder);
}
