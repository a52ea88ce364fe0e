package dev.brook.examples.guide;

import static dev.brook.redis.Redis.channel;
import static dev.brook.redis.Redis.list;
import static dev.brook.redis.Redis.stream;

import dev.brook.Message;
import dev.brook.Response;
import dev.brook.redis.RedisBroker;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** docs/guide.md, "Responses, whole replies, batch results and pipelines". */
public final class Replies {

  record Quote(String item) {}

  record Price(String item, long cents) {}

  /** A Response with a header, the whole reply, a batch result and a pipeline; returns what each printed. */
  public static List<String> run(String url) {
    List<String> out = new ArrayList<>();
    try (RedisBroker broker = RedisBroker.create(url)) {
      // region:response
      broker.subscriber(channel("prices")).publishTo(stream("price-log"))
          .handle(Quote.class, (quote, ctx) -> Response.of(new Price(quote.item(), 1299)).header("x-priced-by", "v2"));
      broker.start();

      Message<Price> reply = broker.requestMessage(new Quote("book"), channel("prices"),
          Map.of("correlation_id", "order-7"), Price.class, Duration.ofSeconds(2));
      reply.payload();              // Price[item=book, cents=1299]
      reply.header("x-priced-by");  // v2
      reply.correlationId();        // order-7: the caller's id is kept
      // endregion
      out.add(reply.payload() + " " + reply.header("x-priced-by") + " " + reply.correlationId());

      // region:batch
      broker.subscriber(list("orders")).publishBatchTo(list("lines")).noReply()
          .handle(Quote.class, (quote, ctx) -> List.of(quote.item() + "-1", quote.item() + "-2"));   // two messages
      // endregion

      // region:pipeline
      broker.pipeline(p -> p
          .publish(new Quote("pen"), list("orders"))
          .publish(new Quote("ink"), list("orders"), Map.of("priority", "high"))
          .publish("audit: two orders", stream("audit")));   // one write, waits for all three answers
      // endregion
    }
    return out;
  }

  private Replies() {}
}
