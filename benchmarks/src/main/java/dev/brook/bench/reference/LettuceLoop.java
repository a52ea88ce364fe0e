package dev.brook.bench.reference;

import static dev.brook.bench.reference.Reference.BATCH;

import dev.brook.bench.Harness;
import dev.brook.bench.reference.Reference.Args;
import dev.brook.bench.reference.Reference.Delivery;
import io.lettuce.core.Consumer;
import io.lettuce.core.LMoveArgs;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisFuture;
import io.lettuce.core.StreamMessage;
import io.lettuce.core.XGroupCreateArgs;
import io.lettuce.core.XReadArgs;
import io.lettuce.core.XReadArgs.StreamOffset;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.async.RedisAsyncCommands;
import io.lettuce.core.api.sync.RedisCommands;
import io.lettuce.core.codec.ByteArrayCodec;
import io.lettuce.core.codec.RedisCodec;
import io.lettuce.core.codec.StringCodec;
import io.lettuce.core.pubsub.RedisPubSubAdapter;
import io.lettuce.core.pubsub.StatefulRedisPubSubConnection;
import io.lettuce.core.resource.ClientResources;
import io.lettuce.core.resource.DefaultClientResources;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.LinkedTransferQueue;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.function.BiConsumer;

/**
 * Reference implementation, not a product path: Brook's benchmark scenarios hand-written on the
 * Lettuce client with no framework (no envelope, no headers, no dispatch), so {@code
 * benchmarks/run.sh} can report Brook as a ratio to "what you would write yourself". Each run
 * uses fresh names, its own client and {@link ClientResources}, and deletes its keys.
 *
 * <ul>
 *   <li>{@code pubsub}: n PUBLISH, pipelined (flush per 100, about 1,000-2,000 unanswered), one
 *       subscriber; from first publish to last delivery; Pub/Sub losses are reported as {@code lost}.
 *   <li>{@code list-batch}: RPUSH of 100 per command; reliable consumer: BLMOVE (or LMOVE when the
 *       last batch was full) plus pipelined LMOVEs to a processing list, then pipelined LREM acks.
 *   <li>{@code stream-group}: pipelined XADD; XREADGROUP COUNT 100 BLOCK 1000, one XACK per batch.
 *   <li>{@code ping-pong}, {@code request-reply}: one message in flight over Pub/Sub; the second
 *       carries a correlation id and reply channel.
 *   <li>{@code latency-1k}, {@code latency-10k}: paced Pub/Sub, see {@link Reference.Latency}.
 * </ul>
 *
 * <pre>
 * java -cp "$(cat benchmarks/target/classpath.txt):benchmarks/target/classes" dev.brook.bench.reference.LettuceLoop \
 *     redis://127.0.0.1:PORT pubsub 200000 100 3
 * </pre>
 */
public final class LettuceLoop {

  private static final String IMPL = "lettuce";
  private static final List<String> SCENARIOS =
      List.of("pubsub", "list-batch", "stream-group", "ping-pong", "request-reply", "latency-1k", "latency-10k");
  private static final RedisCodec<String, byte[]> CODEC = RedisCodec.of(StringCodec.UTF8, ByteArrayCodec.INSTANCE);
  /** Pipelined producers wait for the replies of the previous window every this many messages. */
  private static final int WINDOW = 1_000;
  private static final String GROUP = "g";

  public static void main(String[] args) throws Exception {
    Args a = Args.parse(LettuceLoop.class, args, SCENARIOS);
    switch (a.scenario()) {
      case "pubsub" -> a.messages(IMPL, LettuceLoop::pubsub);
      case "list-batch" -> a.messages(IMPL, LettuceLoop::listBatch);
      case "stream-group" -> a.messages(IMPL, LettuceLoop::streamGroup);
      case "ping-pong" -> a.roundTrips(IMPL, LettuceLoop::pingPong);
      case "request-reply" -> a.roundTrips(IMPL, LettuceLoop::requestReply);
      case "latency-1k" -> latency(a, 1_000);
      case "latency-10k" -> latency(a, 10_000);
      default -> throw new AssertionError(a.scenario());
    }
  }

  private static Harness.Run pubsub(String url, String channel, int n, int size) throws Exception {
    byte[] payload = Harness.payload(size);
    try (Client redis = new Client(url)) {
      Delivery delivery = new Delivery(n);
      redis.subscribe((ch, message) -> delivery.add(1), channel);
      StatefulRedisConnection<String, byte[]> publisher = redis.connect();
      RedisAsyncCommands<String, byte[]> async = publisher.async();
      return Harness.measure(n, () -> {
        Pipeline pipeline = new Pipeline(publisher);
        for (int i = 0; i < n; i++) {
          pipeline.add(async.publish(channel, payload), 1);
        }
        pipeline.finish();
        return delivery.awaitLost(Reference.QUIET);
      });
    }
  }

  private static Harness.Run listBatch(String url, String source, int n, int size) throws Exception {
    String processing = source + ":processing";
    byte[][] full = new byte[BATCH][];
    Arrays.fill(full, Harness.payload(size));
    try (Client redis = new Client(url)) {
      StatefulRedisConnection<String, byte[]> producer = redis.connect();
      StatefulRedisConnection<String, byte[]> consumer = redis.connect();
      Harness.Run run = Harness.measure(n, () -> {
        Reference.concurrently(() -> {
          Pipeline pipeline = new Pipeline(producer);
          for (int sent = 0; sent < n; sent += BATCH) {
            int count = Math.min(BATCH, n - sent);
            pipeline.add(producer.async().rpush(source, count == BATCH ? full : Arrays.copyOf(full, count)), count);
          }
          pipeline.finish();
          return null;
        }, () -> consumeList(consumer, source, processing, n));
        long left = consumer.sync().llen(processing);
        if (left != 0) {
          throw new IllegalStateException(left + " items left in " + processing);
        }
        return 0;
      });
      producer.sync().del(source, processing);
      return run;
    }
  }

  /** The reliable list consumer: move a batch to the processing list, handle it, ack by LREM. */
  private static Void consumeList(StatefulRedisConnection<String, byte[]> connection, String source, String processing, int n)
      throws Exception {
    RedisAsyncCommands<String, byte[]> redis = connection.async();
    LMoveArgs rightLeft = LMoveArgs.Builder.rightLeft();
    List<byte[]> batch = new ArrayList<>(BATCH);
    List<RedisFuture<byte[]>> moves = new ArrayList<>(BATCH);
    List<RedisFuture<Long>> acks = new ArrayList<>(BATCH);
    connection.setAutoFlushCommands(false);
    long handled = 0;
    long progress = System.nanoTime();
    boolean waiting = false; // the last batch was full, so more items are probably waiting: skip the blocking call
    while (handled < n) {
      batch.clear();
      if (!waiting) {
        RedisFuture<byte[]> first = redis.blmove(source, processing, rightLeft, 1.0);
        connection.flushCommands();
        byte[] item = first.get();
        if (item == null) {
          Reference.checkStall(progress, handled, n);
          continue;
        }
        batch.add(item);
      }
      moves.clear();
      for (int i = batch.size(); i < BATCH; i++) {
        moves.add(redis.lmove(source, processing, rightLeft));
      }
      connection.flushCommands();
      for (RedisFuture<byte[]> move : moves) {
        byte[] item = move.get();
        if (item != null) {
          batch.add(item);
        }
      }
      handled += batch.size(); // "handling" is counting
      acks.clear();
      for (byte[] item : batch) {
        acks.add(redis.lrem(processing, 1, item));
      }
      connection.flushCommands();
      for (RedisFuture<Long> ack : acks) {
        ack.get();
      }
      waiting = batch.size() == BATCH;
      if (!batch.isEmpty()) {
        progress = System.nanoTime();
      }
    }
    connection.setAutoFlushCommands(true);
    return null;
  }

  private static Harness.Run streamGroup(String url, String key, int n, int size) throws Exception {
    Map<String, byte[]> body = Map.of("d", Harness.payload(size));
    try (Client redis = new Client(url)) {
      StatefulRedisConnection<String, byte[]> producer = redis.connect();
      RedisCommands<String, byte[]> consumer = redis.connect().sync();
      consumer.xgroupCreate(StreamOffset.from(key, "0"), GROUP, XGroupCreateArgs.Builder.mkstream());
      Harness.Run run = Harness.measure(n, () -> {
        Reference.concurrently(() -> {
          Pipeline pipeline = new Pipeline(producer);
          for (int i = 0; i < n; i++) {
            pipeline.add(producer.async().xadd(key, body), 1);
          }
          pipeline.finish();
          return null;
        }, () -> consumeStream(consumer, key, n));
        long pending = consumer.xpending(key, GROUP).getCount();
        if (pending != 0) {
          throw new IllegalStateException(pending + " entries still pending in " + key);
        }
        return 0;
      });
      consumer.del(key);
      return run;
    }
  }

  private static Void consumeStream(RedisCommands<String, byte[]> redis, String key, int n) {
    Consumer<String> consumer = Consumer.from(GROUP, "c");
    XReadArgs read = XReadArgs.Builder.count(BATCH).block(1_000);
    StreamOffset<String> offset = StreamOffset.lastConsumed(key);
    long handled = 0;
    long progress = System.nanoTime();
    while (handled < n) {
      List<StreamMessage<String, byte[]>> batch = redis.xreadgroup(consumer, read, offset);
      if (batch.isEmpty()) {
        Reference.checkStall(progress, handled, n);
        continue;
      }
      handled += batch.size(); // "handling" is counting
      redis.xack(key, GROUP, batch.stream().map(StreamMessage::getId).toArray(String[]::new));
      progress = System.nanoTime();
    }
    return null;
  }

  private static Harness.Run pingPong(String url, String name, int n, int size) throws Exception {
    byte[] payload = Harness.payload(size);
    String ping = name + ":ping";
    String pong = name + ":pong";
    try (Client redis = new Client(url)) {
      RedisAsyncCommands<String, byte[]> server = redis.connect().async();
      redis.subscribe((ch, message) -> server.publish(pong, message), ping);
      BlockingQueue<byte[]> replies = new LinkedTransferQueue<>();
      redis.subscribe((ch, message) -> replies.add(message), pong);
      RedisAsyncCommands<String, byte[]> client = redis.connect().async();
      return Harness.measure(n, () -> Reference.roundTrips(n, () -> client.publish(ping, payload), replies));
    }
  }

  /** Request: 16-byte id, 2-byte reply-channel length, reply channel, payload. Reply: id, payload. */
  private static Harness.Run requestReply(String url, String name, int n, int size) throws Exception {
    byte[] payload = Harness.payload(size);
    String requests = name + ":requests";
    byte[] replyTo = (name + ":replies").getBytes(StandardCharsets.UTF_8);
    try (Client redis = new Client(url)) {
      RedisAsyncCommands<String, byte[]> server = redis.connect().async();
      redis.subscribe((ch, message) -> {
        ByteBuffer request = ByteBuffer.wrap(message);
        long high = request.getLong();
        long low = request.getLong();
        byte[] channel = new byte[request.getShort()];
        request.get(channel);
        ByteBuffer reply = ByteBuffer.allocate(16 + request.remaining()).putLong(high).putLong(low).put(request);
        server.publish(new String(channel, StandardCharsets.UTF_8), reply.array());
      }, requests);
      Map<UUID, CompletableFuture<byte[]>> pending = new ConcurrentHashMap<>();
      redis.subscribe((ch, message) -> {
        ByteBuffer reply = ByteBuffer.wrap(message);
        CompletableFuture<byte[]> waiter = pending.remove(new UUID(reply.getLong(), reply.getLong()));
        if (waiter != null) {
          waiter.complete(Arrays.copyOfRange(message, 16, message.length));
        }
      }, new String(replyTo, StandardCharsets.UTF_8));
      RedisAsyncCommands<String, byte[]> client = redis.connect().async();
      long clientId = ThreadLocalRandom.current().nextLong();
      return Harness.measure(n, () -> {
        for (int i = 0; i < n; i++) {
          UUID id = new UUID(clientId, i);
          CompletableFuture<byte[]> reply = new CompletableFuture<>();
          pending.put(id, reply);
          byte[] request = ByteBuffer.allocate(16 + 2 + replyTo.length + payload.length).putLong(clientId).putLong(i)
              .putShort((short) replyTo.length).put(replyTo).put(payload).array();
          client.publish(requests, request);
          reply.get(Reference.REPLY_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
        }
        return 0;
      });
    }
  }

  private static void latency(Args a, int perSecond) throws Exception {
    String channel = a.name(1);
    try (Client redis = new Client(a.url())) {
      Reference.Latency latency = new Reference.Latency(a.n(), perSecond);
      redis.subscribe((ch, message) -> latency.received(message), channel);
      RedisAsyncCommands<String, byte[]> publisher = redis.connect().async();
      latency.run(IMPL, a.scenario(), a.size(), message -> publisher.publish(channel, message));
    }
  }

  /** One client with its own resources; closing it closes every connection it opened. */
  static final class Client implements AutoCloseable {
    private final ClientResources resources = DefaultClientResources.create();
    private final RedisClient client;

    Client(String url) {
      client = RedisClient.create(resources, url);
      if (Boolean.getBoolean("brook.bench.resp2")) {
        // Issue 21: Lettuce decodes a RESP3 push twice; RESP2 Pub/Sub messages once.
        client.setOptions(io.lettuce.core.ClientOptions.builder().protocolVersion(io.lettuce.core.protocol.ProtocolVersion.RESP2).build());
      }
    }

    StatefulRedisConnection<String, byte[]> connect() {
      return client.connect(CODEC);
    }

    /** A dedicated subscriber connection; returns once Redis confirmed the subscription. */
    void subscribe(BiConsumer<String, byte[]> listener, String channel) {
      StatefulRedisPubSubConnection<String, byte[]> connection = client.connectPubSub(CODEC);
      connection.addListener(new RedisPubSubAdapter<>() {
        @Override
        public void message(String ch, byte[] message) {
          listener.accept(ch, message);
        }
      });
      connection.sync().subscribe(channel);
    }

    @Override
    public void close() throws Exception {
      client.shutdown();
      resources.shutdown().get();
    }
  }

  /** Pipelined sending: flushes every 100 messages and keeps at most about 2 x {@link #WINDOW} unanswered. */
  static final class Pipeline {
    private final StatefulRedisConnection<String, byte[]> connection;
    private int unflushed;
    private int sinceMark;
    private RedisFuture<?> mark;
    private RedisFuture<?> last;

    Pipeline(StatefulRedisConnection<String, byte[]> connection) {
      this.connection = connection;
      connection.setAutoFlushCommands(false);
    }

    void add(RedisFuture<?> command, int messages) throws Exception {
      last = command;
      unflushed += messages;
      sinceMark += messages;
      if (unflushed >= BATCH || sinceMark >= WINDOW) {
        connection.flushCommands();
        unflushed = 0;
      }
      if (sinceMark >= WINDOW) {
        if (mark != null) {
          mark.get(); // replies come in order: the whole previous window is answered
        }
        mark = command;
        sinceMark = 0;
      }
    }

    void finish() throws Exception {
      connection.flushCommands();
      if (last != null) {
        last.get();
      }
      connection.setAutoFlushCommands(true);
    }
  }

  private LettuceLoop() {}
}
