package dev.brook.tests.behaviour;

import static dev.brook.redis.Redis.channel;
import static dev.brook.redis.Redis.list;
import static dev.brook.redis.Redis.stream;
import static org.assertj.core.api.Assertions.assertThat;

import dev.brook.Destination;
import dev.brook.MessageContext;
import dev.brook.Subscription;
import dev.brook.redis.RedisBroker;
import dev.brook.tests.Calls;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.api.Test;

/**
 * A batch handler sees each message's headers ({@code MessageContext.batchHeaders()}, FastStream's
 * per-message headers of a batch), aligned with its payloads, also when a message of the batch
 * could not be decoded and was rejected on its own.
 */
abstract class BatchHeadersBehaviour extends Behaviour {

  BatchHeadersBehaviour(Backend backend) {
    super(backend);
  }

  record Seen(List<Integer> items, List<Map<String, String>> headers) {}

  static List<Destination> reliable() {
    return List.of(list("bh-list").consumer("c").deadLetter(), stream("bh-stream").group("g").consumer("c"));
  }

  @ParameterizedTest
  @MethodSource("reliable")
  void eachItemOfABatchHasItsOwnHeaders(Destination destination) {
    RedisBroker broker = started();
    List<Seen> seen = new CopyOnWriteArrayList<>();
    Subscription sub = broker.subscriber(destination).batch(10)
        .handle(Integer.class, (List<Integer> items, MessageContext ctx) -> {
          seen.add(new Seen(List.copyOf(items), ctx.batchHeaders()));
          return null;
        });
    sub.stop(); // they wait while it is stopped, so they come in batches of more than one
    broker.publish(1, destination, Map.of("n", "1"));
    broker.publish("not a number", destination, Map.of("n", "bad"));
    broker.publish(3, destination, Map.of("n", "3", "extra", "x"));
    broker.publish(4, destination, Map.of("n", "4"));
    backend.despiteFailures(sub::start);
    eventually().until(() -> seen.stream().mapToInt(s -> s.items().size()).sum() == 3);
    for (Seen s : seen) {
      assertThat(s.headers()).hasSameSizeAs(s.items());
      for (int i = 0; i < s.items().size(); i++) {
        assertThat(s.headers().get(i)).containsEntry("n", String.valueOf(s.items().get(i)));
      }
    }
    assertThat(seen.stream().flatMap(s -> s.items().stream()).toList()).containsExactly(1, 3, 4);
    assertThat(seen).anySatisfy(s -> assertThat(s.items()).hasSizeGreaterThan(1));
    eventually().until(() -> sub.metrics().decodeErrors() == 1);
    assertThat(seen.stream().flatMap(s -> s.headers().stream()).filter(h -> h.containsKey("extra")).toList())
        .singleElement().satisfies(h -> assertThat(h).containsEntry("n", "3"));
  }

  @Test
  void aSingleMessageHasOneEntry() {
    RedisBroker broker = started();
    Calls<String> calls = new Calls<>();
    broker.subscriber(channel("bh-one")).handle(String.class, calls);
    broker.publish("x", channel("bh-one"), Map.of("k", "v"));
    MessageContext ctx = calls.awaitOne().context();
    assertThat(ctx.batchHeaders()).containsExactly(ctx.headers());
    assertThat(ctx.batchHeaders().get(0)).containsEntry("k", "v");
  }
}
