package dev.brook.examples.guide;

import static dev.brook.redis.Redis.channel;
import static dev.brook.redis.Redis.list;

import dev.brook.ExceptionMiddleware;
import dev.brook.Middleware;
import dev.brook.redis.RedisBroker;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.LongAdder;

/** docs/guide.md, "Middlewares". */
public final class Middlewares {

  record Order(long id) {}

  record Problem(String message) {}

  // region:timing
  /** Counts messages and their time per destination; stamps every outgoing message. */
  static final class Timing implements Middleware {
    final LongAdder messages = new LongAdder();
    final LongAdder nanos = new LongAdder();

    @Override
    public Object consume(ConsumeChain chain) throws Exception {
      long start = System.nanoTime();
      try {
        return chain.proceed();                       // the next middleware, at the end the handler
      } finally {
        messages.increment();
        nanos.add(System.nanoTime() - start);
      }
    }

    @Override
    public CompletableFuture<Void> publish(PublishChain chain) {
      return chain.proceed(chain.command().withHeader("x-service", "orders"));
    }
  }
  // endregion

  /** Runs the examples; returns what they printed. */
  public static List<String> run(String url) {
    List<String> out = new CopyOnWriteArrayList<>();
    Timing timing = new Timing();
    // region:register
    Middleware errors = ExceptionMiddleware.builder()
        .reply(IllegalArgumentException.class, (e, ctx) -> new Problem(e.getMessage()))   // becomes the reply
        .reject(IllegalStateException.class)                                              // dead letter, no ERROR
        .build();

    RedisBroker broker = RedisBroker.builder()
        .url(url)
        .middleware(timing, errors)                   // every subscription and publish of this broker
        .build();
    // endregion
    try (broker) {
      // region:short-circuit
      Middleware onlyKnownTenants = new Middleware() {
        @Override
        public Object consume(ConsumeChain chain) throws Exception {
          if (chain.context().header("tenant") == null) {
            throw new IllegalArgumentException("who are you?");   // mapped to a Problem reply above
          }
          return chain.proceed();
        }
      };
      broker.subscriber(channel("orders"))
          .middleware(onlyKnownTenants)               // this subscription only, after the broker's
          .handle(Order.class, (order, ctx) -> "ok " + order.id());
      // endregion
      broker.subscriber(list("strict").deadLetter()).handle(String.class, (s, ctx) -> {
        throw new IllegalStateException("cannot handle " + s);
      });
      broker.start();

      out.add(String.valueOf(broker.publisher(channel("orders")).withHeader("tenant", "acme")
          .request(new Order(1), String.class, Duration.ofSeconds(2))));
      out.add(String.valueOf(broker.request(new Order(2), channel("orders"), Problem.class, Duration.ofSeconds(2))));
      broker.publish("poison", list("strict"));
      out.add("timed " + timing.messages.sum() + " messages");
    }
    return out;
  }

  private Middlewares() {}
}
