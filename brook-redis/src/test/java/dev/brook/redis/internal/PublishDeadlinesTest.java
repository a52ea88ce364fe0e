package dev.brook.redis.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.lettuce.core.RedisCommandTimeoutException;
import io.lettuce.core.codec.ByteArrayCodec;
import io.lettuce.core.output.IntegerOutput;
import io.lettuce.core.protocol.Command;
import io.lettuce.core.protocol.CommandArgs;
import io.lettuce.core.protocol.CommandType;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class PublishDeadlinesTest {

  private final ScheduledThreadPoolExecutor timer = new ScheduledThreadPoolExecutor(1);

  @AfterEach
  void stop() throws InterruptedException {
    timer.shutdownNow();
    assertThat(timer.awaitTermination(5, TimeUnit.SECONDS)).isTrue();
  }

  private static Command<byte[], byte[], Long> publish() {
    return new Command<>(CommandType.PUBLISH, new IntegerOutput<>(ByteArrayCodec.INSTANCE),
        new CommandArgs<>(ByteArrayCodec.INSTANCE).addKey(new byte[] {'c'}).addValue(new byte[] {'m'}));
  }

  @Test
  void anUnansweredPublishFailsAfterTheTimeoutAndAnAnsweredOneNever() {
    PublishDeadlines deadlines = new PublishDeadlines(Duration.ofMillis(200), () -> timer);
    long t0 = System.nanoTime();
    PublishDeadlines.Tracked<Long> answered = deadlines.track(publish());
    PublishDeadlines.Tracked<Long> unanswered = deadlines.track(publish());
    answered.complete(1L);

    await().atMost(Duration.ofSeconds(5)).until(unanswered::isDone);
    long waited = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
    assertThat(waited).isBetween(190L, 2_000L); // the timeout plus at most a tick, with room for a loaded machine
    assertThat(unanswered).failsWithin(Duration.ZERO).withThrowableOfType(ExecutionException.class)
        .havingCause().isInstanceOf(RedisCommandTimeoutException.class).withMessage("Command timed out after 200 millisecond(s)");
    assertThat(answered).isCompletedWithValue(1L);
    assertThat(deadlines.inFlight()).isZero();
  }

  @Test
  void answeredPublishesLeaveTheQueueAsNewOnesAreSent_soItHoldsOnlyWhatIsInFlight() {
    PublishDeadlines deadlines = new PublishDeadlines(Duration.ofSeconds(30), () -> timer);
    List<PublishDeadlines.Tracked<Long>> open = new ArrayList<>();
    for (int i = 0; i < 10_000; i++) {
      PublishDeadlines.Tracked<Long> c = deadlines.track(publish());
      open.add(c);
      if (open.size() == 100) { // a window of 100 in flight, answered in order as Redis does
        open.remove(0).complete(1L);
      }
    }
    assertThat(deadlines.inFlight()).isBetween(99, 101);
    assertThat(open).noneMatch(PublishDeadlines.Tracked::isDone);
  }

  @Test
  void manyPublishingThreadsNeitherHideALatePublishFromTheSweepNorFailAnAnsweredOne() throws Exception {
    PublishDeadlines deadlines = new PublishDeadlines(Duration.ofMillis(300), () -> timer);
    PublishDeadlines.Tracked<Long> unanswered = deadlines.track(publish());
    List<PublishDeadlines.Tracked<Long>> answered = java.util.Collections.synchronizedList(new ArrayList<>());
    List<Thread> threads = new ArrayList<>();
    for (int t = 0; t < 4; t++) {
      threads.add(Thread.ofPlatform().start(() -> {
        for (int i = 0; i < 20_000; i++) {
          PublishDeadlines.Tracked<Long> c = deadlines.track(publish());
          c.complete(1L); // answered at once: publishers trim the head as they go, racing the sweep
          answered.add(c);
        }
      }));
    }
    for (Thread t : threads) {
      t.join();
    }
    await().atMost(Duration.ofSeconds(5)).until(unanswered::isCompletedExceptionally);
    assertThat(answered).hasSize(80_000).allMatch(c -> !c.isCompletedExceptionally());
    await().atMost(Duration.ofSeconds(5)).until(() -> deadlines.inFlight() == 0);
  }

  @Test
  void lettuceGivesATrackedPublishNoTimerOfItsOwnAndEveryOtherCommandTheTimeout() {
    var source = PublishDeadlines.source(Duration.ofSeconds(3));
    PublishDeadlines deadlines = new PublishDeadlines(Duration.ofSeconds(3), () -> timer);
    assertThat(source.getTimeout(deadlines.track(publish()))).isZero();
    assertThat(source.getTimeUnit().toMillis(source.getTimeout(publish()))).isEqualTo(3_000);
    assertThat(source.getTimeUnit().toMillis(source.getTimeout(new io.lettuce.core.protocol.AsyncCommand<>(publish()))))
        .isEqualTo(3_000);
  }
  @Test
  void aPreparedCommandKeepsLettucesTimerUntilItsWriteStartsOurs() {
    PublishDeadlines deadlines = new PublishDeadlines(Duration.ofMillis(200), () -> timer);
    io.lettuce.core.TimeoutOptions.TimeoutSource source = PublishDeadlines.source(Duration.ofMillis(200));
    PublishDeadlines.Tracked<Long> prepared = PublishDeadlines.prepare(publish());
    // Dispatched by a path that never starts it, it still times out: Lettuce's timer applies.
    assertThat(source.getTimeout(prepared)).isEqualTo(TimeUnit.MILLISECONDS.toNanos(200));
    assertThat(deadlines.inFlight()).isZero();
    deadlines.start(prepared);
    assertThat(source.getTimeout(prepared)).isZero();
    assertThat(deadlines.inFlight()).isEqualTo(1);
  }

  @Test
  void aPreparedCommandsTimeoutCountsFromItsOwnWrite_notFromWhenTheBatchWasBuilt() throws Exception {
    PublishDeadlines deadlines = new PublishDeadlines(Duration.ofSeconds(1), () -> timer);
    PublishDeadlines.Tracked<Long> later = PublishDeadlines.prepare(publish());
    Thread.sleep(1_500); // built long before its write goes out (a batch's later chunk waits for the earlier ones)
    long t0 = System.nanoTime();
    deadlines.start(later);
    await().pollDelay(Duration.ZERO).during(Duration.ofMillis(500)).atMost(Duration.ofSeconds(2)).until(() -> !later.isDone());
    await().atMost(Duration.ofSeconds(5)).until(later::isDone);
    assertThat(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0)).isGreaterThanOrEqualTo(990L);
    assertThat(later).failsWithin(Duration.ZERO).withThrowableOfType(ExecutionException.class)
        .havingCause().isInstanceOf(RedisCommandTimeoutException.class);
  }
}
