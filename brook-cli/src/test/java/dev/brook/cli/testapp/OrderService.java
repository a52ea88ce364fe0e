package dev.brook.cli.testapp;

import static dev.brook.redis.Redis.pattern;

import dev.brook.App;
import dev.brook.MessageContext;
import dev.brook.Publish;
import dev.brook.Subscribe;
import dev.brook.redis.RedisBroker;
import jakarta.validation.constraints.Min;
import jakarta.validation.constraints.NotBlank;
import jakarta.validation.constraints.NotNull;

/**
 * The service the end-to-end tests run with {@code brook run}: an annotated handler takes orders,
 * publishes a receipt and replies with it to requests; a pattern subscriber logs. The factory takes
 * the Redis URL from the CLI.
 */
public final class OrderService {

  private OrderService() {}

  public record Order(@NotNull @Min(1) Long id, @NotBlank String item, @Min(1) int quantity) {}

  public record Receipt(long orderId, String text) {}

  /** Handlers in the annotation style. */
  public static final class OrderHandlers {
    @Subscribe(channel = "orders")
    @Publish(channel = "receipts")
    public Receipt onOrder(Order order, MessageContext ctx) {
      System.out.println("orders <- " + order + " tenant=" + ctx.header("tenant"));
      return new Receipt(order.id(), order.quantity() + " x " + order.item());
    }
  }

  public static App app(String redisUrl) {
    RedisBroker broker = RedisBroker.builder().url(redisUrl).clientName("order-service").build();
    broker.include(new OrderHandlers());
    broker.subscriber(pattern("logs.{level}")).handle(String.class, (line, ctx) -> {
      System.out.println("logs <- [" + ctx.path("level") + "] " + line);
      return null;
    });
    return App.create(broker)
        .afterStartup(() -> System.out.println("order-service ready"))
        .afterShutdown(() -> System.out.println("order-service stopped cleanly"));
  }
}
