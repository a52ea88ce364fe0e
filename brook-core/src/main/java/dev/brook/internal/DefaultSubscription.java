package dev.brook.internal;

import dev.brook.AckPolicy;
import dev.brook.Destination;
import dev.brook.Subscription;
import dev.brook.SubscriptionMetrics;
import dev.brook.spi.Inbound;
import dev.brook.spi.Transport;
import java.lang.reflect.Type;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A subscription's state machine (REGISTERED → RUNNING ⇄ STOPPED → CLOSED): start creates its
 * {@link Mailbox} and transport consumer, stop stops the consumer and drains the mailbox, close
 * stops and leaves the registry. What happens to each message is its {@link ConsumePipeline}'s.
 *
 * <p>Locking: start, stop and close run under the lifecycle lock of the subscription's id in the
 * registry ({@link Registry#lifecycle}), which orders them with registrations of the same id, so a
 * subscription that replaces this one starts only after this one has stopped. Message processing
 * never takes it. {@code state}, {@code consumer} and {@code mailbox} change only under it and are
 * volatile, so reads need no lock.
 */
class DefaultSubscription implements Subscription {

  private static final Logger LOG = ConsumePipeline.LOG;

  private final BrokerEngine engine;
  private final String id;
  private final Destination destination;
  private final String registeredAt;
  private final int concurrency;
  private final Object origin;
  private final SubscriptionCounters counters = new SubscriptionCounters();
  private final ConsumePipeline pipeline;

  private volatile State state = State.REGISTERED;
  private volatile boolean stoppedByBroker;
  private volatile Transport.Consumer consumer;
  private volatile Mailbox mailbox;
  private volatile boolean droppingLogged;

  DefaultSubscription(BrokerEngine engine, SubscriptionSpec spec, String registeredAt, Codec.Decoder decoder) {
    this.engine = engine;
    this.id = spec.effectiveId();
    this.destination = spec.destination();
    this.registeredAt = registeredAt;
    this.concurrency = spec.concurrency();
    this.origin = spec.origin();
    this.pipeline = new ConsumePipeline(this, engine, spec, decoder, counters);
  }

  @Override
  public String id() {
    return id;
  }

  @Override
  public Destination destination() {
    return destination;
  }

  @Override
  public State state() {
    return state;
  }

  String registeredAt() {
    return registeredAt;
  }

  @Override
  public Type payloadType() {
    return pipeline.payloadType;
  }

  @Override
  public List<Destination> publishTo() {
    return pipeline.publishTo;
  }

  @Override
  public AckPolicy ackPolicy() {
    return pipeline.ackPolicy;
  }

  @Override
  public int batchSize() {
    return Math.max(1, pipeline.batchSize);
  }

  @Override
  public void start() {
    engine.connectForSubscription();
    engine.registry().lifecycle(id, this::startInternal);
  }

  /**
   * Starts unless closed; the caller holds this id's lifecycle lock (and connected). A start that
   * fails leaves the subscription as it was, holding nothing.
   */
  void startInternal() {
    if (state == State.CLOSED) {
      throw new IllegalStateException("Subscription '" + id + "' is closed and cannot be started again. "
          + "Register a new one with broker.subscriber(...).");
    }
    if (state == State.RUNNING) {
      return;
    }
    Mailbox box = new Mailbox(this, "brook-sub:" + id, concurrency, mailboxCapacity(), batchSize(),
        this::process, this::discard);
    configure(box);
    // A handler of this id the last stop left running (it ignored the interrupt) must end before
    // this mailbox runs any: two handlers of one id never run at once.
    Mailbox before = engine.registry().takeLeftRunning(id);
    box.follow(before);
    Transport.Consumer c;
    try {
      c = engine.transport().consumer(destination, id, box.sink());
      pipeline.stopping(false);
      c.start();
    } catch (RuntimeException | Error e) {
      if (before != null) {
        engine.registry().leftRunning(id, before); // the next start must still wait for it
      }
      throw e;
    }
    mailbox = box;
    consumer = c;
    stoppedByBroker = false;
    state = State.RUNNING;
  }

  /** How many received messages the mailbox holds: the broker's buffer size (a pull subscription's may be smaller). */
  int mailboxCapacity() {
    return engine.bufferSize();
  }

  /** Adjusts a new mailbox before it is used (a pull subscription holds its room while a message waits for a caller). */
  void configure(Mailbox box) {}

  /**
   * Called by a stop before it stops the consumer: a consumer waiting for room in a full mailbox
   * ends its loop now instead of when a handler frees room (a pull subscription's never might), so
   * the stop does not wait out the consumer's join timeout.
   */
  void beforeConsumerStop(Mailbox box) {
    box.endRoomWaits();
  }

  /** Called by a stop once the consumer stopped fetching, before the drain (a pull subscription wakes its hand-off). */
  void beforeDrain() {}

  /** Whether {@link BrokerEngine#start} should start this one. */
  boolean startsWithBroker() {
    State s = state;
    return s == State.REGISTERED || (s == State.STOPPED && stoppedByBroker);
  }

  @Override
  public void stop() {
    long deadline = engine.deadline();
    engine.registry().lifecycleFromHandler(this, () -> stop(deadline, false));
  }

  /** The caller holds this id's lifecycle lock. */
  void stop(long deadlineNanos, boolean byBroker) {
    if (state != State.RUNNING) {
      return;
    }
    pipeline.stopping(true);
    Transport.Consumer c = consumer;
    Mailbox box = mailbox;
    beforeConsumerStop(box);
    try {
      c.stop();
    } finally {
      beforeDrain();
      boolean drained = box.drain(deadlineNanos);
      try {
        c.afterDrain();
      } finally {
        // Also when the drain succeeded: this mailbox may never have run because it was still waiting
        // for a stubborn handler of an earlier stop (its predecessor), which the next start must wait for.
        engine.registry().leftRunning(id, box);
        if (!drained) {
          LOG.warn("Subscription '{}' did not finish its handlers within the graceful timeout of {}; "
              + "they were interrupted and their messages given back{}.", id, engine.gracefulTimeout(),
              destination.atLeastOnce() ? "" : " (at-most-once: " + counters.dropped.sum() + " message(s) dropped so far)");
        }
        consumer = null;
        mailbox = null;
        stoppedByBroker = byBroker;
        // stopping stays true until the next start: a handler interrupted at the deadline may reach
        // its catch only after the drain returned, and its message must still go back to Redis.
        state = State.STOPPED;
      }
    }
  }

  @Override
  public void close() {
    long deadline = engine.deadline();
    engine.registry().lifecycleFromHandler(this, () -> close(deadline));
  }

  /** The caller holds this id's lifecycle lock. */
  void close(long deadlineNanos) {
    if (state == State.CLOSED) {
      return;
    }
    try {
      stop(deadlineNanos, false);
    } finally {
      state = State.CLOSED;
      engine.registry().unregister(this);
    }
  }

  @Override
  public SubscriptionMetrics metrics() {
    return counters.snapshot();
  }

  /**
   * Whether handlers busy for long, or a consume loop waiting long for room, mean a stuck
   * subscription; not for a pull subscription, whose handler and loop wait for callers by design.
   */
  boolean mayLookStuck() {
    return true;
  }

  /**
   * This subscription's part of {@code Broker.health()}; see {@link dev.brook.Health} for the rules.
   *
   * @param reachable whether the server answered the check's PING (the lag is asked only then)
   */
  dev.brook.Health.SubscriptionHealth health(long nowNanos, long nowMillis, dev.brook.Health.Options options,
      boolean reachable) {
    State s = state;
    Mailbox box = mailbox;
    Transport.Consumer c = consumer;
    int busy = 0;
    java.time.Duration oldest = java.time.Duration.ZERO;
    if (box != null) {
      long[] b = box.busy(nowNanos);
      busy = (int) b[0];
      oldest = java.time.Duration.ofNanos(b[1]);
    }
    long lastPoll = s == State.RUNNING && c != null ? c.lastPoll() : 0L;
    long lag = -1;
    if (reachable && s == State.RUNNING) {
      try {
        lag = engine.transport().lag(destination, id).orElse(-1);
      } catch (RuntimeException e) {
        LOG.debug("Health: the lag of subscription '{}' is unknown", id, e);
      }
    }
    String problem = null;
    if (s != State.RUNNING) {
      problem = "subscription '" + id + "' is " + s + ": it consumes nothing" + (s == State.REGISTERED
          ? " until the broker (or the subscription) starts" : " until started again");
    } else if (mayLookStuck() && busy >= concurrency && oldest.compareTo(options.stuckAfter()) > 0) {
      problem = "subscription '" + id + "': all " + concurrency + " of its handler(s) have been busy for "
          + oldest.toMillis() + " ms (stuckAfter " + options.stuckAfter().toMillis() + " ms): a handler may be stuck, "
          + "and nothing else of it runs. Look at its thread dump (threads 'brook-sub:" + id + "').";
    } else if (mayLookStuck() && lastPoll > 0 && nowMillis - lastPoll > options.stuckAfter().toMillis()) {
      problem = "subscription '" + id + "': its consume loop has not read from the server for "
          + (nowMillis - lastPoll) + " ms (stuckAfter " + options.stuckAfter().toMillis() + " ms): its buffer is full "
          + "(handlers slower than arrivals) or the loop is blocked.";
    } else if (c != null && c.problem() instanceof String transportProblem) {
      problem = "subscription '" + id + "': " + transportProblem;
    } else if (lag > options.maxLag()) {
      problem = "subscription '" + id + "': its group lags " + lag + " entries behind the stream (maxLag "
          + options.maxLag() + "): consumers are slower than producers.";
    }
    return new dev.brook.Health.SubscriptionHealth(id, destination.key(), s,
        problem == null ? dev.brook.Health.Status.UP : dev.brook.Health.Status.DEGRADED,
        lastPoll > 0 ? java.time.Instant.ofEpochMilli(lastPoll) : null, busy, concurrency, oldest, lag, problem);
  }

  /** Worker threads alive now; 0 when stopped. For leak tests. */
  int liveWorkers() {
    Mailbox box = mailbox;
    return box == null ? 0 : box.liveWorkers();
  }

  private void discard(Inbound message) {
    counters.dropped.increment();
    if (!droppingLogged && state == State.RUNNING) {
      droppingLogged = true;
      LOG.warn("Subscription '{}' dropped a message from {}: its buffer of {} messages is full. "
          + "Raise concurrency or the buffer size; further drops are counted in metrics().dropped() without a log line.",
          id, LogText.escape(message.channel()), engine.bufferSize());
    }
  }

  /** Who declared this subscription (router entry, annotated method), or null. */
  Object origin() {
    return origin;
  }

  /** Runs on a worker thread; never throws. The mailbox's work (DispatchBenchmark calls it by name). */
  private void process(List<Inbound> messages) {
    pipeline.process(messages);
  }

  @Override
  public String toString() {
    return "Subscription[" + id + " on " + destination.key() + ", " + state + "]";
  }
}
