package dev.brook.testing;

import dev.brook.BrookException;
import dev.brook.Destination;
import dev.brook.MessageContext;
import dev.brook.Middleware;
import dev.brook.Subscription;
import dev.brook.spi.Frame;
import dev.brook.redis.RedisBroker;
import dev.brook.spi.Brokers;
import dev.brook.redis.internal.Envelope;
import dev.brook.testing.internal.MemoryTransport;
import dev.brook.testing.internal.RecordingTransport;
import java.lang.reflect.Type;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Runs a real {@link RedisBroker} — its registrations, codec, middlewares, ack policies and
 * registry — on an in-memory Redis, with no network: FastStream's {@code TestRedisBroker} for Java.
 *
 * <pre>{@code
 * try (var test = TestRedisBroker.of(broker)) {
 *   broker.publish(new Order(42), channel("orders"));        // returns when every handler it reached is done
 *   assertThat(test.calls(orders)).hasSize(1);
 *   assertThat(test.published(channel("receipts"))).extracting(m -> m.as(Receipt.class)).containsExactly(new Receipt(42));
 * }
 * }</pre>
 *
 * <p><b>What it models:</b> channels and patterns (fan-out, Redis globs), Lists (reliable with
 * processing lists, dead letters, recovery of what stopped consumers left; and at-most-once),
 * Streams with groups (pending entries, delivery counts, own pending first, reclaim of idle entries
 * when {@link #advance(Duration)} moves the clock, {@code maxDeliveries}, dead letters) and without
 * groups, request/reply, one key space for lists and streams (WRONGTYPE), and consumers that take
 * no more than their subscription's buffer holds. Lifecycle is honoured exactly as on Redis:
 * stopped and closed subscriptions receive nothing; subscriptions added or replaced while running
 * work. Brook's behaviour suite runs on this and on a real Redis and expects the same outcomes;
 * docs/testing.md lists what it does not reproduce (wire bytes, connections, crashes, real time,
 * Cluster).
 *
 * <p><b>Synchronous by default:</b> when a publish made by the test returns, every handler it
 * reached — and every handler their results reached — has finished, and the first exception a
 * handler threw is rethrown to the test (a checked one wrapped in {@link HandlerFailedException}).
 * A publish made inside a handler does not wait (it would wait for itself). {@link
 * #asynchronous()} switches to the real behaviour; then {@link #waitForCall} waits. One in-memory
 * Redis per instance, unless shared: {@link #with(RedisBroker)} runs another broker on this one's
 * in-memory Redis, so what one publishes the other's subscribers receive.
 *
 * <p><b>With a real Redis:</b> {@link #withReal(RedisBroker)} (FastStream's {@code
 * TestRedisBroker(broker, with_real=True)}) keeps the broker on its own Redis but keeps the test
 * API — {@link #calls}, {@link #waitForCall}, {@link #published}, {@link #drain} — so one test
 * body runs in memory or against Redis by flipping a flag. Publishing is then asynchronous, as on
 * Redis: wait with {@link #waitForCall} or {@link #drain}. What only the in-memory Redis can show
 * ({@link #list}, {@link #stream}, {@link #pending}, {@link #advance}) throws there; read Redis
 * with a client instead.
 *
 * <p><b>Handles:</b> {@link #calls} and {@link #waitForCall} take the broker's subscriptions and
 * the handles a {@code Router}'s {@code subscriber(...).handle(...)} returns (they stand for the
 * live subscription in the broker of the router's latest include).
 *
 * <p><b>Ownership:</b> opening switches the broker to the in-memory transport and starts it;
 * {@link #close()} stops it and puts the original transport back, leaving the broker as it was
 * (it can then start on a real Redis). Not for concurrent use by several test threads.
 */
public final class TestRedisBroker implements AutoCloseable {

  /** One handler call: the decoded payload (a List for batch subscriptions) and its context. */
  public record Call(Object payload, MessageContext context) {

    /** The payload as the given type. */
    public <T> T payload(Class<T> type) {
      return type.cast(payload);
    }
  }

  /** A message as it was published (after the envelope's round trip). */
  public record Published(Map<String, String> headers, byte[] body, Decoder decoder) {

    /** Decodes the body as a handler of that type would. */
    public <T> T as(Class<T> type) {
      return type.cast(decoder.decode(this, type));
    }

    public String header(String name) {
      return headers.get(name);
    }
  }

  /** Decodes published messages with the broker's codec. */
  @FunctionalInterface
  public interface Decoder {
    Object decode(Published message, Type type);
  }

  private final RedisBroker broker;
  /** The in-memory Redis, or null {@linkplain #withReal with a real Redis}. */
  private final MemoryTransport memory;
  /** The real transport, recorded, or null in memory. */
  private final RecordingTransport real;
  private final Map<Subscription, List<Call>> calls = new ConcurrentHashMap<>();
  private final ReentrantLock lock = new ReentrantLock();
  private final Condition called = lock.newCondition();
  private final Middleware recorder;
  private final AutoCloseable restore;
  private volatile boolean synchronous = true;
  private boolean closed;
  /** Test brokers not closed yet: what {@link LeakCheckExtension} reports as open in-memory brokers. */
  static final java.util.Set<TestRedisBroker> OPEN = ConcurrentHashMap.newKeySet();

  private TestRedisBroker(RedisBroker broker, MemoryTransport memory, RecordingTransport real) {
    this.broker = broker;
    this.memory = memory;
    this.real = real;
    this.recorder = new Middleware() {
      @Override
      public Object consume(ConsumeChain chain) throws Exception {
        if (chain.subscription() != null) { // null: the reply to a request, not a handler's call
          record(chain.subscription(), new Call(chain.payload(), chain.context()));
        }
        return chain.proceed();
      }
    };
    if (memory != null) {
      memory.waitsForHandlers(() -> synchronous);
    } else {
      synchronous = false; // a publish to Redis returns before any handler sees it
    }
    this.restore = Brokers.runOn(broker, memory != null ? memory : real, recorder);
    OPEN.add(this);
  }

  /** Takes over the broker until {@link #close()}: it runs in memory from now on, started. */
  public static TestRedisBroker of(RedisBroker broker) {
    return new TestRedisBroker(broker, new MemoryTransport(), null);
  }

  /**
   * Takes over the broker until {@link #close()} without replacing its Redis: the broker runs on
   * its own connection (started now), and the test API records what it publishes and handles
   * (FastStream's {@code with_real=True}). Asynchronous: wait with {@link #waitForCall} or {@link
   * #drain}.
   */
  public static TestRedisBroker withReal(RedisBroker broker) {
    return new TestRedisBroker(broker, null, new RecordingTransport(Brokers.ownTransport(broker)));
  }

  /**
   * Takes over another broker until the returned test broker's {@link #close()}, on the same
   * in-memory Redis as this one: what either publishes reaches the subscribers of both, as two
   * services on one Redis server. Each test broker records its own broker's calls; closing one
   * leaves the other running. Both brokers' consumers of one List or Stream group need their own
   * consumer names, as on Redis.
   */
  public TestRedisBroker with(RedisBroker other) {
    if (memory == null) {
      throw new IllegalStateException("This test broker runs on a real Redis (withReal): run the other broker with "
          + "TestRedisBroker.withReal(other) on the same server instead.");
    }
    if (other == broker) {
      throw new IllegalArgumentException("The broker " + broker + " runs on this test broker already.");
    }
    return new TestRedisBroker(other, new MemoryTransport(memory), null);
  }

  /** Whether this runs the broker on its real Redis ({@link #withReal}) rather than in memory. */
  public boolean isReal() {
    return memory == null;
  }

  /** The broker under test (the same object that was given). */
  public RedisBroker broker() {
    return broker;
  }

  /** Publishes return at once, as on Redis; use {@link #waitForCall} to wait for handlers. */
  public TestRedisBroker asynchronous() {
    synchronous = false;
    return this;
  }

  /** Publishes wait for the handlers they reach (the default in memory; with a real Redis it throws). */
  public TestRedisBroker synchronous() {
    if (memory == null) {
      throw new IllegalStateException("With a real Redis a publish returns before the handlers see it; wait with "
          + "waitForCall(...) or drain() instead of synchronous().");
    }
    synchronous = true;
    return this;
  }

  private void record(Subscription subscription, Call call) {
    calls.computeIfAbsent(subscription, s -> new CopyOnWriteArrayList<>()).add(call);
    lock.lock();
    try {
      called.signalAll();
    } finally {
      lock.unlock();
    }
  }

  /**
   * The calls of a subscription's handler so far, in order (a replaced subscription keeps its own).
   * A router's handle counts as the live subscription it stands for.
   */
  public List<Call> calls(Subscription subscription) {
    return List.copyOf(calls.getOrDefault(Brokers.live(subscription), List.of()));
  }

  /**
   * Waits until the subscription's handler has been called at least once and every message
   * delivered so far is done with (handled, its result published, settled); returns the first call.
   * For the {@linkplain #asynchronous() asynchronous} mode; fails with an {@link AssertionError}
   * after the timeout.
   */
  public Call waitForCall(Subscription subscription, Duration timeout) {
    return waitForCalls(subscription, 1, timeout).get(0);
  }

  /**
   * Waits until the subscription's handler has been called {@code n} times in all and every message
   * delivered so far is done with (handled, its result published, settled); returns the calls.
   */
  public List<Call> waitForCalls(Subscription subscription, int n, Duration timeout) {
    long deadline = System.nanoTime() + timeout.toNanos();
    lock.lock();
    try {
      while (calls(subscription).size() < n) {
        long left = deadline - System.nanoTime();
        if (left <= 0) {
          throw new AssertionError("Subscription '" + subscription.id() + "' was called " + calls(subscription).size()
              + " time(s) within " + timeout + ", expected " + n + ".");
        }
        called.await(left, TimeUnit.NANOSECONDS);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError("Interrupted while waiting for calls of " + subscription.id(), e);
    } finally {
      lock.unlock();
    }
    // The call is recorded as the handler starts; what it sets off (its result, the ack) comes after.
    try {
      Duration left = Duration.ofNanos(Math.max(0, deadline - System.nanoTime()));
      if (!(memory != null ? memory.awaitIdle(left) : real.awaitIdle(left))) {
        throw new AssertionError("Subscription '" + subscription.id() + "' was called " + n + " time(s), but messages "
            + "were still being handled after " + timeout + ".");
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError("Interrupted while waiting for calls of " + subscription.id(), e);
    }
    return calls(subscription);
  }

  /** Everything published to the destination while the test broker ran, in order. */
  public List<Published> published(Destination destination) {
    if (memory == null) {
      return toPublished(real.published(destination.key()));
    }
    return toPublished(memory.published(destination.key()));
  }

  /** Items of a list key ({@code jobs}, {@code {jobs}:dlq}, {@code {jobs}:processing:<consumer>}), head first. */
  public List<Published> list(String key) {
    inMemoryOnly("list(key)");
    List<Frame> frames = new ArrayList<>();
    for (byte[] raw : memory.list(key)) {
      frames.add(Envelope.decode(raw));
    }
    return toPublished(frames);
  }

  /** Entries of a stream or dead-letter stream ({@code {events}:dlq}), oldest first. */
  public List<Published> stream(String name) {
    inMemoryOnly("stream(name)");
    return toPublished(new ArrayList<>(memory.streamEntries(name).values()));
  }

  /** Pending entries of a consumer group: entry id → delivery count. */
  public Map<String, Long> pending(String stream, String group) {
    inMemoryOnly("pending(stream, group)");
    return memory.pending(stream, group);
  }

  /**
   * Sends a raw command to the in-memory Redis as another client would (an operator, a producer
   * that is not Brook), like {@link RedisServer#command}: {@code XGROUP CREATE key group id
   * [MKSTREAM]}, {@code XADD key * field value...}, {@code RPUSH key value...}, {@code PUBLISH
   * channel message}, {@code SPUBLISH shardchannel message} and {@code DEL key...}; values are stored as they are, not in Brook's
   * envelope. Answers what Redis answers. Synchronous mode: returns when the handlers this reached
   * are done and rethrows the first failure.
   *
   * @throws IllegalArgumentException for another command
   * @throws UnsupportedOperationException on a real Redis ({@link #withReal}): send it with a Redis client
   */
  public Object command(String... args) {
    inMemoryOnly("command(args)");
    java.util.Objects.requireNonNull(args, "args");
    Object answer = memory.command(args);
    if (synchronous && !MemoryTransport.onWorkerThread()) {
      rethrowFailures();
    }
    return answer;
  }

  /**
   * Moves the in-memory clock: stream entries idle at least their {@code minIdle} are taken over now
   * (delivered again, or dead-lettered past {@code maxDeliveries}), and reliable-list consumers take
   * back the processing lists of consumers that are gone. Synchronous mode: returns when the
   * handlers this reached are done and rethrows the first failure — except when called from a
   * handler, which would wait for itself.
   */
  public void advance(Duration duration) {
    inMemoryOnly("advance(duration)");
    memory.advance(duration);
    if (synchronous && !MemoryTransport.onWorkerThread()) {
      rethrowFailures();
    }
  }

  /**
   * Waits until every message delivered so far is handled, and rethrows the first handler failure.
   * With a real Redis, "delivered" means received by the broker: a message still on its way from
   * Redis is not waited for (use {@link #waitForCall}).
   */
  public void drain() {
    rethrowFailures();
  }

  private void inMemoryOnly(String what) {
    if (memory == null) {
      throw new UnsupportedOperationException(what + " reads the in-memory Redis, but this test broker runs on a real "
          + "Redis (withReal): read it with a Redis client, or run the test in memory (TestRedisBroker.of).");
    }
  }

  private void rethrowFailures() {
    Throwable failure;
    try {
      failure = memory != null ? memory.awaitQuiet(Duration.ofSeconds(30)) : real.awaitQuiet(Duration.ofSeconds(30));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new BrookException("Interrupted while waiting for handlers.", e);
    }
    MemoryTransport.rethrow(failure);
  }

  private List<Published> toPublished(List<Frame> frames) {
    List<Published> out = new ArrayList<>(frames.size());
    Decoder decoder = (message, type) -> {
      try {
        return Brokers.decode(broker, type, new Frame(message.headers(), message.body()));
      } catch (Exception e) {
        throw new BrookException("Cannot decode a published message as " + type.getTypeName() + ": " + e.getMessage(), e);
      }
    };
    for (Frame f : frames) {
      out.add(new Published(f.headers(), f.payload(), decoder));
    }
    return out;
  }

  /**
   * Stops the broker's test run and gives it its original transport back (with a real Redis: the
   * same transport, no longer recorded). Idempotent.
   */
  @Override
  public void close() {
    if (closed) {
      return;
    }
    closed = true;
    OPEN.remove(this);
    if (memory != null) {
      memory.closeJobs();
    }
    try {
      restore.close();
    } catch (Exception e) {
      throw new BrookException("Restoring the broker after the test failed: " + e.getMessage(), e);
    }
  }

  /** Thrown by a synchronous publish when a handler it reached threw a checked exception. */
  public static final class HandlerFailedException extends BrookException {
    public HandlerFailedException(Throwable cause) {
      super("A handler failed: " + cause, cause);
    }
  }
}
