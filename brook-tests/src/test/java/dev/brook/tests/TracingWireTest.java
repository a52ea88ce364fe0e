package dev.brook.tests;

import static dev.brook.redis.Redis.channel;
import static org.assertj.core.api.Assertions.assertThat;

import dev.brook.opentelemetry.BrookTracing;
import dev.brook.redis.RedisBroker;
import dev.brook.redis.internal.Envelope;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import io.lettuce.core.codec.ByteArrayCodec;
import io.lettuce.core.pubsub.RedisPubSubAdapter;
import io.lettuce.core.pubsub.StatefulRedisPubSubConnection;
import io.opentelemetry.api.trace.propagation.W3CTraceContextPropagator;
import io.opentelemetry.context.propagation.ContextPropagators;
import io.opentelemetry.sdk.OpenTelemetrySdk;
import io.opentelemetry.sdk.testing.exporter.InMemorySpanExporter;
import io.opentelemetry.sdk.trace.SdkTracerProvider;
import io.opentelemetry.sdk.trace.data.SpanData;
import io.opentelemetry.sdk.trace.export.SimpleSpanProcessor;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The trace context on the wire, byte for byte as FastStream's OpenTelemetry middleware carries it
 * in a Redis message: {@code traceparent} (and {@code tracestate}) are ordinary headers of the
 * binary envelope, after {@code correlation_id} and {@code content-type} (FastStream's
 * {@code BinaryMessageFormatV1} puts the message's own headers last).
 */
class TracingWireTest extends RedisTestBase {

  private final InMemorySpanExporter spans = InMemorySpanExporter.create();
  private final SdkTracerProvider provider = SdkTracerProvider.builder().addSpanProcessor(SimpleSpanProcessor.create(spans)).build();
  private final BrookTracing tracing = BrookTracing.create(OpenTelemetrySdk.builder().setTracerProvider(provider)
      .setPropagators(ContextPropagators.create(W3CTraceContextPropagator.getInstance())).build());

  @AfterEach
  void closeProvider() {
    provider.close();
  }

  /** FastStream's binary envelope (ASCII strings): magic, version 1, header and payload offsets, entries, payload. */
  static byte[] fastStreamEnvelope(Map<String, String> headers, byte[] payload) {
    ByteArrayOutputStream block = new ByteArrayOutputStream();
    block.write(headers.size() >> 8);
    block.write(headers.size());
    for (Map.Entry<String, String> e : headers.entrySet()) {
      for (String s : List.of(e.getKey(), e.getValue())) {
        byte[] b = s.getBytes(StandardCharsets.US_ASCII);
        block.write(b.length >> 8);
        block.write(b.length);
        block.writeBytes(b);
      }
    }
    byte[] entries = block.toByteArray();
    ByteBuffer out = ByteBuffer.allocate(18 + entries.length + payload.length);
    out.put(new byte[] {(byte) 0x89, 'B', 'I', 'N', '\r', '\n', 0x1a, '\n'}).putShort((short) 1).putInt(18)
        .putInt(18 + entries.length).put(entries).put(payload);
    return out.array();
  }

  @Test
  void aFastStreamMessageWithTraceparentParentsTheConsumerSpan() throws Exception {
    RedisBroker broker = broker();
    tracing.bindTo(broker);
    Calls<String> calls = new Calls<>();
    broker.subscriber(channel("fs-traced")).handle(String.class, calls);
    broker.start();

    Map<String, String> headers = new LinkedHashMap<>();
    headers.put("correlation_id", "fs-corr-1");
    headers.put("content-type", "text/plain");
    headers.put("traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01");
    headers.put("tracestate", "congo=t61rcWkgMzE");
    byte[] bytes = fastStreamEnvelope(headers, "hello".getBytes(StandardCharsets.UTF_8));
    assertThat(bytes).isEqualTo(Envelope.encode(headers, "hello".getBytes(StandardCharsets.UTF_8))); // the shared vectors' layout
    raw().sync().publish(utf8("fs-traced"), bytes);

    assertThat(calls.awaitOne().payload()).isEqualTo("hello");
    org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(5)).until(() -> spans.getFinishedSpanItems().size() == 1);
    SpanData process = spans.getFinishedSpanItems().get(0);
    assertThat(process.getName()).isEqualTo("process fs-traced");
    assertThat(process.getTraceId()).isEqualTo("0af7651916cd43dd8448eb211c80319c");
    assertThat(process.getParentSpanId()).isEqualTo("b7ad6b7169203331");
    assertThat(process.getParentSpanContext().getTraceState().get("congo")).isEqualTo("t61rcWkgMzE");
    assertThat(process.getAttributes().get(io.opentelemetry.api.common.AttributeKey.stringKey("messaging.message.conversation_id")))
        .isEqualTo("fs-corr-1");
  }

  @Test
  void brookWritesTraceparentWhereFastStreamReadsIt() throws Exception {
    RedisClient client = RedisClient.create(RedisURI.create(redis.url()));
    closeLater(() -> client.shutdown(0, 2, TimeUnit.SECONDS));
    StatefulRedisPubSubConnection<byte[], byte[]> sub = client.connectPubSub(ByteArrayCodec.INSTANCE);
    BlockingQueue<byte[]> received = new LinkedBlockingQueue<>();
    sub.addListener(new RedisPubSubAdapter<>() {
      @Override
      public void message(byte[] channel, byte[] message) {
        received.add(message);
      }
    });
    sub.sync().subscribe(utf8("fs-wire"));
    RedisBroker broker = broker();
    tracing.bindTo(broker);
    broker.publish("ping", channel("fs-wire"), Map.of("correlation_id", "c-9"));

    byte[] bytes = received.poll(5, TimeUnit.SECONDS);
    assertThat(bytes).isNotNull();
    SpanData send = spans.getFinishedSpanItems().get(0);
    String traceparent = "00-" + send.getTraceId() + "-" + send.getSpanId() + "-" + send.getSpanContext().getTraceFlags().asHex();
    // Read as FastStream's parser reads it: the entries in order.
    List<String> entries = entries(bytes);
    assertThat(entries).containsExactly("correlation_id", "c-9", "content-type", "text/plain", "traceparent", traceparent);
    Map<String, String> headers = new LinkedHashMap<>();
    headers.put("correlation_id", "c-9");
    headers.put("content-type", "text/plain");
    headers.put("traceparent", traceparent);
    assertThat(bytes).isEqualTo(fastStreamEnvelope(headers, utf8("ping")));
  }

  private static List<String> entries(byte[] envelope) {
    ByteBuffer in = ByteBuffer.wrap(envelope);
    in.position(10);
    int start = in.getInt();
    in.getInt();
    in.position(start);
    int count = in.getShort() & 0xFFFF;
    List<String> out = new ArrayList<>();
    for (int i = 0; i < count * 2; i++) {
      byte[] b = new byte[in.getShort() & 0xFFFF];
      in.get(b);
      out.add(new String(b, StandardCharsets.UTF_8));
    }
    return out;
  }
}
