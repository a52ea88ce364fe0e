package dev.brook.examples.guide;

import static dev.brook.redis.Redis.channel;
import static dev.brook.redis.Redis.list;

import dev.brook.Publisher;
import dev.brook.redis.RedisBroker;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/** docs/guide.md, "Publishers". */
public final class Publishers {

  record Receipt(long orderId) {}

  /** Publishes three receipts and a batch; returns what the receipts subscriber saw. */
  public static List<String> run(String url) throws InterruptedException {
    List<String> seen = new CopyOnWriteArrayList<>();
    CountDownLatch three = new CountDownLatch(3);
    try (RedisBroker broker = RedisBroker.create(url)) {
      broker.subscriber(channel("receipts")).handle(Receipt.class, (receipt, ctx) -> {
        seen.add(receipt.orderId() + " source=" + ctx.header("source") + " priority=" + ctx.header("priority"));
        three.countDown();
        return null;
      });
      broker.start();

      // region:publisher
      Publisher receipts = broker.publisher(channel("receipts")).withHeader("source", "billing");
      receipts.publish(new Receipt(1));                               // waits until Redis has it
      receipts.publish(new Receipt(2), Map.of("priority", "high"));   // extra headers for this one
      receipts.publishAsync(new Receipt(3)).join();                   // CompletableFuture<Void>
      broker.publisher(list("jobs")).publishBatch(List.of("a", "b", "c"));   // one RPUSH
      // endregion

      three.await(10, TimeUnit.SECONDS);
    }
    return seen;
  }

  private Publishers() {}
}
