package dev.brook.spring.boot.autoconfigure;

import dev.brook.Publish;
import dev.brook.Subscribe;
import jakarta.validation.Valid;
import jakarta.validation.constraints.Positive;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/** Handler beans the tests register. */
final class Handlers {

  private Handlers() {}

  record Order(@Positive int id, String customerName) {}

  record Receipt(int id) {}

  /** Records each order and answers with a receipt on {@code receipts}. */
  static class Orders {
    final List<Order> seen = new CopyOnWriteArrayList<>();

    @Subscribe(channel = "orders")
    @Publish(channel = "receipts")
    Receipt onOrder(@Valid Order order) {
      seen.add(order);
      return new Receipt(order.id());
    }
  }

  /** Records receipts. */
  static class Receipts {
    final List<Receipt> seen = new CopyOnWriteArrayList<>();

    @Subscribe(channel = "receipts")
    void onReceipt(Receipt receipt) {
      seen.add(receipt);
    }
  }
}
