package dev.brook.examples.spring;

import dev.brook.Publish;
import dev.brook.Subscribe;
import jakarta.validation.Valid;
import org.slf4j.Logger;
import org.springframework.stereotype.Component;

/**
 * Handles orders: the starter includes this bean in the broker (id {@code
 * dev.brook.examples.spring.OrderHandler#onOrder}); the return value goes to {@code receipts}. An
 * order that fails {@code @Valid} (Boot's validator) is rejected with one WARN line, never handled.
 */
@Component
public class OrderHandler {

  @Subscribe(channel = "orders")
  @Publish(channel = "receipts")
  public Receipt onOrder(@Valid Order order, Logger log) {
    log.info("order {}: {} x {}", order.id(), order.quantity(), order.item());
    return new Receipt(order.id(), order.item(), order.quantity());
  }
}
