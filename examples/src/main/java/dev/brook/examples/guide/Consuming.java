package dev.brook.examples.guide;

import static dev.brook.redis.Redis.channel;
import static dev.brook.redis.Redis.list;

import dev.brook.AckPolicy;
import dev.brook.Message;
import dev.brook.MessageContext;
import dev.brook.PullSubscription;
import dev.brook.SkipMessage;
import dev.brook.StopConsume;
import dev.brook.Subscription;
import dev.brook.redis.RedisBroker;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;

/** docs/guide.md, "Consuming: pull, filters, skip and stop". */
public final class Consuming {

  record Order(long id, String item) {}

  record OrderV2(long id, String item, String currency) {}

  /** Pulls, filters, skips and stops; returns what happened, one line each. */
  public static List<String> run(String url) throws InterruptedException {
    List<String> out = new CopyOnWriteArrayList<>();
    try (RedisBroker broker = RedisBroker.create(url)) {
      broker.start();
      broker.publishBatch(List.of(new Order(1, "pen"), new Order(2, "ink")), list("orders"));

      // region:pull
      PullSubscription<Order> orders = broker.subscriber(list("orders")).ackPolicy(AckPolicy.MANUAL)
          .pull(Order.class);
      Message<Order> first = orders.get(Duration.ofSeconds(5));     // null when none came in 5 s
      first.ack();
      for (Message<Order> m : orders.messages(Duration.ofMillis(200))) {   // ends after 200 ms idle
        out.add("pulled " + m.payload().item());
        m.ack();
      }
      orders.close();
      // endregion
      out.add("first " + first.payload().item());

      // region:filters
      Subscription versions = broker.subscriber(channel("orders.v"))
          .filter(ctx -> "2".equals(ctx.header("version")), OrderV2.class,
              (o, ctx) -> out.add("v2 " + o.item() + " in " + o.currency()))
          .handle(Order.class, (o, ctx) -> out.add("v1 " + o.item()));   // what the filters before left
      // endregion
      broker.publish(new OrderV2(3, "pad", "EUR"), channel("orders.v"), Map.of("version", "2"));
      broker.publish(new Order(4, "cap"), channel("orders.v"));
      await(out, 4);

      // region:signals
      Subscription tasks = broker.subscriber(list("tasks")).handle(String.class, (job, ctx) -> {
        if (job.startsWith("later")) {
          throw new SkipMessage();     // left unsettled: it comes back as an unsettled message does
        }
        if (job.equals("shutdown")) {
          throw new StopConsume();     // acknowledged, then this subscription stops
        }
        out.add("ran " + job);
        return null;
      });
      // endregion
      broker.publishBatch(List.of("a", "shutdown", "b"), list("tasks"));
      long deadline = System.nanoTime() + 5_000_000_000L;
      while (tasks.state() != Subscription.State.STOPPED && System.nanoTime() < deadline) {
        Thread.sleep(10);
      }
      out.add("tasks " + tasks.state());
      versions.close();

      broker.subscriber(list("audit")).batch(10)
          .handle(String.class, (List<String> items, MessageContext ctx) -> {
            // region:batchHeaders
            List<Map<String, String>> headers = ctx.batchHeaders();   // one map per item, same order
            // endregion
            for (int i = 0; i < items.size(); i++) {
              out.add(items.get(i) + " by " + headers.get(i).get("user"));
            }
            return null;
          });
      broker.publish("login", list("audit"), Map.of("user", "ann"));
      await(out, 7);
    }
    return out;
  }

  private static void await(List<String> out, int size) throws InterruptedException {
    long deadline = System.nanoTime() + 5_000_000_000L;
    while (out.size() < size && System.nanoTime() < deadline) {
      Thread.sleep(10);
    }
  }

  private Consuming() {}
}
