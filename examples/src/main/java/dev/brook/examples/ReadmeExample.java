package dev.brook.examples;

import static dev.brook.redis.Redis.*;

import dev.brook.redis.RedisBroker;

/** The README's first example, kept here so it compiles with the build. Keep the two the same. */
final class ReadmeExample {

  record Order(long id, String item) {}
  record Receipt(long orderId) {}

  static void run() {
    try (RedisBroker broker = RedisBroker.create("redis://127.0.0.1:6379")) {
      broker.subscriber(channel("orders"))                        // id "channel:orders"
          .publishTo(channel("receipts"))
          .handle(Order.class, (order, ctx) -> new Receipt(order.id()));
      broker.subscriber(pattern("logs.{level}"))
          .handle(String.class, (line, ctx) -> { System.out.println(ctx.path("level") + ": " + line); return null; });
      broker.start();
      broker.publish(new Order(42, "book"), channel("orders"));
    }
  }

  private ReadmeExample() {}
}
