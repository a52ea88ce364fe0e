package dev.brook.bench.reference;

import dev.brook.bench.Harness;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.async.RedisAsyncCommands;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.function.Consumer;

/**
 * An experiment for issue 21, not production code: the Lettuce loop's Pub/Sub scenarios with the
 * subscriber replaced by a blocking {@link Socket} and a minimal RESP2 parser, read — and the
 * handler run — on one thread of its own (a virtual thread; {@code -Dbrook.bench.raw.platform=true}
 * for a platform thread). The publisher is the Lettuce loop's, unchanged, so the difference to
 * {@link LettuceLoop} in the same run is what replacing Lettuce on the hot read path would buy:
 * Lettuce's event loop, its RESP3 push decoding and the hand-off to a worker against one read loop.
 *
 * <p>The parser knows exactly what a subscribed RESP2 connection sends ({@code *3 $message $channel
 * $payload}, and the subscribe confirmation); anything else ends the loop with an error. One
 * {@code byte[]} per message (the payload), nothing else allocated per message.
 *
 * <pre>
 * java -cp ... dev.brook.bench.reference.RawSocketPubSub redis://127.0.0.1:PORT pubsub 200000 100 3
 * </pre>
 */
public final class RawSocketPubSub {

  private static final String IMPL = "raw-socket";
  private static final List<String> SCENARIOS =
      List.of("pubsub", "latency-1k", "latency-10k", "consume-raw", "consume-lettuce");

  public static void main(String[] args) throws Exception {
    Reference.Args a = Reference.Args.parse(RawSocketPubSub.class, args, SCENARIOS);
    String impl = Boolean.getBoolean("brook.bench.raw.platform") ? IMPL + "-platform" : IMPL;
    switch (a.scenario()) {
      case "pubsub" -> a.messages(impl, RawSocketPubSub::pubsub);
      case "latency-1k" -> latency(a, impl, 1_000);
      case "latency-10k" -> latency(a, impl, 10_000);
      case "consume-raw", "consume-lettuce" -> consume(a);
      default -> throw new AssertionError(a.scenario());
    }
  }

  private static Harness.Run pubsub(String url, String channel, int n, int size) throws Exception {
    byte[] payload = Harness.payload(size);
    Reference.Delivery delivery = new Reference.Delivery(n);
    try (LettuceLoop.Client redis = new LettuceLoop.Client(url);
        RawSubscriber subscriber = new RawSubscriber(url, channel, message -> delivery.add(1))) {
      StatefulRedisConnection<String, byte[]> publisher = redis.connect();
      RedisAsyncCommands<String, byte[]> async = publisher.async();
      return Harness.measure(n, () -> {
        LettuceLoop.Pipeline pipeline = new LettuceLoop.Pipeline(publisher);
        for (int i = 0; i < n; i++) {
          pipeline.add(async.publish(channel, payload), 1);
        }
        pipeline.finish();
        return delivery.awaitLost(Reference.QUIET);
      });
    }
  }

  /**
   * The read path alone: subscribes to {@code bench-consume}, prints {@code READY}, and counts the
   * messages another process publishes there ({@code redis-benchmark -P 100 PUBLISH}); prints this
   * process's CPU per message from the first message to the n-th — the subscriber's whole cost,
   * with no publisher in the process to share it with.
   */
  private static void consume(Reference.Args a) throws Exception {
    java.util.concurrent.atomic.AtomicLong count = new java.util.concurrent.atomic.AtomicLong();
    java.util.concurrent.CountDownLatch first = new java.util.concurrent.CountDownLatch(1);
    java.util.concurrent.CountDownLatch all = new java.util.concurrent.CountDownLatch(1);
    long n = a.n();
    Consumer<byte[]> handler = message -> {
      long c = count.incrementAndGet();
      if (c == 1) {
        first.countDown();
      } else if (c == n) {
        all.countDown();
      }
    };
    String mode = a.scenario().substring("consume-".length());
    String impl = mode.equals("raw") && Boolean.getBoolean("brook.bench.raw.platform") ? "raw-platform" : mode;
    AutoCloseable subscriber;
    if (mode.equals("raw")) {
      subscriber = new RawSubscriber(a.url(), "bench-consume", handler);
    } else {
      LettuceLoop.Client client = new LettuceLoop.Client(a.url());
      client.subscribe((ch, message) -> handler.accept(message), "bench-consume");
      subscriber = client;
    }
    try (subscriber) {
      System.out.println("READY");
      first.await();
      long cpu0 = Harness.processCpuNanos();
      long switches0 = Harness.voluntarySwitches();
      long t0 = System.nanoTime();
      if (!all.await(120, java.util.concurrent.TimeUnit.SECONDS)) {
        throw new IllegalStateException("only " + count.get() + " of " + n + " messages arrived");
      }
      double seconds = (System.nanoTime() - t0) / 1e9;
      System.out.printf(java.util.Locale.ROOT, "CONSUME impl=%s n=%d msgs/s=%.0f cpu_us=%.2f switches=%.3f%n", impl, n,
          (n - 1) / seconds, (Harness.processCpuNanos() - cpu0) / 1e3 / (n - 1),
          (double) (Harness.voluntarySwitches() - switches0) / (n - 1));
    }
  }

  private static void latency(Reference.Args a, String impl, int perSecond) throws Exception {
    String channel = a.name(1);
    Reference.Latency latency = new Reference.Latency(a.n(), perSecond);
    try (LettuceLoop.Client redis = new LettuceLoop.Client(a.url());
        RawSubscriber subscriber = new RawSubscriber(a.url(), channel, latency::received)) {
      RedisAsyncCommands<String, byte[]> publisher = redis.connect().async();
      latency.run(impl, a.scenario(), a.size(), message -> publisher.publish(channel, message));
    }
  }

  /** One subscribed connection read by one thread, which also runs the handler. */
  static final class RawSubscriber implements AutoCloseable {
    private final Socket socket;
    private final InputStream in;
    private final byte[] buf = new byte[64 * 1024];
    private int pos;
    private int limit;
    private final Thread reader;
    private volatile boolean closing;

    RawSubscriber(String url, String channel, Consumer<byte[]> handler) throws IOException {
      URI uri = URI.create(url);
      socket = new Socket(uri.getHost(), uri.getPort());
      socket.setTcpNoDelay(true);
      in = socket.getInputStream();
      OutputStream out = socket.getOutputStream();
      byte[] name = channel.getBytes(StandardCharsets.UTF_8);
      out.write(("*2\r\n$9\r\nSUBSCRIBE\r\n$" + name.length + "\r\n").getBytes(StandardCharsets.US_ASCII));
      out.write(name);
      out.write("\r\n".getBytes(StandardCharsets.US_ASCII));
      out.flush();
      // *3 $9 subscribe $n channel :1
      expectArray(3);
      skipBulk();
      skipBulk();
      readInteger(':');
      Runnable loop = () -> {
        try {
          while (true) {
            expectArray(3);
            skipBulk(); // "message": the only push a connection subscribed to one channel gets
            skipBulk(); // the channel
            handler.accept(readBulk());
          }
        } catch (IOException e) {
          if (!closing) {
            System.err.println("raw subscriber: " + e);
          }
        }
      };
      reader = Boolean.getBoolean("brook.bench.raw.platform")
          ? Thread.ofPlatform().name("raw-subscriber").daemon(true).start(loop)
          : Thread.ofVirtual().name("raw-subscriber").start(loop);
    }

    private int read() throws IOException {
      if (pos == limit) {
        limit = in.read(buf, 0, buf.length);
        pos = 0;
        if (limit <= 0) {
          limit = 0;
          throw new EOFException("connection closed");
        }
      }
      return buf[pos++];
    }

    /** A RESP integer line after its type byte {@code type}, through the CRLF. */
    private long readInteger(char type) throws IOException {
      int t = read();
      if (t != type) {
        throw new IOException("expected '" + type + "', got '" + (char) t + "'");
      }
      long v = 0;
      boolean negative = false;
      for (int c; (c = read()) != '\r'; ) {
        if (c == '-') {
          negative = true;
        } else {
          v = v * 10 + (c - '0');
        }
      }
      read(); // \n
      return negative ? -v : v;
    }

    private void expectArray(int n) throws IOException {
      long got = readInteger('*');
      if (got != n) {
        throw new IOException("expected an array of " + n + ", got " + got);
      }
    }

    private void skipBulk() throws IOException {
      long len = readInteger('$');
      for (long left = len + 2; left > 0; ) { // the bytes and their CRLF
        if (pos == limit) {
          read();
          left--;
          continue;
        }
        int k = (int) Math.min(left, limit - pos);
        pos += k;
        left -= k;
      }
    }

    private byte[] readBulk() throws IOException {
      int len = (int) readInteger('$');
      byte[] out = new byte[len];
      int done = 0;
      while (done < len) {
        if (pos == limit) {
          out[done++] = (byte) read();
          continue;
        }
        int k = Math.min(len - done, limit - pos);
        System.arraycopy(buf, pos, out, done, k);
        pos += k;
        done += k;
      }
      read(); // \r
      read(); // \n
      return out;
    }

    @Override
    public void close() throws Exception {
      closing = true;
      socket.close();
      reader.join(5_000);
    }
  }

  private RawSocketPubSub() {}
}
