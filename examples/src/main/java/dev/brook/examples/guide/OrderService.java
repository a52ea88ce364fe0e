package dev.brook.examples.guide;

import dev.brook.AckPolicy;
import dev.brook.Header;
import dev.brook.MessageContext;
import dev.brook.Path;
import dev.brook.Publish;
import dev.brook.Subscribe;
import jakarta.validation.Valid;
import jakarta.validation.constraints.NotBlank;
import jakarta.validation.constraints.Positive;
import java.util.List;
import java.util.UUID;
import java.util.function.Consumer;
import org.slf4j.Logger;

/** docs/guide.md, "Annotated handlers" and "Validation": a service as a plain class. */
// region:service
public class OrderService {

  public record Order(@Positive long id, @NotBlank String item) {}

  public record Receipt(long orderId, String tenant) {}

  public enum Level { DEBUG, INFO, WARN, ERROR }

  private final Consumer<String> out;

  public OrderService(Consumer<String> out) {
    this.out = out;
  }

  @Subscribe(channel = "orders")                 // id "dev.brook.examples.guide.OrderService#onOrder"
  @Publish(channel = "receipts")                 // the return value goes here (and to a requester)
  public Receipt onOrder(@Valid Order order, @Header("tenant") String tenant,
      @Header(value = "trace", required = false) UUID trace, Logger log) {
    log.info("order {} for {}", order.id(), tenant);   // MDC holds destination and message_id
    return new Receipt(order.id(), tenant);
  }

  @Subscribe(pattern = "logs.{level}")
  public void onLog(@Path("level") Level level, String line, MessageContext ctx) {
    out.accept(level + " on " + ctx.channel() + ": " + line);
  }

  @Subscribe(list = "imports", ackPolicy = AckPolicy.NACK_ON_ERROR, concurrency = 4)
  public void onImport(List<Order> orders) {      // generic payloads decode with their full type
    out.accept("imported " + orders.size() + " orders");
  }
}
// endregion
