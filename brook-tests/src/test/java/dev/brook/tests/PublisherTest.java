package dev.brook.tests;

import static dev.brook.redis.Redis.channel;
import static dev.brook.redis.Redis.list;
import static org.assertj.core.api.Assertions.assertThat;

import dev.brook.Publisher;
import dev.brook.redis.RedisBroker;
import dev.brook.redis.internal.Envelope;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** broker.publisher(destination): reusable, default headers, every way to send. */
class PublisherTest extends RedisTestBase {

  record Receipt(long orderId) {}

  @Test
  void defaultHeadersComeFirstAndPerCallHeadersWin() {
    RedisBroker broker = broker();
    Calls<Receipt> recorder = new Calls<>();
    broker.subscriber(channel("receipts")).handle(Receipt.class, recorder);
    broker.start();
    Publisher receipts = broker.publisher(channel("receipts")).withHeaders(Map.of("source", "billing")).withHeader("v", "1");

    receipts.publish(new Receipt(1));
    receipts.publish(new Receipt(2), Map.of("v", "2", "priority", "high"));

    var calls = recorder.await(2);
    assertThat(calls.get(0).payload()).isEqualTo(new Receipt(1));
    assertThat(calls.get(0).context().headers()).containsEntry("source", "billing").containsEntry("v", "1");
    assertThat(calls.get(1).context().headers()).containsEntry("source", "billing").containsEntry("v", "2")
        .containsEntry("priority", "high");
    assertThat(receipts.destination()).isEqualTo(channel("receipts"));
    assertThat(receipts.headers()).containsExactly(Map.entry("source", "billing"), Map.entry("v", "1"));
  }

  @Test
  void withHeadersLeavesTheOriginalAsItWas() {
    RedisBroker broker = broker();
    Publisher plain = broker.publisher(channel("x"));
    Publisher tagged = plain.withHeader("tag", "t");
    assertThat(plain.headers()).isEmpty();
    assertThat(tagged.headers()).containsExactly(Map.entry("tag", "t"));
  }

  @Test
  void publishAsyncAndPublishBatch() throws Exception {
    RedisBroker broker = broker();
    Publisher jobs = broker.publisher(list("jobs")).withHeader("kind", "job");
    jobs.publishAsync("a").get(5, TimeUnit.SECONDS);
    jobs.publishAsync("b", Map.of("extra", "1")).get(5, TimeUnit.SECONDS);
    jobs.publishBatch(List.of("c", "d", "e"));
    List<byte[]> items = raw().sync().lrange(utf8("jobs"), 0, -1);
    assertThat(items).extracting(b -> new String(Envelope.decode(b).payload())).containsExactly("a", "b", "c", "d", "e");
    assertThat(items).extracting(b -> Envelope.decode(b).header("kind")).containsOnly("job");
    assertThat(Envelope.decode(items.get(1)).header("extra")).isEqualTo("1");
  }

}
