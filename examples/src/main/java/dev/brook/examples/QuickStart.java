package dev.brook.examples;

import static dev.brook.redis.Redis.channel;
import static dev.brook.redis.Redis.pattern;

import dev.brook.App;
import dev.brook.redis.RedisBroker;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * The README's quick start: an order service. {@code orders} → handler → {@code receipts}, and a
 * pattern subscriber for {@code logs.{level}}. It publishes three orders, prints what the handlers
 * did and exits; with {@code --forever} it keeps running until Ctrl-C.
 *
 * <pre>
 * ./mvnw -q -pl examples -am package -DskipTests -Pexample
 * ./mvnw -q -pl examples -am package -DskipTests -Pexample -Dexample.args="--forever --url redis://127.0.0.1:6379"
 * </pre>
 */
public final class QuickStart {

  public record Order(long id, String item, int quantity) {}

  public record Receipt(long orderId, String text) {}

  public static void main(String[] args) throws Exception {
    String url = null;
    boolean forever = false;
    for (int i = 0; i < args.length; i++) {
      switch (args[i]) {
        case "--url" -> {
          if (i + 1 == args.length) {
            usage("--url needs a value, e.g. --url redis://127.0.0.1:6379");
          }
          url = args[++i];
        }
        case "--forever" -> forever = true;
        case "--help", "-h" -> usage(null);
        default -> usage("Unknown option " + args[i]);
      }
    }
    try (LocalRedis redis = LocalRedis.resolve(url)) {
      run(redis.url(), forever);
    }
  }

  static void run(String url, boolean forever) {
    RedisBroker broker = RedisBroker.create(url);
    List<Order> orders = List.of(new Order(1, "book", 2), new Order(2, "pen", 10), new Order(3, "lamp", 1));
    CountDownLatch receipts = new CountDownLatch(orders.size());

    broker.subscriber(channel("orders"))
        .publishTo(channel("receipts"))
        .handle(Order.class, (order, ctx) -> {
          System.out.println("orders   <- " + order + "  (correlation id " + ctx.correlationId() + ")");
          broker.publish("handled order " + order.id(), channel("logs.info"));
          return new Receipt(order.id(), order.quantity() + " x " + order.item());
        });

    broker.subscriber(channel("receipts"))
        .handle(Receipt.class, (receipt, ctx) -> {
          System.out.println("receipts <- " + receipt);
          receipts.countDown();
          return null;
        });

    broker.subscriber(pattern("logs.{level}"))
        .handle(String.class, (line, ctx) -> {
          System.out.println("logs.*   <- [" + ctx.path("level") + "] " + line);
          return null;
        });

    App app = App.create(broker)
        .afterStartup(() -> {
          System.out.println("Started " + broker.subscriptions().size() + " subscriptions; publishing "
              + orders.size() + " orders.");
          for (Order order : orders) {
            broker.publish(order, channel("orders"));
          }
        })
        .afterShutdown(() -> System.out.println("Stopped cleanly."));

    if (!forever) {
      Thread.ofVirtual().name("quick-start-waiter").start(() -> {
        try {
          if (!receipts.await(10, TimeUnit.SECONDS)) {
            System.out.println("Not every receipt arrived within 10 s.");
          }
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
        app.stop();
      });
    }
    app.run();
    if (receipts.getCount() != 0) {
      throw new IllegalStateException(receipts.getCount() + " receipt(s) missing");
    }
  }

  private static void usage(String error) {
    if (error != null) {
      System.err.println(error);
    }
    System.err.println("Usage: QuickStart [--url redis://host:port] [--forever]");
    System.err.println("Without --url (or BROOK_REDIS_URL) it starts a private redis-server for the run.");
    if (error != null) {
      throw new IllegalArgumentException(error);
    }
  }
}
