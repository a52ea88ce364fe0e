package dev.brook.bench.jmh;

import dev.brook.Subscription;
import dev.brook.SubscriptionMetrics;
import dev.brook.micrometer.BrookMetrics;
import dev.brook.micrometer.BrookObservation;
import dev.brook.opentelemetry.BrookTracing;
import dev.brook.redis.Redis;
import dev.brook.redis.RedisBroker;
import dev.brook.spi.Brokers;
import dev.brook.spi.Frame;
import dev.brook.spi.Inbound;
import dev.brook.redis.internal.Envelope;
import io.micrometer.core.instrument.observation.DefaultMeterObservationHandler;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.micrometer.observation.ObservationRegistry;
import io.opentelemetry.api.trace.propagation.W3CTraceContextPropagator;
import io.opentelemetry.context.propagation.ContextPropagators;
import io.opentelemetry.sdk.OpenTelemetrySdk;
import io.opentelemetry.sdk.common.CompletableResultCode;
import io.opentelemetry.sdk.trace.SdkTracerProvider;
import io.opentelemetry.sdk.trace.data.SpanData;
import io.opentelemetry.sdk.trace.export.SimpleSpanProcessor;
import io.opentelemetry.sdk.trace.export.SpanExporter;
import io.opentelemetry.sdk.trace.samplers.Sampler;
import java.util.Collection;
import java.util.concurrent.atomic.LongAdder;
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
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The per-message cost of brook-micrometer (issue 16: at most 1 µs of CPU per message over disabled;
 * disabled costs nothing): {@link DispatchBenchmark}'s {@code brookInline} path (envelope, chain,
 * decode, handler, settle on the benchmark thread) and a publish onto a transport that completes at
 * once, with {@code mode} {@code off} (no binding), {@code otel} ({@code BrookMetrics} with the
 * OpenTelemetry names on a {@code SimpleMeterRegistry}), {@code faststream} (FastStream's names) or
 * {@code observation} ({@code BrookObservation} with Micrometer's meter handler, as Spring Boot sets
 * it up without tracing), {@code tracing} ({@code BrookTracing} on an OpenTelemetry SDK with the
 * always-on sampler, W3C propagation and a {@code SimpleSpanProcessor} handing every ended span to an
 * exporter that discards it: the span's whole life, its export included, on the benchmark thread) or
 * {@code otel+tracing} (both). The message carries a {@code traceparent}, as one from a traced upstream
 * service does. {@code consume(mode) - consume(off)} is the cost per message.
 *
 * <pre>benchmarks/jmh.sh -f 1 -wi 3 -w 1s -i 5 -r 1s Metrics</pre>
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Fork(1)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
public class MetricsBenchmark {

  private static final String CHANNEL = "bench.orders";

  @Param({"off", "otel", "faststream", "observation", "tracing", "otel+tracing"})
  public String mode;

  private RedisBroker broker;
  private AutoCloseable restore;
  private AutoCloseable binding;
  private Subscription subscription;
  private MethodHandle process;
  private byte[] raw;
  private long lastId;
  private final LongAdder spans = new LongAdder();
  private OpenTelemetrySdk openTelemetry;

  @Setup
  public void setUp() throws Throwable {
    broker = RedisBroker.builder().url("redis://127.0.0.1:1").build(); // never connects
    subscription = broker.subscriber(Redis.channel(CHANNEL)).handle(Order.class, (order, ctx) -> {
      lastId = order.id();
      return null;
    });
    SimpleMeterRegistry meters = new SimpleMeterRegistry();
    binding = switch (mode) {
      case "off" -> () -> {};
      case "otel" -> BrookMetrics.bind(broker, meters);
      case "faststream" -> BrookMetrics.builder(meters).fastStreamNames().bindTo(broker);
      case "observation" -> {
        ObservationRegistry observations = ObservationRegistry.create();
        observations.observationConfig().observationHandler(new DefaultMeterObservationHandler(meters));
        yield BrookObservation.bind(broker, observations);
      }
      case "tracing" -> {
        tracing().bindTo(broker);
        yield () -> {};
      }
      case "otel+tracing" -> {
        BrookMetrics metrics = BrookMetrics.bind(broker, meters);
        tracing().bindTo(broker);
        yield metrics;
      }
      default -> throw new IllegalArgumentException(mode);
    };
    restore = Brokers.runOn(broker, new InProcessTransport());
    Frame frame = Brokers.encode(broker, Order.SAMPLE, Map.of("x-tenant", "acme",
        "traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"));
    raw = Envelope.encode(frame.headers(), frame.payload());
    process = MethodHandles.privateLookupIn(subscription.getClass(), MethodHandles.lookup())
        .findVirtual(subscription.getClass(), "process", MethodType.methodType(void.class, List.class))
        .asType(MethodType.methodType(void.class, Subscription.class, List.class));
    consume();
    if (lastId != Order.SAMPLE.id() || subscription.metrics().handled() != 1) {
      throw new IllegalStateException("the handler was not reached: " + subscription.metrics());
    }
    if (mode.contains("tracing") && spans.sum() != 1) {
      throw new IllegalStateException("expected one process span, exported " + spans.sum());
    }
  }

  /** BrookTracing on an SDK that samples everything and exports each span, synchronously, to nowhere. */
  private BrookTracing tracing() {
    SpanExporter discard = new SpanExporter() {
      @Override
      public CompletableResultCode export(Collection<SpanData> batch) {
        spans.add(batch.size());
        return CompletableResultCode.ofSuccess();
      }

      @Override
      public CompletableResultCode flush() {
        return CompletableResultCode.ofSuccess();
      }

      @Override
      public CompletableResultCode shutdown() {
        return CompletableResultCode.ofSuccess();
      }
    };
    openTelemetry = OpenTelemetrySdk.builder()
        .setTracerProvider(SdkTracerProvider.builder().setSampler(Sampler.alwaysOn())
            .addSpanProcessor(SimpleSpanProcessor.create(discard)).build())
        .setPropagators(ContextPropagators.create(W3CTraceContextPropagator.getInstance()))
        .build();
    return BrookTracing.create(openTelemetry);
  }

  @TearDown
  public void tearDown() throws Exception {
    SubscriptionMetrics m = subscription.metrics();
    binding.close();
    restore.close();
    broker.close();
    if (openTelemetry != null) {
      openTelemetry.close();
    }
    if (m.failed() != 0 || m.decodeErrors() != 0 || m.handled() != m.received()) {
      throw new IllegalStateException("messages were not all handled, the figures are void: " + m);
    }
  }

  /** One message through the subscription's per-message code on this thread. */
  @Benchmark
  public long consume() throws Throwable {
    process.invokeExact(subscription, List.<Inbound>of(new InProcessTransport.Message(CHANNEL, raw)));
    return lastId;
  }

  /** One publish: the publish scope, encoding, and a send that completes at once. */
  @Benchmark
  public void publish() {
    broker.publish(Order.SAMPLE, Redis.channel(CHANNEL));
  }
}
