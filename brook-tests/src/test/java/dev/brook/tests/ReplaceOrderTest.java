package dev.brook.tests;

import static dev.brook.redis.Redis.list;
import static dev.brook.redis.Redis.stream;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.brook.Destination;
import dev.brook.MessageContext;
import dev.brook.Subscription;
import dev.brook.redis.RedisBroker;
import dev.brook.redis.StreamDestination;
import dev.brook.redis.internal.stream.Partitions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.BooleanSupplier;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

/**
 * "A stop never reorders healthy messages", across a REPLACE (same id registered again while it
 * consumes), for each at-least-once kind with sequential handling (concurrency 1): a partitioned
 * stream's key, a plain stream group and a reliable List. The old handler is held busy on the first
 * entry while the replacement is registered, with the following entries buffered by the old
 * subscription and more published during the hand-over; the new subscription must handle nothing
 * while the old one's entry runs, then everything else once, in publish order (the given-back
 * entries before the ones published meanwhile).
 *
 * <p>The race that reordered a key's entries across a REPLACE (a worker taking a buffered message
 * while the stop's drain was taking the earlier ones back) is reproduced deterministically by {@code
 * MailboxTest}; {@code PartitionedStreamTest}'s REPLACE case asserts per-key order under load.
 */
class ReplaceOrderTest extends RedisTestBase {

  private static final int BUFFERED = 150;
  private static final int DURING = 50;

  /** What each subscription handled, in order, and whether the new one ran while the old one's entry did. */
  private static final class Record {
    final List<String> handled = new CopyOnWriteArrayList<>();
    final List<String> byNew = new CopyOnWriteArrayList<>();
    final List<String> newWhileOldBusy = new CopyOnWriteArrayList<>();
    final AtomicBoolean oldBusy = new AtomicBoolean();
    final CountDownLatch oldEntered = new CountDownLatch(1);
    final CountDownLatch oldMayGo = new CountDownLatch(1);

    Object old(String s, MessageContext ctx) throws InterruptedException {
      if (s.equals("e0")) {
        oldBusy.set(true);
        oldEntered.countDown();
        try {
          oldMayGo.await();
        } finally {
          oldBusy.set(false);
        }
      }
      handled.add(s);
      return null;
    }

    Object fresh(String s, MessageContext ctx) {
      if (oldBusy.get()) {
        newWhileOldBusy.add(s);
      }
      byNew.add(s);
      handled.add(s);
      return null;
    }
  }

  private static List<String> payloads(int from, int to) {
    return IntStream.range(from, to).mapToObj(i -> "e" + i).toList();
  }

  /**
   * Subscribes {@code dest} with id "swap", publishes e0..e149 with {@code publish}, holds the old
   * handler on e0 until {@code gaveBack} (the old one's drain gave its buffer back, as Redis shows
   * it) and e150..e199 are published, then lets it go and checks the hand-over.
   */
  private void replaceWhileTheOldHandlerIsBusy(Destination dest, java.util.function.BiConsumer<RedisBroker, List<String>> publish,
      BooleanSupplier buffered, BooleanSupplier gaveBack) throws Exception {
    RedisBroker broker = broker(b -> b.gracefulTimeout(Duration.ofSeconds(30)));
    Record record = new Record();
    Subscription old = broker.subscriber(dest).id("swap").handle(String.class, record::old);
    broker.start();
    RedisBroker publisher = broker();
    publish.accept(publisher, payloads(0, BUFFERED));
    assertThat(record.oldEntered.await(10, TimeUnit.SECONDS)).isTrue();
    await().atMost(Duration.ofSeconds(10)).until(buffered::getAsBoolean);

    CompletableFuture<Subscription> replacing = CompletableFuture.supplyAsync(() ->
        broker.subscriber(dest).id("swap").handle(String.class, record::fresh));
    await().atMost(Duration.ofSeconds(10)).until(gaveBack::getAsBoolean);
    publish.accept(publisher, payloads(BUFFERED, BUFFERED + DURING)); // new entries while the old one drains
    // The replacement waits for the old one's entry: nothing handled by it meanwhile.
    await().during(Duration.ofMillis(300)).atMost(Duration.ofSeconds(2)).until(() -> record.byNew.isEmpty());
    assertThat(replacing).isNotDone();
    record.oldMayGo.countDown();

    Subscription replacement = replacing.get(30, TimeUnit.SECONDS);
    assertThat(replacement.id()).isEqualTo(old.id());
    assertThat(broker.subscriptions()).hasSize(1);
    await().atMost(Duration.ofSeconds(20)).until(() -> record.handled.size() >= BUFFERED + DURING);
    assertThat(record.newWhileOldBusy).isEmpty();
    assertThat(record.handled).as("handled once each, in publish order").containsExactlyElementsOf(payloads(0, BUFFERED + DURING));
    assertThat(record.byNew).containsExactlyElementsOf(payloads(1, BUFFERED + DURING));
  }

  @Test
  void aPartitionedStreamKeepsAKeysOrderAcrossAReplace() throws Exception {
    StreamDestination dest = stream("orders").partitions(4).group("g").leaseTime(Duration.ofSeconds(1)).consumer("m");
    String partition = "{orders:" + Partitions.of("k", 4) + "}";
    replaceWhileTheOldHandlerIsBusy(dest, (p, payloads) -> payloads.forEach(s -> p.publish(s, dest, "k")),
        () -> pending(partition) == BUFFERED,
        () -> pendingCounts(partition).stream().filter(c -> c == 0L).count() == BUFFERED - 1);
  }

  @Test
  void aStreamGroupKeepsItsOrderAcrossAReplace() throws Exception {
    StreamDestination dest = stream("plain").group("g");
    replaceWhileTheOldHandlerIsBusy(dest, (p, payloads) -> p.publishBatch(payloads, dest),
        () -> pending("plain") == BUFFERED,
        () -> pendingCounts("plain").stream().filter(c -> c == 0L).count() == BUFFERED - 1);
  }

  @Test
  void aReliableListKeepsItsOrderAcrossAReplace() throws Exception {
    // A List gives its buffer back only once the drain is over (in one move, at the queue's head);
    // while the old handler runs, Redis shows no change. The queue is empty (everything was taken
    // into the processing list) until the entries published during the hand-over arrive.
    var dest = list("jobs");
    replaceWhileTheOldHandlerIsBusy(dest, (p, payloads) -> p.publishBatch(payloads, dest),
        () -> (Long) redis.command("LLEN", "jobs") == 0L, () -> true);
    assertThat(redis.command("LLEN", "jobs")).isEqualTo(0L);
  }

  private long pending(String stream) {
    if ((Long) redis.command("EXISTS", stream) == 0) {
      return 0;
    }
    return (Long) ((List<?>) redis.command("XPENDING", stream, "g")).get(0);
  }

  private List<Long> pendingCounts(String stream) {
    List<Long> counts = new ArrayList<>();
    for (Object o : (List<?>) redis.command("XPENDING", stream, "g", "-", "+", "1000000")) {
      counts.add((Long) ((List<?>) o).get(3));
    }
    return counts;
  }
}
