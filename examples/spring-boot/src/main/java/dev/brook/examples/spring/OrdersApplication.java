package dev.brook.examples.spring;

import static dev.brook.redis.Redis.channel;

import dev.brook.Broker;
import dev.brook.Publisher;
import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.context.annotation.Bean;

/**
 * A Spring Boot service on Brook. {@code POST /orders} publishes the order to the channel {@code
 * orders}; {@link OrderHandler} (a {@code @Subscribe} bean) answers each with a receipt on {@code
 * receipts}; {@link ReceiptLog} keeps the receipts ({@code GET /receipts}). The broker, its
 * lifecycle, health ({@code /actuator/health/brook}), metrics and the AsyncAPI page ({@code
 * /asyncapi}) come from brook-spring-boot-starter with no code.
 *
 * <pre>java -jar target/brook-example-spring-boot.jar --brook.redis.url=redis://localhost:6379 --server.port=8080</pre>
 */
@SpringBootApplication
public class OrdersApplication {

  /** A publisher bean per destination: inject it by its bean name (or a qualifier). */
  @Bean
  Publisher ordersPublisher(Broker broker) {
    return broker.publisher(channel("orders"));
  }

  public static void main(String[] args) {
    SpringApplication.run(OrdersApplication.class, args);
  }
}
