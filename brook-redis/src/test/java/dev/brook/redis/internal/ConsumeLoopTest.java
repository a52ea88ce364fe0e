package dev.brook.redis.internal;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import io.lettuce.core.RedisCommandExecutionException;
import io.lettuce.core.RedisConnectionException;
import io.lettuce.core.resource.Delay;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

/** The consume-loop skeleton on its own: back-off, logging, repair and stop, without Redis or real waits. */
class ConsumeLoopTest {

  private static final ch.qos.logback.classic.Logger LOG =
      (ch.qos.logback.classic.Logger) LoggerFactory.getLogger("dev.brook.redis.test.ConsumeLoop");
  private final ListAppender<ILoggingEvent> logs = new ListAppender<>();

  @BeforeEach
  void captureLogs() {
    logs.start();
    LOG.addAppender(logs);
    LOG.setLevel(Level.DEBUG);
  }

  @AfterEach
  void releaseLogs() {
    LOG.detachAppender(logs);
  }

  /** Rounds fail as told, then run until stopped; counts rounds. */
  private static class Loop extends ConsumeLoop {
    final List<RuntimeException> failures;
    final AtomicInteger rounds = new AtomicInteger();
    final CountDownLatch idle = new CountDownLatch(1);
    final List<RuntimeException> repairable = new ArrayList<>();
    volatile boolean lastOk;
    int rescans;

    Loop(Timing timing, Delay backoff, List<RuntimeException> failures) {
      super(LOG, timing, backoff, "list:jobs");
      this.failures = new ArrayList<>(failures);
    }

    @Override
    public void start() {
      running = true;
      startLoop("brook-test-loop");
    }

    @Override
    public void stop() {
      stopLoop();
      joinLoop(Duration.ofSeconds(10));
    }

    @Override
    protected boolean awaitRoom() throws InterruptedException {
      if (lastOk && failures.isEmpty()) {
        idle.countDown();
        return waitWhile(() -> true, 10_000); // until stopped
      }
      return true;
    }

    @Override
    protected void rescanned() {
      rescans++;
    }

    @Override
    protected void round() {
      RuntimeException failure = failureFor(rounds.incrementAndGet());
      lastOk = failure == null;
      if (failure != null) {
        throw failure;
      }
    }

    /** The failure of round n, or null for a round that works. */
    RuntimeException failureFor(int n) {
      return failures.isEmpty() ? null : failures.remove(0);
    }

    @Override
    protected boolean onFailure(RuntimeException e) {
      if (e instanceof RedisErrors.NoGroup) {
        repairable.add(e);
        return true;
      }
      return super.onFailure(e);
    }
  }

  private static List<RuntimeException> failures(int n) {
    List<RuntimeException> list = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      list.add(new RedisConnectionException("Connection refused " + i));
    }
    return list;
  }

  @Test
  void failedRoundsBackOffDoublingTo5sOnTheTransportClockWithoutWaiting() throws Exception {
    ManualTiming clock = new ManualTiming();
    Loop loop = new Loop(clock, Backoffs.RETRY, failures(8));
    long t0 = System.nanoTime();
    loop.start();
    assertThat(loop.idle.await(10, TimeUnit.SECONDS)).isTrue();
    loop.stop();
    Duration real = Duration.ofNanos(System.nanoTime() - t0);

    assertThat(clock.waits()).containsExactly(Duration.ofMillis(100), Duration.ofMillis(200), Duration.ofMillis(400),
        Duration.ofMillis(800), Duration.ofMillis(1600), Duration.ofMillis(3200), Duration.ofMillis(5000),
        Duration.ofMillis(5000));
    assertThat(loop.rounds.get()).isEqualTo(9);
    assertThat(loop.rescans).isEqualTo(8); // after every failure: a lost reply may have left something
    // 16.3 s of back-off on the manual clock; in real time only the rounds themselves.
    assertThat(real).isLessThan(Duration.ofSeconds(5));

    assertThat(logs.list).filteredOn(e -> e.getLevel() == Level.WARN).extracting(ILoggingEvent::getFormattedMessage)
        .containsExactly("Reading list:jobs failed: Connection refused 0. Retrying with back-off; the subscription keeps running.");
    assertThat(logs.list).filteredOn(e -> e.getLevel() == Level.DEBUG).hasSize(7);
    assertThat(logs.list).filteredOn(e -> e.getLevel() == Level.INFO).extracting(ILoggingEvent::getFormattedMessage)
        .containsExactly("Reading list:jobs works again.");
  }

  @Test
  void aRoundThatWorksStartsTheBackOffOver() throws Exception {
    ManualTiming clock = new ManualTiming();
    List<RuntimeException> f = failures(3);
    Loop loop = new Loop(clock, Backoffs.RETRY, f) {
      @Override
      RuntimeException failureFor(int n) {
        return n == 3 ? null : super.failureFor(n); // fail, fail, work, fail, work
      }
    };
    loop.start();
    assertThat(loop.idle.await(10, TimeUnit.SECONDS)).isTrue();
    loop.stop();
    assertThat(clock.waits()).containsExactly(Duration.ofMillis(100), Duration.ofMillis(200), Duration.ofMillis(100));
  }

  @Test
  void aRepairedFailureGoesOnWithoutBackOff() throws Exception {
    ManualTiming clock = new ManualTiming();
    RedisCommandExecutionException noGroup = new RedisCommandExecutionException("NOGROUP No such key 'events'");
    Loop loop = new Loop(clock, Backoffs.RETRY, List.of(noGroup));
    loop.start();
    assertThat(loop.idle.await(10, TimeUnit.SECONDS)).isTrue();
    loop.stop();
    assertThat(clock.waits()).isEmpty();
    assertThat(loop.repairable).hasSize(1);
    assertThat(loop.repairable.get(0)).isInstanceOf(RedisErrors.NoGroup.class)
        .hasMessage("NOGROUP No such key 'events'").hasCause(noGroup);
    assertThat(loop.rescans).isEqualTo(1);
  }

  /** A stop during a back-off ends it at once: the loop waits on a condition the stop signals, not in a sleep. */
  @Test
  void aStopEndsABackOffAtOnce() throws Exception {
    Loop loop = new Loop(Timing.SYSTEM, Delay.constant(Duration.ofHours(1)), failures(1));
    loop.start();
    org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> loop.rounds.get() == 1);
    Thread thread = loop.loopThread();
    org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(10))
        .until(() -> thread.getState() == Thread.State.TIMED_WAITING || thread.getState() == Thread.State.WAITING);
    long t0 = System.nanoTime();
    loop.stop();
    assertThat(Duration.ofNanos(System.nanoTime() - t0)).isLessThan(Duration.ofSeconds(2));
    assertThat(thread.isAlive()).isFalse();
    assertThat(loop.rounds.get()).isEqualTo(1);
  }
}
