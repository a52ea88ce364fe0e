package dev.brook.examples.guide;

import static dev.brook.redis.Redis.channel;
import static dev.brook.redis.Redis.list;

import dev.brook.examples.guide.OrderService.Order;
import dev.brook.examples.guide.OrderService.Receipt;
import dev.brook.redis.RedisBroker;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/** docs/guide.md: running {@link OrderService}. */
public final class Services {

  /** Includes the service twice, sends it an order, an invalid order, a log line and an import. */
  public static List<String> run(String url) throws InterruptedException {
    List<String> out = new CopyOnWriteArrayList<>();
    CountDownLatch printed = new CountDownLatch(2);
    Consumer<String> printer = line -> {
      out.add(line);
      printed.countDown();
    };
    try (RedisBroker broker = RedisBroker.create(url)) {
      // region:include
      broker.include(new OrderService(printer));
      broker.include(new OrderService(printer));   // replaces the first: still one subscription per method
      broker.start();

      Receipt receipt = broker.publisher(channel("orders")).withHeader("tenant", "acme")
          .request(new Order(42, "book"), Receipt.class, Duration.ofSeconds(2));
      // endregion
      out.add("subscriptions: " + broker.subscriptions().size());
      out.add(receipt.toString());
      broker.publisher(channel("orders")).withHeader("tenant", "acme").publish(new Order(-1, ""));   // rejected: a WARN line
      broker.publish("disk almost full", channel("logs.WARN"));
      broker.publish(List.of(new Order(1, "a"), new Order(2, "b")), list("imports"));
      printed.await(10, TimeUnit.SECONDS);
    }
    return out;
  }

  private Services() {}
}
