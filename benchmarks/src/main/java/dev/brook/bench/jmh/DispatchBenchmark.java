package dev.brook.bench.jmh;

import com.fasterxml.jackson.databind.ObjectReader;
import dev.brook.Handler;
import dev.brook.Subscription;
import dev.brook.SubscriptionMetrics;
import dev.brook.internal.Codec;
import dev.brook.spi.Frame;
import dev.brook.spi.Inbound;
import dev.brook.spi.Transport;
import dev.brook.redis.Redis;
import dev.brook.redis.RedisBroker;
import dev.brook.spi.Brokers;
import dev.brook.redis.internal.Envelope;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Brook's path from a received value to the handler and back, without Redis: a real {@link
 * RedisBroker} (defaults: access-log link, {@code REJECT_ON_ERROR}, buffer 10,000, concurrency 1)
 * with one channel subscriber for {@link Order}, switched onto {@link InProcessTransport} the way
 * {@code TestRedisBroker} switches a broker onto its in-memory Redis. The benchmark delivers
 * envelope bytes to the subscription's sink as the Pub/Sub listener does; the subscription unwraps
 * the envelope, runs its chain (access log → settle → publish result → decode → handler) and
 * settles.
 *
 * <p>Three ways to drive it, so the cost can be split:
 *
 * <ul>
 *   <li>{@code brookInline}: the subscription's own per-message code ({@code
 *       DefaultSubscription.process}, reached through a method handle since it is private) called on
 *       the benchmark thread: envelope, chain, decode, handler, settle, no thread hand-off;
 *   <li>{@code brookBurst}: {@value #BURST} messages delivered back to back through the sink, then
 *       a wait for the last; per message. The worker drains the buffer without stopping, so this
 *       is the per-message cost at throughput, hand-off through the mailbox included;
 *   <li>{@code brookRoundTrip}: one message at a time, delivered and waited for (spinning briefly, then parked): the
 *       latency of an idle subscription, which starts a virtual worker per message.
 * </ul>
 *
 * Baselines, the same handler without Brook: {@code baselineHandler} (the lambda called with a
 * decoded payload), {@code baselineJackson} (Jackson decoding the same JSON, then the handler),
 * {@code baselineEnvelopeJackson} (Brook's envelope decode + Jackson + handler: the least any
 * Redis consumer of this format must do), and {@code baselineVirtualThreadRoundTrip} (that work on
 * a fresh virtual thread, waited for the same way: the floor under {@code brookRoundTrip}). So
 * {@code brookInline - baselineEnvelopeJackson} is the chain's cost, {@code brookBurst -
 * brookInline} the amortized hand-off, {@code brookRoundTrip - baselineVirtualThreadRoundTrip}
 * Brook's part of an idle subscription's latency.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Fork(1)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
public class DispatchBenchmark {

  /** Messages per {@code brookBurst} call: well under the buffer of 10,000, so none is dropped. */
  static final int BURST = 1_000;

  private static final String CHANNEL = "bench.orders";

  private RedisBroker broker;
  private AutoCloseable restore;
  private Subscription subscription;
  private Transport.Sink sink;
  private MethodHandle process;
  private ObjectReader orderReader;
  /** The envelope a publish of {@link Order#SAMPLE} with one user header puts on the wire. */
  private byte[] raw;
  private byte[] json;
  private Handler<Order> handler;
  /** What the handler saw last; written by whichever thread runs it, read after its message is done. */
  private long lastId;

  @Setup
  public void setUp() throws Throwable {
    handler = (order, ctx) -> {
      lastId = order.id();
      return null;
    };
    // Never connects: the URL is only parsed; the transport is replaced before the start.
    broker = RedisBroker.builder().url("redis://127.0.0.1:1").build();
    subscription = broker.subscriber(Redis.channel(CHANNEL)).handle(Order.class, handler);
    InProcessTransport transport = new InProcessTransport();
    restore = Brokers.runOn(broker, transport); // starts the broker, and the subscription, on it
    sink = transport.sink();

    Frame frame = Brokers.encode(broker, Order.SAMPLE, Map.of("x-tenant", "acme"));
    raw = Envelope.encode(frame.headers(), frame.payload());
    json = frame.payload();
    orderReader = Codec.defaultMapper().readerFor(Order.class);

    process = MethodHandles.privateLookupIn(subscription.getClass(), MethodHandles.lookup())
        .findVirtual(subscription.getClass(), "process", MethodType.methodType(void.class, List.class))
        .asType(MethodType.methodType(void.class, Subscription.class, List.class));

    // One message each way before measuring, so a broken setup fails here rather than as a figure.
    lastId = 0;
    brookRoundTrip();
    brookInline();
    if (lastId != Order.SAMPLE.id() || subscription.metrics().handled() != 2) {
      throw new IllegalStateException("the handler was not reached: " + subscription.metrics());
    }
  }

  @TearDown
  public void tearDown() throws Exception {
    SubscriptionMetrics m = subscription.metrics();
    restore.close();
    broker.close();
    if (m.dropped() != 0 || m.failed() != 0 || m.decodeErrors() != 0 || m.handled() != m.received()) {
      throw new IllegalStateException("messages were not all handled, the figures are void: " + m);
    }
  }

  /** The handler alone, given the decoded payload. */
  @Benchmark
  public long baselineHandler() throws Exception {
    handler.handle(Order.SAMPLE, null);
    return lastId;
  }

  /** Jackson decoding the payload, then the handler. */
  @Benchmark
  public long baselineJackson() throws Exception {
    handler.handle(orderReader.readValue(json), null);
    return lastId;
  }

  /** The envelope unwrapped, Jackson decoding its payload, then the handler. */
  @Benchmark
  public long baselineEnvelopeJackson() throws Exception {
    Frame frame = Envelope.decode(raw);
    handler.handle(orderReader.readValue(frame.payload()), null);
    return lastId;
  }

  /** Envelope + Jackson + handler on a new virtual thread, waited for as {@code brookRoundTrip} waits. */
  @Benchmark
  public long baselineVirtualThreadRoundTrip() {
    InProcessTransport.Message done = new InProcessTransport.Message(CHANNEL, raw);
    Thread.ofVirtual().start(() -> {
      try {
        baselineEnvelopeJackson();
      } catch (Exception e) {
        throw new IllegalStateException(e);
      }
      done.processed(null);
    });
    done.await();
    return lastId;
  }

  /** Brook's per-message code (envelope, chain, decode, handler, settle) on this thread. */
  @Benchmark
  public long brookInline() throws Throwable {
    process.invokeExact(subscription, List.<Inbound>of(new InProcessTransport.Message(CHANNEL, raw)));
    return lastId;
  }

  /** {@value #BURST} messages through the sink and the subscription's worker; the figure is per message. */
  @Benchmark
  @OperationsPerInvocation(BURST)
  public long brookBurst() {
    InProcessTransport.Message last = null;
    for (int i = 0; i < BURST; i++) {
      last = new InProcessTransport.Message(CHANNEL, raw);
      sink.accept(last);
    }
    last.await(); // concurrency 1 keeps the order: the last done means all are
    return lastId;
  }

  /** One message through the sink to an idle subscription, waited for. */
  @Benchmark
  public long brookRoundTrip() {
    InProcessTransport.Message m = new InProcessTransport.Message(CHANNEL, raw);
    sink.accept(m);
    m.await();
    return lastId;
  }
}
