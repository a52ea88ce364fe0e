package dev.brook.tests;

import static dev.brook.redis.Redis.channel;
import static org.assertj.core.api.Assertions.assertThat;

import dev.brook.redis.RedisBroker;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import io.lettuce.core.codec.ByteArrayCodec;
import io.lettuce.core.pubsub.RedisPubSubAdapter;
import io.lettuce.core.pubsub.StatefulRedisPubSubConnection;
import java.util.HexFormat;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** What Brook puts on the wire, and what it makes of values other tools put there. */
class WireFormatTest extends RedisTestBase {

  /** The {@code reply-and-user} vector of shared/vectors/envelope.json, which FastStream's encoder also produces. */
  private static final String REPLY_AND_USER_HEX = "8942494e0d0a1a0a0001000000120000006e0004000e636f7272656c6174696f6e5f696400057265712d31000c636f6e74656e742d74797065000a746578742f706c61696e00087265706c795f746f000f62726f6f6b2e7265706c792e616263000674656e616e74000461636d6570696e67";

  @Test
  void publishWritesTheExactEnvelopeBytes() throws Exception {
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
    sub.sync().subscribe(utf8("wire"));

    RedisBroker broker = broker();
    var headers = new java.util.LinkedHashMap<String, String>();
    headers.put("correlation_id", "req-1");
    headers.put("reply_to", "brook.reply.abc");
    headers.put("tenant", "acme");
    broker.publish("ping", channel("wire"), headers);

    byte[] bytes = received.poll(5, TimeUnit.SECONDS);
    assertThat(bytes).isNotNull();
    assertThat(HexFormat.of().formatHex(bytes)).isEqualTo(REPLY_AND_USER_HEX);
  }

  private Calls<byte[]> rawRecorder(RedisBroker broker) {
    Calls<byte[]> recorder = new Calls<>();
    broker.subscriber(channel("in")).handle(byte[].class, recorder);
    broker.start();
    return recorder;
  }

  @Test
  void binaryEnvelopeBuiltByHandIsDecoded() {
    RedisBroker broker = broker();
    Calls<byte[]> recorder = rawRecorder(broker);
    raw().sync().publish(utf8("in"), HexFormat.of().parseHex(REPLY_AND_USER_HEX));
    var call = recorder.awaitOne();
    assertThat(call.payload()).isEqualTo(utf8("ping"));
    assertThat(call.context().headers()).containsExactly(
        Map.entry("correlation_id", "req-1"), Map.entry("content-type", "text/plain"),
        Map.entry("reply_to", "brook.reply.abc"), Map.entry("tenant", "acme"));
  }

  @Test
  void jsonEnvelopeIsDecoded() {
    RedisBroker broker = broker();
    Calls<String> recorder = new Calls<>();
    broker.subscriber(channel("in")).handle(String.class, recorder);
    broker.start();
    raw().sync().publish(utf8("in"), utf8("{\"data\": \"{\\\"id\\\": 7}\", \"headers\": {\"correlation_id\": \"j-1\", \"content-type\": \"text/plain\"}}"));
    var call = recorder.awaitOne();
    assertThat(call.payload()).isEqualTo("{\"id\": 7}");
    assertThat(call.context().correlationId()).isEqualTo("j-1");
  }

  @Test
  void plainPublishIsTheRawPayload() {
    RedisBroker broker = broker();
    Calls<byte[]> recorder = rawRecorder(broker);
    raw().sync().publish(utf8("in"), utf8("plain text from redis-cli"));
    var call = recorder.awaitOne();
    assertThat(new String(call.payload())).isEqualTo("plain text from redis-cli");
    assertThat(call.context().headers()).isEmpty();
    assertThat(call.context().messageId()).isNotBlank();
  }

  @Test
  void jsonWithDataButNoHeadersIsUnwrappedAsFastStreamDoes() {
    RedisBroker broker = broker();
    Calls<byte[]> recorder = rawRecorder(broker);
    raw().sync().publish(utf8("in"), utf8("{\"data\": \"x\", \"kind\": \"event\"}"));
    var call = recorder.awaitOne();
    assertThat(new String(call.payload())).isEqualTo("x");
    assertThat(call.context().headers()).isEmpty();
  }

  record Order(long id, String item, java.util.List<String> tags) {}

  @Test
  void aRecordHandlerDecodesJsonPublishedByAnotherTool() {
    RedisBroker broker = broker();
    Calls<Order> recorder = new Calls<>();
    broker.subscriber(channel("in")).handle(Order.class, recorder);
    broker.start();
    raw().sync().publish(utf8("in"), utf8("{\"id\": 5, \"item\": \"cup\", \"tags\": [], \"extra\": true}"));
    assertThat(recorder.awaitOne().payload()).isEqualTo(new Order(5, "cup", java.util.List.of()));
  }
}
