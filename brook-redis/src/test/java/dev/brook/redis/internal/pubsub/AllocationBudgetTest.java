package dev.brook.redis.internal.pubsub;

import static org.assertj.core.api.Assertions.assertThat;

import dev.brook.redis.internal.Envelope;
import dev.brook.spi.Frame;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Bytes allocated per message on the hot paths that need no Redis, each held to a budget (issue 21:
 * "bytes per message on each path, with a budget per path"). The figures are exact (the JVM counts
 * a thread's allocation), so unlike times they do not move with the machine's load; a change that
 * adds an object per message fails here, not months later in a benchmark. Budgets: encode, the
 * envelope's own array and no more than 80 bytes besides (its header copies); decode, 800 bytes (JMH's GC profiler,
 * {@code benchmarks/jmh.sh -prof gc Envelope}, measured 736 B/op for 100 bytes with three
 * headers); the Pub/Sub reader, the payload's array and 16 bytes. Raise a budget only with the
 * measurement that justifies it, in docs/benchmarks.md.
 */
class AllocationBudgetTest {

  private static final com.sun.management.ThreadMXBean THREADS =
      (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
  private static final int WARM_UP = 20_000;
  private static final int MEASURED = 50_000;

  private static final byte[] PAYLOAD = new byte[100];
  private static final Map<String, String> HEADERS = new LinkedHashMap<>();

  static {
    Arrays.fill(PAYLOAD, (byte) 'x');
    HEADERS.put("correlation_id", "0f8fad5b-d9cb-469f-a165-70867728950e");
    HEADERS.put("content-type", "application/json");
    HEADERS.put("x-tenant", "acme");
  }

  /** Bytes the current thread allocates per call of {@code op}, after a warm-up. */
  private static double bytesPerCall(ThrowingRunnable op) throws Exception {
    return bytesPerCall(op, WARM_UP, MEASURED);
  }

  private static double bytesPerCall(ThrowingRunnable op, int warmUp, int measured) throws Exception {
    for (int i = 0; i < warmUp; i++) {
      op.run();
    }
    long before = THREADS.getCurrentThreadAllocatedBytes();
    for (int i = 0; i < measured; i++) {
      op.run();
    }
    return (double) (THREADS.getCurrentThreadAllocatedBytes() - before) / measured;
  }

  /** The size of a byte array of {@code n} elements on a 64-bit JVM with compressed headers. */
  private static long arrayBytes(int n) {
    return 16 + ((n + 7L) / 8) * 8;
  }

  private interface ThrowingRunnable {
    void run() throws Exception;
  }

  private static Object sink;

  @Test
  void envelopeEncodeOf100BytesAllocatesTheEnvelopeOnly() throws Exception {
    double perCall = bytesPerCall(() -> sink = Envelope.encode(HEADERS, PAYLOAD));
    // The envelope's array (240 B here) and the ASCII fast path's header copies (String.getBytes):
    // 299 B measured after this warm-up; JMH, whose loop the JIT compiles further, sees 240.
    long envelope = arrayBytes(Envelope.encode(HEADERS, PAYLOAD).length);
    assertThat(perCall).as("Envelope.encode, B per message (the envelope is %d B)", envelope)
        .isLessThanOrEqualTo(envelope + 80);
  }

  @Test
  void envelopeDecodeOf100BytesStaysWithinItsBudget() throws Exception {
    byte[] raw = Envelope.encode(HEADERS, PAYLOAD);
    double perCall = bytesPerCall(() -> {
      Frame f = Envelope.decode(raw);
      sink = f;
    });
    assertThat(perCall).as("Envelope.decode, B per message").isLessThanOrEqualTo(800);
  }

  /**
   * The Pub/Sub reader's parse of one pushed message: the payload's array and nothing else (the
   * channel's name is reused while it repeats; the buffer is the reader's own).
   */
  @Test
  void theReaderParsesAPushedMessageIntoItsPayloadArrayOnly() throws Exception {
    byte[] envelope = Envelope.encode(HEADERS, PAYLOAD);
    byte[] frame = push("orders", envelope);
    int frames = 2_000;
    ByteArrayOutputStream many = new ByteArrayOutputStream();
    for (int i = 0; i < frames; i++) {
      many.write(frame);
    }
    byte[] stream = many.toByteArray();
    byte[] message = "message".getBytes(StandardCharsets.US_ASCII);
    ThrowingRunnable parseAll = () -> {
      RespReader in = new RespReader(new ByteArrayInputStream(stream), 64 * 1024);
      for (int i = 0; i < frames; i++) {
        readMessage(in, message);
      }
    };
    double perBatch = bytesPerCall(parseAll, 100, 200);
    // Per batch: the reader and its 64 KiB buffer, the stream wrapper, the first channel name; per message: the payload.
    double perMessage = (perBatch - (64 * 1024 + 1_024)) / frames;
    long payloadArray = arrayBytes(envelope.length);
    assertThat(perMessage).as("bytes per pushed message").isLessThanOrEqualTo(payloadArray + 16);
  }

  private static void readMessage(RespReader in, byte[] message) throws IOException {
    assertType(in.read(), '>');
    long n = in.count();
    long kind = in.bulkLength();
    if (!in.bulkBodyIs(kind, message) || n != 3) {
      throw new IllegalStateException("not a message");
    }
    byte[] channel = in.channelBody((int) in.bulkLength());
    byte[] payload = in.bulkBody((int) in.bulkLength());
    sink = channel.length + payload.length;
  }

  private static void assertType(int type, char expected) {
    if (type != expected) {
      throw new IllegalStateException("expected " + expected + ", got " + (char) type);
    }
  }

  private static byte[] push(String channel, byte[] payload) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    byte[] name = channel.getBytes(StandardCharsets.UTF_8);
    out.writeBytes((">3\r\n$7\r\nmessage\r\n$" + name.length + "\r\n").getBytes(StandardCharsets.US_ASCII));
    out.writeBytes(name);
    out.writeBytes(("\r\n$" + payload.length + "\r\n").getBytes(StandardCharsets.US_ASCII));
    out.writeBytes(payload);
    out.writeBytes("\r\n".getBytes(StandardCharsets.US_ASCII));
    return out.toByteArray();
  }
}
