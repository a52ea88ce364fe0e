package dev.brook.redis.internal;

import static org.assertj.core.api.Assertions.assertThat;

import io.lettuce.core.RedisCommandTimeoutException;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** The settler's retries on a manual clock: a batch Redis does not confirm is sent again after a growing back-off. */
class SettlerTest {

  @Test
  void aFailedBatchIsRetriedWithBackOffUntilConfirmedWithoutWaiting() throws Exception {
    ManualTiming clock = new ManualTiming();
    AtomicInteger sends = new AtomicInteger();
    List<List<String>> confirmed = new CopyOnWriteArrayList<>();
    Settler<String> settler = new Settler<>("settlements of list:jobs", 100, batch -> sends.incrementAndGet() <= 4
        ? CompletableFuture.failedFuture(new RedisCommandTimeoutException("Command timed out after 5 second(s)"))
        : CompletableFuture.completedFuture(1L), confirmed::add, abandoned -> { throw new AssertionError(abandoned); },
        clock);
    long t0 = System.nanoTime();
    settler.submitAll(List.of("a", "b", "c"));

    assertThat(settler.awaitIdle(System.nanoTime() + TimeUnit.SECONDS.toNanos(10))).isTrue();
    assertThat(Duration.ofNanos(System.nanoTime() - t0)).isLessThan(Duration.ofSeconds(5));
    assertThat(sends.get()).isEqualTo(5);
    assertThat(confirmed).containsExactly(List.of("a", "b", "c"));
    assertThat(clock.waits()).containsExactly(Duration.ofMillis(100), Duration.ofMillis(200), Duration.ofMillis(400),
        Duration.ofMillis(800));
    settler.close();
  }

  @Test
  void afterDoneRunsOnceTheBatchNoLongerCountsAsOutstanding() {
    List<Integer> seen = new CopyOnWriteArrayList<>();
    List<Integer> inConfirmed = new CopyOnWriteArrayList<>();
    Settler<String>[] holder = new Settler[1];
    Settler<String> settler = new Settler<>("settlements of list:jobs", 100, batch -> CompletableFuture.completedFuture(1L),
        batch -> inConfirmed.add(holder[0].outstanding()), abandoned -> { throw new AssertionError(abandoned); },
        new ManualTiming());
    holder[0] = settler;
    settler.afterDone(() -> seen.add(settler.outstanding()));
    settler.submit("a");
    // The confirmed callback runs while the batch still counts (awaitIdle returns after it); a
    // consumer waiting for the count to fall must be woken after it fell.
    assertThat(inConfirmed).containsExactly(1);
    assertThat(seen).containsExactly(0);
    settler.close();
  }
}
