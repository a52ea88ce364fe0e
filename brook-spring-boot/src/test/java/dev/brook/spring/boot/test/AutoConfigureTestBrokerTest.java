package dev.brook.spring.boot.test;

import static dev.brook.redis.Redis.channel;
import static org.assertj.core.api.Assertions.assertThat;

import dev.brook.Broker;
import dev.brook.Publish;
import dev.brook.Subscribe;
import dev.brook.redis.RedisBroker;
import dev.brook.testing.TestRedisBroker;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.SpringBootConfiguration;
import org.springframework.boot.autoconfigure.EnableAutoConfiguration;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.context.annotation.Bean;
import org.springframework.test.annotation.DirtiesContext;

/**
 * {@code @AutoConfigureTestBroker} in a {@code @SpringBootTest}: the application's broker runs in
 * memory, with no Redis (the URL points at a port nothing listens on), and publishing is synchronous.
 */
@SpringBootTest(properties = {"brook.redis.url=redis://127.0.0.1:1", "spring.main.banner-mode=off"})
@AutoConfigureTestBroker
@DirtiesContext
class AutoConfigureTestBrokerTest {

  record Order(int id) {}

  record Receipt(int id) {}

  static class Orders {
    @Subscribe(channel = "orders")
    @Publish(channel = "receipts")
    Receipt onOrder(Order order) {
      return new Receipt(order.id());
    }
  }

  @SpringBootConfiguration
  @EnableAutoConfiguration
  static class App {
    @Bean
    Orders orders() {
      return new Orders();
    }
  }

  @Autowired Broker broker;
  @Autowired RedisBroker redisBroker;
  @Autowired TestRedisBroker test;

  @Test
  void theBrokerRunsInMemoryAndPublishingIsSynchronous() {
    assertThat(broker).isSameAs(redisBroker).isSameAs(test.broker());
    broker.publish(new Order(42), channel("orders"));
    assertThat(test.published(channel("receipts"))).extracting(p -> p.as(Receipt.class)).containsExactly(new Receipt(42));
    assertThat(test.calls(broker.subscription(Orders.class.getName() + "#onOrder"))).hasSize(1);
  }
}
