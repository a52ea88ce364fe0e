package dev.brook.tests;

import static dev.brook.redis.Redis.channel;
import static org.assertj.core.api.Assertions.assertThat;

import dev.brook.Subscribe;
import dev.brook.Subscription;
import dev.brook.redis.RedisBroker;
import dev.brook.testing.TestRedisBroker;
import jakarta.validation.ConstraintViolation;
import jakarta.validation.Valid;
import jakarta.validation.Validation;
import jakarta.validation.Validator;
import jakarta.validation.ValidatorFactory;
import jakarta.validation.constraints.Positive;
import jakarta.validation.executable.ExecutableValidator;
import jakarta.validation.metadata.BeanDescriptor;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** {@code Builder.validator(...)}: @Valid payloads go through the caller's validator, which the broker leaves open. */
class ValidatorOptionTest {

  record Order(@Positive int id) {}

  static class Orders {
    final List<Order> seen = new CopyOnWriteArrayList<>();

    @Subscribe(channel = "orders")
    void onOrder(@Valid Order order) {
      seen.add(order);
    }
  }

  /** Counts its calls; delegates to a real validator. */
  record Counting(Validator delegate, AtomicInteger calls) implements Validator {
    @Override
    public <T> Set<ConstraintViolation<T>> validate(T object, Class<?>... groups) {
      calls.incrementAndGet();
      return delegate.validate(object, groups);
    }

    @Override
    public <T> Set<ConstraintViolation<T>> validateProperty(T object, String propertyName, Class<?>... groups) {
      return delegate.validateProperty(object, propertyName, groups);
    }

    @Override
    public <T> Set<ConstraintViolation<T>> validateValue(Class<T> beanType, String propertyName, Object value, Class<?>... groups) {
      return delegate.validateValue(beanType, propertyName, value, groups);
    }

    @Override
    public BeanDescriptor getConstraintsForClass(Class<?> clazz) {
      return delegate.getConstraintsForClass(clazz);
    }

    @Override
    public <T> T unwrap(Class<T> type) {
      return delegate.unwrap(type);
    }

    @Override
    public ExecutableValidator forExecutables() {
      return delegate.forExecutables();
    }
  }

  @Test
  void theCallersValidatorChecksPayloadsAndOutlivesTheBroker() {
    try (ValidatorFactory factory = Validation.buildDefaultValidatorFactory()) {
      Counting validator = new Counting(factory.getValidator(), new AtomicInteger());
      Orders orders = new Orders();
      try (RedisBroker broker = RedisBroker.builder().url("redis://127.0.0.1:1").validator(validator).build();
          TestRedisBroker test = TestRedisBroker.of(broker)) {
        Subscription sub = broker.include(orders).getFirst();
        // The synchronous test broker rethrows what the message met: here the validator's verdict.
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> broker.publish(new Order(-1), channel("orders")))
            .hasMessageContaining("id must be greater than 0");
        broker.publish(new Order(1), channel("orders"));
        assertThat(orders.seen).containsExactly(new Order(1));
        assertThat(sub.metrics().decodeErrors()).isEqualTo(1);
        assertThat(validator.calls()).hasValue(2);
      }
      // Still usable: the broker did not close the caller's factory.
      assertThat(validator.validate(new Order(-2))).hasSize(1);
    }
  }
}
