package dev.brook.bench.jmh;

import dev.brook.Destination;
import dev.brook.spi.Frame;
import dev.brook.spi.Inbound;
import dev.brook.spi.Transport;
import dev.brook.redis.internal.Envelope;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.locks.LockSupport;

/**
 * The thinnest {@link Transport} a broker can run on, for {@link DispatchBenchmark}: no server, no
 * model, no bookkeeping. A started consumer only hands its subscription's sink to the benchmark,
 * which then delivers messages itself — exactly as {@code RedisTransport}'s Pub/Sub listener does on
 * Lettuce's I/O thread, with a {@link Message} that unwraps like {@code PubSubInbound}.
 *
 * <p>(The in-memory {@code TestRedisBroker} is no fit for a benchmark: it keeps every published
 * frame and records every handler call in a copy-on-write list, so its cost grows with the run.)
 */
final class InProcessTransport implements Transport {

  private volatile Sink sink;

  /** The sink of the one started consumer; fails when none is started. */
  Sink sink() {
    Sink s = sink;
    if (s == null) {
      throw new IllegalStateException("no consumer is started");
    }
    return s;
  }

  @Override
  public void connect() {}

  @Override
  public Consumer consumer(Destination destination, String subscriptionId, Sink sink) {
    return new Consumer() {
      @Override
      public void start() {
        InProcessTransport.this.sink = sink;
      }

      @Override
      public void stop() {
        InProcessTransport.this.sink = null;
      }
    };
  }

  @Override
  public CompletableFuture<Void> send(Destination destination, Frame frame) {
    return CompletableFuture.completedFuture(null);
  }

  @Override
  public String describe() {
    return "in-process://benchmark";
  }

  @Override
  public void close() {}

  /**
   * One received Pub/Sub value, as {@code PubSubInbound} is (the envelope is unwrapped on the
   * worker, the size check first), plus a flag the subscription raises when it is done with it
   * (handled and settled), which the benchmark thread waits for.
   */
  static final class Message implements Inbound {
    private static final int MAX_SIZE = 16 * 1024 * 1024; // RedisBroker's default maxMessageSize
    /** About 20-50 us of spinning before parking, so a loaded machine does not starve the worker. */
    private static final int SPINS = 1 << 12;

    private final String channel;
    private final byte[] raw;
    private volatile boolean done;
    private volatile Thread waiter;

    Message(String channel, byte[] raw) {
      this.channel = channel;
      this.raw = raw;
    }

    @Override
    public String channel() {
      return channel;
    }

    @Override
    public String serverId() {
      return null;
    }

    @Override
    public Frame frame() {
      return raw.length > MAX_SIZE ? Frame.EMPTY : Envelope.decode(raw);
    }

    @Override
    public String unreadable() {
      return Envelope.tooLarge(raw.length, MAX_SIZE);
    }

    @Override
    public Map<String, String> pathParams() {
      return Map.of();
    }

    @Override
    public void processed(Throwable failure) {
      done = true;
      Thread w = waiter;
      if (w != null) {
        LockSupport.unpark(w);
      }
    }

    /**
     * Waits until the subscription is done with this message: spins a little (the common case on
     * an idle core), then parks. Both fields are volatile, so either {@link #processed} sees the
     * waiter or the waiter sees {@code done}.
     */
    void await() {
      for (int i = 0; i < SPINS && !done; i++) {
        Thread.onSpinWait();
      }
      if (done) {
        return;
      }
      waiter = Thread.currentThread();
      while (!done) {
        LockSupport.park(this);
      }
    }
  }
}
