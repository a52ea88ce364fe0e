package dev.brook.bench.jmh;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.ObjectReader;
import dev.brook.bench.Harness;
import dev.brook.internal.Codec;
import dev.brook.spi.Frame;
import dev.brook.internal.Ids;
import java.io.IOException;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Brook's payload codec ({@link Codec}) on its own: {@code encode} turns a publish's payload into a
 * {@link Frame} (body bytes plus Brook's headers: a fresh {@code correlation_id}, the {@code
 * content-type}, the caller's headers); a subscription's {@link Codec.Decoder}, resolved once at
 * registration, turns a received frame into the handler's declared type.
 *
 * <p>Three payload kinds, as {@link Codec} treats them: a small record through Jackson, a {@code
 * String} as UTF-8 text and a {@code byte[]} passed through. The {@code jackson*} baselines are
 * the same mapper called directly, and {@code uuid} is the correlation id alone, so what Brook adds
 * around Jackson (the header map, the id, the frame) reads as the difference.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Fork(1)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
public class CodecBenchmark {

  private Codec codec;
  private ObjectMapper mapper;
  private ObjectReader orderReader;
  private final Map<String, String> headers = Map.of("x-tenant", "acme");
  private final String text = new String(Harness.payload(100), java.nio.charset.StandardCharsets.US_ASCII);
  private final byte[] bytes = Harness.payload(100);

  private Codec.Decoder orderDecoder;
  private Codec.Decoder stringDecoder;
  private Codec.Decoder bytesDecoder;
  private Frame orderFrame;
  private Frame stringFrame;
  private Frame bytesFrame;
  private byte[] orderJson;
  private tools.jackson.databind.json.JsonMapper mapper3;
  private tools.jackson.databind.ObjectReader orderReader3;

  @Setup
  public void setUp() throws IOException {
    mapper = Codec.defaultMapper();
    codec = new Codec(mapper);
    orderReader = mapper.readerFor(Order.class);
    orderDecoder = codec.decoderFor(Order.class);
    stringDecoder = codec.decoderFor(String.class);
    bytesDecoder = codec.decoderFor(byte[].class);
    orderFrame = codec.encode(Order.SAMPLE, headers);
    stringFrame = codec.encode(text, headers);
    bytesFrame = codec.encode(bytes, headers);
    orderJson = mapper.writeValueAsBytes(Order.SAMPLE);
    mapper3 = tools.jackson.databind.json.JsonMapper.builder().build();
    orderReader3 = mapper3.readerFor(Order.class);
    if (!java.util.Arrays.equals(orderJson, mapper3.writeValueAsBytes(Order.SAMPLE))) {
      throw new IllegalStateException("Jackson 2 and 3 write the record differently");
    }
    if (!Order.SAMPLE.equals(orderDecoder.decode(orderFrame)) || !text.equals(stringDecoder.decode(stringFrame))) {
      throw new IllegalStateException("the codec did not round-trip");
    }
  }

  /** A record to JSON, plus Brook's headers. */
  @Benchmark
  public Frame encodeRecord() {
    return codec.encode(Order.SAMPLE, headers);
  }

  /** JSON to the record, through the decoder a subscription resolved at registration. */
  @Benchmark
  public Object decodeRecord() throws IOException {
    return orderDecoder.decode(orderFrame);
  }

  /** 100 ASCII characters as UTF-8, plus Brook's headers. */
  @Benchmark
  public Frame encodeString() {
    return codec.encode(text, headers);
  }

  /** 100 bytes of {@code text/plain} to a String. */
  @Benchmark
  public Object decodeString() throws IOException {
    return stringDecoder.decode(stringFrame);
  }

  /** 100 bytes passed through, plus Brook's headers. */
  @Benchmark
  public Frame encodeBytes() {
    return codec.encode(bytes, headers);
  }

  /** 100 bytes passed through. */
  @Benchmark
  public Object decodeBytes() throws IOException {
    return bytesDecoder.decode(bytesFrame);
  }

  /** Baseline: the same mapper writing the record, nothing else. */
  @Benchmark
  public byte[] jacksonWrite() throws IOException {
    return mapper.writeValueAsBytes(Order.SAMPLE);
  }

  /** Baseline: the same mapper reading the record, nothing else. */
  @Benchmark
  public Object jacksonRead() throws IOException {
    return orderReader.readValue(orderJson);
  }

  /** Jackson 3 (Spring Boot 4's default) writing the record: what a Jackson 3 codec would cost instead of {@link #jacksonWrite}. */
  @Benchmark
  public byte[] jackson3Write() {
    return mapper3.writeValueAsBytes(Order.SAMPLE);
  }

  /** Jackson 3 reading the record: against {@link #jacksonRead}. */
  @Benchmark
  public Object jackson3Read() {
    return orderReader3.readValue(orderJson);
  }

  /** Baseline: the correlation id {@code encode} makes for each message that has none. */
  @Benchmark
  public String uuid() {
    return Ids.uuid();
  }
}
