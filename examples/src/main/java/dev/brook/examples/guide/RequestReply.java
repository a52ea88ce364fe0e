package dev.brook.examples.guide;

import static dev.brook.redis.Redis.channel;
import static dev.brook.redis.Redis.stream;

import dev.brook.RemoteHandlerException;
import dev.brook.RequestTimeoutException;
import dev.brook.redis.RedisBroker;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/** docs/guide.md, "Request/reply". */
public final class RequestReply {

  record Quote(String item) {}

  record Price(String item, long cents) {}

  /** Two requests, a stream request, a timeout and a failure; returns what each printed. */
  public static List<String> run(String url) {
    List<String> out = new ArrayList<>();
    try (RedisBroker broker = RedisBroker.create(url)) {
      // region:request
      broker.subscriber(channel("prices"))
          .handle(Quote.class, (quote, ctx) -> new Price(quote.item(), 1299));   // the return value is the reply
      broker.start();

      Price price = broker.request(new Quote("book"), channel("prices"), Price.class, Duration.ofSeconds(2));
      CompletableFuture<Price> later =
          broker.requestAsync(new Quote("pen"), channel("prices"), Price.class, Duration.ofSeconds(2));
      // endregion
      out.add(price.toString());
      out.add(later.join().toString());

      // region:stream
      broker.subscriber(stream("pricing").group("pricers"))
          .handle(Quote.class, (quote, ctx) -> new Price(quote.item(), 99));
      Price viaStream = broker.request(new Quote("ink"), stream("pricing"), Price.class, Duration.ofSeconds(2));
      // endregion
      out.add(viaStream.toString());

      // region:timeout
      try {
        broker.request(new Quote("lamp"), channel("nobody-listens"), Price.class, Duration.ofMillis(200));
      } catch (RequestTimeoutException e) {
        out.add(e.getMessage());   // names the destination and the timeout
      }
      // endregion

      // region:failure
      broker.subscriber(channel("stock"))
          .handle(Quote.class, (quote, ctx) -> { throw new IllegalStateException("no " + quote.item() + " left"); });
      try {
        broker.request(new Quote("lamp"), channel("stock"), Price.class, Duration.ofSeconds(2));
      } catch (RemoteHandlerException e) {
        out.add(e.getMessage());   // names the destination, the error's class and message
      }
      // endregion
      out.add(broker.requestMetrics().toString());
    }
    return out;
  }

  private RequestReply() {}
}
