package dev.brook.bench.jmh;

import dev.brook.bench.Harness;
import dev.brook.spi.Frame;
import dev.brook.redis.internal.Envelope;
import java.util.LinkedHashMap;
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
import org.openjdk.jmh.annotations.Warmup;

/**
 * The Redis envelope ({@link Envelope}) on its own: {@code encode} runs once per published message
 * (every PUBLISH, RPUSH and XADD carries one), {@code decode} once per received message on the
 * subscription's worker. Both sit on every message's path, so their cost is a floor under Brook's
 * per-message cost that no Redis round trip hides in a pipelined or batched run.
 *
 * <p>The headers are the ones a typical message carries: {@code correlation_id} (a UUID), {@code
 * content-type} and one user header; payloads of 100 bytes and 1 KiB show which part of the cost
 * is per header (fixed) and which per payload byte (the copies). {@code -prof gc} shows the bytes
 * allocated per call: encode allocates exactly the envelope; decode allocates the header map and
 * strings and a copy of the payload (the {@link Frame} takes the map over, see {@code Frame.owning}).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Fork(1)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
public class EnvelopeBenchmark {

  /** Payload size in bytes. */
  @Param({"100", "1024"})
  public int size;

  private Map<String, String> headers;
  private byte[] payload;
  private byte[] raw;

  @Setup
  public void setUp() {
    headers = new LinkedHashMap<>();
    headers.put("correlation_id", "0b7f7f5e-3c4a-4d2e-9f61-1a2b3c4d5e6f");
    headers.put("content-type", "application/json");
    headers.put("x-tenant", "acme");
    payload = Harness.payload(size);
    raw = Envelope.encode(headers, payload);
    Frame back = Envelope.decode(raw);
    if (!back.headers().equals(headers) || back.payload().length != size) {
      throw new IllegalStateException("the envelope did not round-trip: " + back);
    }
  }

  /** Headers and payload into one exactly-sized array, as every publish does. */
  @Benchmark
  public byte[] encode() {
    return Envelope.encode(headers, payload);
  }

  /** A received value back into headers and payload, as every received message does. */
  @Benchmark
  public Frame decode() {
    return Envelope.decode(raw);
  }
}
