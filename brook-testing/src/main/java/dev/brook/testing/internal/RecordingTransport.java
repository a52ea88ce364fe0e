package dev.brook.testing.internal;

import dev.brook.Destination;
import dev.brook.spi.DestinationDescription;
import dev.brook.spi.Frame;
import dev.brook.spi.Inbound;
import dev.brook.spi.ServerDescription;
import dev.brook.spi.Transport;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * A broker's own (real) transport with what {@code TestRedisBroker.withReal} needs on top: every
 * frame the broker sends is recorded by destination key, and every message its consumers deliver
 * counts as in flight until the subscription reports it {@linkplain Inbound#processed processed}
 * (handled, settled, its result published), with the handlers' failures. Everything else goes to
 * the real transport unchanged.
 *
 * <p>Each delivered message is wrapped so that its {@code processed} can be counted; batch
 * settlement ({@link Inbound#ackAll}, {@link Inbound#releaseAll}) is handed to the real messages,
 * so a Stream's one XACK and a List's ordered give-back stay as they are.
 *
 * <p>Thread-safe. It owns nothing: {@link #close()} does nothing, the broker closes its transport.
 */
public final class RecordingTransport implements Transport, dev.brook.redis.internal.Backlogs {

  private final Transport real;
  private final ReentrantLock lock = new ReentrantLock();
  private final Condition quiet = lock.newCondition();
  private final Map<String, List<Frame>> published = new LinkedHashMap<>();
  private final List<Throwable> failures = new ArrayList<>();
  private int inFlight;

  public RecordingTransport(Transport real) {
    this.real = real;
  }

  @Override
  public void connect() {
    real.connect();
  }

  @Override
  public Consumer consumer(Destination destination, String subscriptionId, Sink sink) {
    return real.consumer(destination, subscriptionId, new Sink() {
      @Override
      public void accept(Inbound message) {
        sink.accept(counted(message));
      }

      @Override
      public void acceptAll(List<? extends Inbound> messages) {
        List<Inbound> wrapped = new ArrayList<>(messages.size());
        for (Inbound m : messages) {
          wrapped.add(counted(m));
        }
        sink.acceptAll(wrapped);
      }

      @Override
      public boolean awaitCapacity(int n) throws InterruptedException {
        return sink.awaitCapacity(n);
      }

      @Override
      public int room() {
        return sink.room();
      }
    });
  }

  @Override
  public CompletableFuture<Void> send(Destination destination, Frame frame) {
    record(destination, List.of(frame));
    return real.send(destination, frame);
  }

  @Override
  public CompletableFuture<dev.brook.PublishResult> send(Destination destination, Frame frame,
      dev.brook.PublishOptions options) {
    record(destination, List.of(frame));
    return real.send(destination, frame, options);
  }

  @Override
  public CompletableFuture<Void> sendBatch(Destination destination, List<Frame> frames) {
    record(destination, frames);
    return real.sendBatch(destination, frames);
  }

  /** Recorded per destination, sent as the real transport pipelines it (one round trip). */
  @Override
  public CompletableFuture<Void> sendPipeline(List<Destination> destinations, List<Frame> frames) {
    for (int i = 0; i < frames.size(); i++) {
      record(destinations.get(i), List.of(frames.get(i)));
    }
    return real.sendPipeline(destinations, frames);
  }

  @Override
  public Frame unwrap(byte[] raw) {
    return real.unwrap(raw);
  }

  @Override
  public boolean ping(java.time.Duration timeout) {
    return real.ping(timeout);
  }

  @Override
  public dev.brook.Health.Server health(java.time.Duration timeout) {
    return real.health(timeout);
  }

  @Override
  public java.util.OptionalLong lag(Destination destination, String subscriptionId) {
    return real.lag(destination, subscriptionId);
  }

  /** The real transport's backlog (a Redis transport's). */
  @Override
  public dev.brook.redis.Backlog backlog(Destination destination, String subscriptionId) {
    if (real instanceof dev.brook.redis.internal.Backlogs b) {
      return b.backlog(destination, subscriptionId);
    }
    throw new UnsupportedOperationException("The transport " + real.describe() + " cannot tell a backlog.");
  }

  @Override
  public Destination replyChannel(String name) {
    return real.replyChannel(name);
  }

  @Override
  public Destination destination(String annotation, Map<String, String> attributes) {
    return real.destination(annotation, attributes);
  }

  @Override
  public String describe() {
    return real.describe();
  }

  @Override
  public DestinationDescription describe(Destination destination) {
    return real.describe(destination);
  }

  @Override
  public Optional<ServerDescription> describeServer() {
    return real.describeServer();
  }

  /** The broker closes its own transport; this only looks on. */
  @Override
  public void close() {}

  private void record(Destination destination, List<Frame> frames) {
    lock.lock();
    try {
      published.computeIfAbsent(destination.key(), k -> new ArrayList<>()).addAll(frames);
    } finally {
      lock.unlock();
    }
  }

  /** Every frame the broker sent to a destination key, in order. */
  public List<Frame> published(String destinationKey) {
    lock.lock();
    try {
      return List.copyOf(published.getOrDefault(destinationKey, List.of()));
    } finally {
      lock.unlock();
    }
  }

  private Inbound counted(Inbound message) {
    lock.lock();
    try {
      inFlight++;
    } finally {
      lock.unlock();
    }
    return new Counted(message);
  }

  private void processed(Throwable failure) {
    lock.lock();
    try {
      if (failure != null) {
        failures.add(failure);
      }
      if (--inFlight <= 0) {
        inFlight = 0;
        quiet.signalAll();
      }
    } finally {
      lock.unlock();
    }
  }

  /** Waits until no delivered message is being processed; false when the timeout passed first. */
  public boolean awaitIdle(Duration timeout) throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    lock.lock();
    try {
      while (inFlight > 0) {
        long left = deadline - System.nanoTime();
        if (left <= 0) {
          return false;
        }
        quiet.await(left, TimeUnit.NANOSECONDS);
      }
      return true;
    } finally {
      lock.unlock();
    }
  }

  /**
   * Waits until no delivered message is being processed, then returns and forgets the handler
   * failures seen meanwhile: the first, or null.
   */
  public Throwable awaitQuiet(Duration timeout) throws InterruptedException {
    if (!awaitIdle(timeout)) {
      throw new IllegalStateException("Messages were still being handled after " + timeout
          + "; a handler is slow or blocked. Raise the timeout.");
    }
    lock.lock();
    try {
      Throwable first = failures.isEmpty() ? null : failures.get(0);
      failures.clear();
      return first;
    } finally {
      lock.unlock();
    }
  }

  /** A delivered message that reports its end to the recorder; everything else is the real one's. */
  private final class Counted implements Inbound {
    private final Inbound real;

    Counted(Inbound real) {
      this.real = real;
    }

    private static List<Inbound> unwrap(List<? extends Inbound> batch) {
      List<Inbound> out = new ArrayList<>(batch.size());
      for (Inbound m : batch) {
        out.add(m instanceof Counted c ? c.real : m);
      }
      return out;
    }

    @Override
    public String channel() {
      return real.channel();
    }

    @Override
    public String serverId() {
      return real.serverId();
    }

    @Override
    public Frame frame() {
      return real.frame();
    }

    @Override
    public String unreadable() {
      return real.unreadable();
    }

    @Override
    public byte[] raw() {
      return real.raw();
    }

    @Override
    public void delete() {
      real.delete();
    }

    @Override
    public Map<String, String> pathParams() {
      return real.pathParams();
    }

    @Override
    public boolean atLeastOnce() {
      return real.atLeastOnce();
    }

    @Override
    public long deliveryCount() {
      return real.deliveryCount();
    }

    @Override
    public void ack() {
      real.ack();
    }

    @Override
    public void ackAll(List<? extends Inbound> batch) {
      real.ackAll(unwrap(batch));
    }

    @Override
    public void nack(String reason) {
      real.nack(reason);
    }

    @Override
    public void reject(String reason, Throwable error) {
      real.reject(reason, error);
    }

    @Override
    public void processed(Throwable failure) {
      try {
        real.processed(failure);
      } finally {
        RecordingTransport.this.processed(failure);
      }
    }

    @Override
    public void release() {
      real.release();
    }

    @Override
    public void releaseAll(List<? extends Inbound> messages) {
      real.releaseAll(unwrap(messages));
    }
  }
}
