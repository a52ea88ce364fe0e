package dev.brook.examples.spring;

import dev.brook.Publisher;
import jakarta.validation.Valid;
import java.util.List;
import org.springframework.beans.factory.annotation.Qualifier;
import org.springframework.http.HttpStatus;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestBody;
import org.springframework.web.bind.annotation.ResponseStatus;
import org.springframework.web.bind.annotation.RestController;

/** {@code POST /orders} publishes the order; {@code GET /receipts} lists the receipts seen. */
@RestController
public class OrdersController {

  private final Publisher orders;
  private final ReceiptLog receipts;

  public OrdersController(@Qualifier("ordersPublisher") Publisher orders, ReceiptLog receipts) {
    this.orders = orders;
    this.receipts = receipts;
  }

  /** Returns once Redis has the message (202: handled asynchronously). */
  @PostMapping("/orders")
  @ResponseStatus(HttpStatus.ACCEPTED)
  public void post(@Valid @RequestBody Order order) {
    orders.publish(order);
  }

  @GetMapping("/receipts")
  public List<Receipt> receipts() {
    return receipts.receipts();
  }
}
