package dev.brook.redis.internal;

import dev.brook.Destination;
import dev.brook.redis.Redis;
import dev.brook.spi.Frame;
import dev.brook.spi.Transport;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * An in-memory Redis for tests: what the kinds' in-memory models share. Each kind models its
 * commands in its own package ({@code pubsub.PubSubModel}, {@code list.ListModel}, {@code
 * stream.StreamModel}, each a {@link RedisKind} of the in-memory transport, as its Redis consumer
 * and producer are of {@code RedisTransport}); this class holds what crosses kinds:
 *
 * <ul>
 *   <li>one lock for the whole model (a settled message makes room that any kind may fill, and
 *       WRONGTYPE looks at every kind's keys); sinks are called under it, since they only buffer;
 *   <li>the keyspace rule between kinds: a command on a key another kind {@linkplain Model#holds
 *       holds} fails with {@link WrongType};
 *   <li>the manual clock, starting at 0 and moved only by {@link #advance};
 *   <li>messages in flight: each delivered message counts until the subscription reports it
 *       {@linkplain MemoryInbound#processed processed} ({@link #awaitQuiet} waits for none to be
 *       left, which is how a synchronous publish waits for the handlers it reached), with the
 *       handlers' failures; messages on a {@linkplain #replyChannel reply channel} are not
 *       counted (the broker's reply channel does not report them, and a request waits for its
 *       reply anyway);
 *   <li>every message published, by destination key, as receivers decode it.
 * </ul>
 *
 * <p>Thread-safe. One instance per in-memory transport; it holds no thread and nothing to close.
 */
public final class MemoryRedis {

  /**
   * A kind's model as the shared part sees it. Every method runs under the lock; each has nothing
   * to do by default (Pub/Sub keeps no keys and nothing waits in it).
   */
  public interface Model {

    /** Whether the key holds a value of this kind (a command of another kind on it is WRONGTYPE). */
    default boolean holds(String key) {
      return false;
    }

    /** Room was made: hand what waits in the model to the consumers that have room again. */
    default void pump() {}

    /** The clock moved (see {@link #now()}): back-offs that ended, idle entries to take over. */
    default void clockMoved() {}
  }

  /** Redis' answer to a command on a key of another type. */
  public static final class WrongType extends IllegalStateException {
    WrongType() {
      super("WRONGTYPE Operation against a key holding the wrong kind of value");
    }
  }

  private final ReentrantLock lock = new ReentrantLock();
  private final Condition quiet = lock.newCondition();
  /** In the order pump and clockMoved visit them. */
  private final List<Model> models = new ArrayList<>();
  private long nowMillis;
  private final long wallBase = System.currentTimeMillis();
  /** Schedules' last ticks by name: the in-memory {@code {brook:schedule:<name>}:last} keys. */
  private final Map<String, Long> scheduleTicks = new java.util.HashMap<>();
  private int inFlight;
  private final List<Throwable> failures = new ArrayList<>();
  private final Set<String> replyChannels = new HashSet<>();
  private final Map<String, List<Frame>> published = new LinkedHashMap<>();

  /** Creates a kind's model on this Redis and adds it to the models that pump and the clock visit. */
  public <M extends Model> M add(Function<MemoryRedis, M> model) {
    M m = model.apply(this);
    locked(() -> models.add(m));
    return m;
  }

  public void locked(Runnable action) {
    lock.lock();
    try {
      action.run();
    } finally {
      lock.unlock();
    }
  }

  public <T> T lockedGet(Supplier<T> action) {
    lock.lock();
    try {
      return action.get();
    } finally {
      lock.unlock();
    }
  }

  // ---- the keyspace and the clock ---------------------------------------------------------------

  /** Under the lock: fails as Redis does when another kind holds the key. */
  public void checkType(String key, Model kind) {
    for (Model m : models) {
      if (m != kind && m.holds(key)) {
        throw new WrongType();
      }
    }
  }

  /** Under the lock: the manual clock, in milliseconds from 0. */
  public long now() {
    return nowMillis;
  }

  /**
   * Epoch milliseconds on the manual clock: the real time when this in-memory Redis was made plus
   * how far {@link #advance} moved it (what schedules see, so their ticks carry plausible dates).
   */
  public long wallClock() {
    return lockedGet(() -> wallBase + nowMillis);
  }

  /** A schedule's last tick fired or skipped ({@code {brook:schedule:<name>}:last}), or null. */
  public Long scheduleLast(String name) {
    return lockedGet(() -> scheduleTicks.get(name));
  }

  /** The schedule claim: records the tick when it is later than the last one; whether it was. */
  public boolean claimTick(String name, long tick) {
    return lockedGet(() -> {
      Long last = scheduleTicks.get(name);
      if (last != null && last >= tick) {
        return false;
      }
      scheduleTicks.put(name, tick);
      return true;
    });
  }

  /** Moves the clock; each model then does what became due, and waiting messages go to consumers with room. */
  public void advance(Duration duration) {
    locked(() -> {
      nowMillis += duration.toMillis();
      for (Model m : List.copyOf(models)) {
        m.clockMoved();
      }
      pump();
    });
  }

  /**
   * The consumer name a subscription carries in Redis, as {@code ConsumerNames} names the consumers
   * of the process's first broker (each in-memory Redis has one broker, so the broker number never
   * shows): the destination's own name unless it is the process default, else the default with
   * {@code /<subscription id>} when the id is not the destination's key.
   */
  public static String consumerName(String destinationConsumer, String destinationKey, String subscriptionId) {
    if (!destinationConsumer.equals(Redis.defaultConsumerName())) {
      return destinationConsumer;
    }
    return subscriptionId == null || subscriptionId.equals(destinationKey) ? destinationConsumer
        : destinationConsumer + "/" + subscriptionId;
  }

  // ---- publishing -------------------------------------------------------------------------------

  /**
   * Under the lock: the value a publish stores (the envelope, as Redis would hold it), recorded as
   * published to the destination.
   */
  public byte[] write(Destination destination, Frame frame) {
    byte[] wire = Envelope.encode(frame.headers(), frame.payload());
    published.computeIfAbsent(destination.key(), k -> new ArrayList<>()).add(Envelope.decode(wire));
    return wire;
  }

  /** Every message published to a destination key, in order, as the receivers would decode it. */
  public List<Frame> published(String destinationKey) {
    return lockedGet(() -> List.copyOf(published.getOrDefault(destinationKey, List.of())));
  }

  /** The broker's reply channel: messages on it are not counted in flight. */
  public void replyChannel(String name) {
    locked(() -> replyChannels.add(name));
  }

  /** Under the lock. */
  public boolean isReplyChannel(String name) {
    return replyChannels.contains(name);
  }

  // ---- messages in flight -----------------------------------------------------------------------

  /** Under the lock: hands one message to a subscription. */
  public void deliver(Transport.Sink sink, MemoryInbound message) {
    if (message.counted()) {
      inFlight++;
    }
    sink.accept(message);
  }

  /** Under the lock: messages read together, handed over together (a batch subscription gets them in one batch). */
  public void deliverAll(Transport.Sink sink, List<? extends MemoryInbound> messages) {
    if (messages.size() == 1) {
      deliver(sink, messages.get(0));
    } else if (!messages.isEmpty()) {
      for (MemoryInbound m : messages) {
        if (m.counted()) {
          inFlight++;
        }
      }
      sink.acceptAll(messages);
    }
  }

  /** Called once per counted message when the subscription is done with it. */
  void processed(Throwable failure) {
    locked(() -> {
      if (failure != null) {
        failures.add(failure);
      }
      // Room was made: hand over what waits, before this message stops counting (so quiet means done).
      pump();
      if (--inFlight <= 0) {
        inFlight = 0;
        quiet.signalAll();
      }
    });
  }

  /** Hands waiting messages to consumers that have room now. */
  void pumpNow() {
    locked(this::pump);
  }

  /** Under the lock. */
  private void pump() {
    for (Model m : models) {
      m.pump();
    }
  }

  /**
   * Waits until no delivered message is still being processed, leaving handler failures as they
   * are; false when the timeout passed first.
   */
  public boolean awaitIdle(Duration timeout) throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    lock.lock();
    try {
      return awaitNoneInFlight(deadline);
    } finally {
      lock.unlock();
    }
  }

  /**
   * Waits until every message delivered so far has been processed (transitively: what handlers
   * publish is delivered and processed too), then returns and forgets the handler failures seen
   * meanwhile.
   *
   * @return the first handler failure, or null
   * @throws IllegalStateException when messages are still being handled after the timeout
   */
  public Throwable awaitQuiet(Duration timeout) throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    lock.lock();
    try {
      if (!awaitNoneInFlight(deadline)) {
        throw new IllegalStateException(inFlight + " message(s) were still being handled after " + timeout
            + "; a handler is slow or blocked. Raise the timeout or use the asynchronous mode.");
      }
      Throwable first = failures.isEmpty() ? null : failures.get(0);
      failures.clear();
      return first;
    } finally {
      lock.unlock();
    }
  }

  /** Under the lock: false when the deadline ({@link System#nanoTime()}) passed first. */
  private boolean awaitNoneInFlight(long deadline) throws InterruptedException {
    while (inFlight > 0) {
      long left = deadline - System.nanoTime();
      if (left <= 0) {
        return false;
      }
      quiet.await(left, TimeUnit.NANOSECONDS);
    }
    return true;
  }
}
