package dev.brook.bench.reference;

import dev.brook.bench.Harness;
import dev.brook.bench.reference.Reference.Args;
import dev.brook.bench.reference.Reference.Delivery;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.LinkedTransferQueue;
import java.util.function.Consumer;
import org.springframework.data.redis.connection.RedisConnection;
import org.springframework.data.redis.connection.lettuce.LettuceConnection.PipeliningFlushPolicy;
import org.springframework.data.redis.connection.lettuce.LettuceConnectionFactory;
import org.springframework.data.redis.connection.stream.MapRecord;
import org.springframework.data.redis.connection.stream.ReadOffset;
import org.springframework.data.redis.connection.stream.StreamOffset;
import org.springframework.data.redis.core.RedisCallback;
import org.springframework.data.redis.core.RedisTemplate;
import org.springframework.data.redis.listener.ChannelTopic;
import org.springframework.data.redis.listener.RedisMessageListenerContainer;
import org.springframework.data.redis.serializer.RedisSerializer;
import org.springframework.data.redis.stream.StreamMessageListenerContainer;
import org.springframework.data.redis.stream.StreamMessageListenerContainer.StreamMessageListenerContainerOptions;
import org.springframework.data.redis.stream.Subscription;

/**
 * Reference implementation, not a product path: Brook's benchmark scenarios written the way a
 * typical Spring Data Redis user would ({@link LettuceConnectionFactory}, {@link RedisTemplate},
 * {@link RedisMessageListenerContainer}, {@link StreamMessageListenerContainer}), so {@code
 * benchmarks/run.sh} can report Brook as a ratio to it. Each run uses fresh names and its own
 * connection factory (destroyed after the run) and deletes its keys.
 *
 * <ul>
 *   <li>{@code pubsub}: {@code executePipelined} PUBLISH, 1,000 per pipeline, flushed every 100
 *       ({@link PipeliningFlushPolicy#buffered}); one {@link RedisMessageListenerContainer} listener.
 *   <li>{@code stream-group}: {@code executePipelined} XADD (same chunks); a
 *       {@link StreamMessageListenerContainer} with {@code batchSize(100)} and {@code receive(Consumer,
 *       lastConsumed, listener)}, the listener acknowledging each record with
 *       {@code opsForStream().acknowledge} (manual ack: {@code receiveAutoAck} reads with NOACK,
 *       which never enters the pending list and so is not the same reliable work).
 *   <li>{@code ping-pong}: two listener containers, {@code convertAndSend} both ways.
 *   <li>{@code latency-1k}, {@code latency-10k}: paced {@code convertAndSend}, see {@link Reference.Latency}.
 *   <li>{@code list-batch}, {@code request-reply}: Spring Data Redis has no list listener and no
 *       Pub/Sub request-reply; these print a {@code SKIP} line.
 * </ul>
 *
 * <p>Listener containers keep Spring's default task executor (a new thread per message,
 * {@code SimpleAsyncTaskExecutor}), as a user who does not configure one gets; run with
 * {@code -Dbrook.bench.spring.executor=single} to give each container one listener thread instead
 * (the tuned setup; much faster for Pub/Sub).
 *
 * <pre>
 * java -cp "$(cat benchmarks/target/classpath.txt):benchmarks/target/classes" dev.brook.bench.reference.SpringDataRedis \
 *     redis://127.0.0.1:PORT pubsub 200000 100 3
 * </pre>
 */
public final class SpringDataRedis {

  private static final String IMPL = "spring";
  private static final List<String> SCENARIOS =
      List.of("pubsub", "list-batch", "stream-group", "ping-pong", "request-reply", "latency-1k", "latency-10k");
  /** Messages per {@code executePipelined} call; the factory flushes every {@link Reference#BATCH}. */
  private static final int PIPELINE = 1_000;
  private static final String GROUP = "g";
  private static final byte[] FIELD = "d".getBytes(StandardCharsets.UTF_8);

  public static void main(String[] args) throws Exception {
    Args a = Args.parse(SpringDataRedis.class, args, SCENARIOS);
    switch (a.scenario()) {
      case "pubsub" -> a.messages(IMPL, SpringDataRedis::pubsub);
      case "list-batch" -> System.out.println("SKIP spring list-batch: no list listener in Spring Data Redis");
      case "stream-group" -> a.messages(IMPL, SpringDataRedis::streamGroup);
      case "ping-pong" -> a.roundTrips(IMPL, SpringDataRedis::pingPong);
      case "request-reply" -> System.out.println("SKIP spring request-reply: no Pub/Sub request-reply in Spring Data Redis");
      case "latency-1k" -> latency(a, 1_000);
      case "latency-10k" -> latency(a, 10_000);
      default -> throw new AssertionError(a.scenario());
    }
  }

  private static Harness.Run pubsub(String url, String channel, int n, int size) throws Exception {
    byte[] payload = Harness.payload(size);
    byte[] rawChannel = channel.getBytes(StandardCharsets.UTF_8);
    try (Spring spring = new Spring(url)) {
      Delivery delivery = new Delivery(n);
      spring.listen(channel, message -> delivery.add(1));
      return Harness.measure(n, () -> {
        pipelined(spring.template, n, connection -> connection.publish(rawChannel, payload));
        return delivery.awaitLost(Reference.QUIET);
      });
    }
  }

  private static Harness.Run streamGroup(String url, String key, int n, int size) throws Exception {
    byte[] rawKey = key.getBytes(StandardCharsets.UTF_8);
    MapRecord<byte[], byte[], byte[]> record = MapRecord.create(rawKey, Map.of(FIELD, Harness.payload(size)));
    try (Spring spring = new Spring(url)) {
      spring.template.execute((RedisCallback<?>) c -> c.streamCommands().xGroupCreate(rawKey, GROUP, ReadOffset.from("0"), true));
      StreamMessageListenerContainerOptions<String, MapRecord<String, String, byte[]>> options = StreamMessageListenerContainerOptions
          .builder().batchSize(Reference.BATCH).pollTimeout(Duration.ofSeconds(1)).<String, byte[]>hashValueSerializer(RedisSerializer.byteArray())
          .build();
      var container = StreamMessageListenerContainer.create(spring.factory, options);
      spring.closeFirst(container::stop);
      Delivery delivery = new Delivery(n);
      Subscription subscription = container.receive(org.springframework.data.redis.connection.stream.Consumer.from(GROUP, "c"),
          StreamOffset.create(key, ReadOffset.lastConsumed()), message -> {
            spring.template.opsForStream().acknowledge(key, GROUP, message.getId());
            delivery.add(1);
          });
      container.start();
      Harness.Run run = Harness.measure(n, () -> {
        pipelined(spring.template, n, connection -> connection.streamCommands().xAdd(record));
        delivery.awaitAll();
        long pending = spring.template.opsForStream().pending(key, GROUP).getTotalPendingMessages();
        if (pending != 0) {
          throw new IllegalStateException(pending + " entries still pending in " + key);
        }
        return 0;
      });
      subscription.cancel();
      for (long end = System.nanoTime() + Duration.ofSeconds(5).toNanos(); subscription.isActive() && System.nanoTime() < end; ) {
        Thread.sleep(10); // the poll loop ends once its blocked XREADGROUP returns (pollTimeout)
      }
      container.stop();
      spring.template.delete(key);
      return run;
    }
  }

  private static Harness.Run pingPong(String url, String name, int n, int size) throws Exception {
    byte[] payload = Harness.payload(size);
    String ping = name + ":ping";
    String pong = name + ":pong";
    try (Spring spring = new Spring(url)) {
      spring.listen(ping, body -> spring.template.convertAndSend(pong, body));
      BlockingQueue<byte[]> replies = new LinkedTransferQueue<>();
      spring.listen(pong, replies::add);
      return Harness.measure(n, () -> Reference.roundTrips(n, () -> spring.template.convertAndSend(ping, payload), replies));
    }
  }

  private static void latency(Args a, int perSecond) throws Exception {
    String channel = a.name(1);
    try (Spring spring = new Spring(a.url())) {
      Reference.Latency latency = new Reference.Latency(a.n(), perSecond);
      spring.listen(channel, latency::received);
      latency.run(IMPL, a.scenario(), a.size(), message -> spring.template.convertAndSend(channel, message));
    }
  }

  /** Sends {@code n} commands in {@code executePipelined} chunks of {@link #PIPELINE}. */
  private static void pipelined(RedisTemplate<String, byte[]> template, int n, Consumer<RedisConnection> command) {
    for (int sent = 0; sent < n; sent += PIPELINE) {
      int count = Math.min(PIPELINE, n - sent);
      template.executePipelined((RedisCallback<?>) connection -> {
        for (int i = 0; i < count; i++) {
          command.accept(connection);
        }
        return null;
      });
    }
  }

  /** One connection factory, template and the listener containers of a run; closing destroys them all. */
  private static final class Spring implements AutoCloseable {
    final LettuceConnectionFactory factory;
    final RedisTemplate<String, byte[]> template = new RedisTemplate<>();
    private final List<AutoCloseable> closers = new ArrayList<>();

    Spring(String url) {
      factory = new LettuceConnectionFactory(LettuceConnectionFactory.createRedisConfiguration(url));
      factory.setPipeliningFlushPolicy(PipeliningFlushPolicy.buffered(Reference.BATCH));
      factory.afterPropertiesSet();
      factory.start();
      template.setConnectionFactory(factory);
      template.setKeySerializer(RedisSerializer.string());
      template.setValueSerializer(RedisSerializer.byteArray());
      template.setHashKeySerializer(RedisSerializer.string());
      template.setHashValueSerializer(RedisSerializer.byteArray());
      template.afterPropertiesSet();
    }

    /** A listener container on {@code channel}; returns once subscribed. */
    void listen(String channel, Consumer<byte[]> listener) throws Exception {
      RedisMessageListenerContainer container = new RedisMessageListenerContainer();
      container.setConnectionFactory(factory);
      if ("single".equals(System.getProperty("brook.bench.spring.executor"))) {
        ExecutorService executor = Executors.newSingleThreadExecutor();
        closeFirst(executor::close);
        container.setTaskExecutor(executor);
      }
      container.addMessageListener((message, pattern) -> listener.accept(message.getBody()), new ChannelTopic(channel));
      container.afterPropertiesSet();
      closeFirst(container::destroy);
      container.start(); // waits for the subscription (maxSubscriptionRegistrationWaitingTime)
    }

    void closeFirst(AutoCloseable closer) {
      closers.addFirst(closer);
    }

    @Override
    public void close() throws Exception {
      for (AutoCloseable closer : closers) {
        closer.close();
      }
      factory.destroy();
    }
  }

  private SpringDataRedis() {}
}
