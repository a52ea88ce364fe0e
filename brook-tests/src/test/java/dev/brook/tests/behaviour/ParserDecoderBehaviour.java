package dev.brook.tests.behaviour;

import static dev.brook.redis.Redis.channel;
import static dev.brook.redis.Redis.list;
import static dev.brook.redis.Redis.stream;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.brook.ExceptionMiddleware;
import dev.brook.MessageDecoder;
import dev.brook.MessageParser;
import dev.brook.Middleware;
import dev.brook.Router;
import dev.brook.Subscription;
import dev.brook.redis.RedisBroker;
import dev.brook.tests.Calls;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;

/**
 * Parser and decoder hooks (FastStream's {@code parser=} and {@code decoder=}) on the broker, a
 * router and a subscription, nearest wins, each given Brook's own to delegate to; a parser or
 * decoder that throws rejects the message through the chain (middlewares see it, the dead letter
 * gets it) and the subscription goes on.
 */
abstract class ParserDecoderBehaviour extends Behaviour {

  ParserDecoderBehaviour(Backend backend) {
    super(backend);
  }

  record Order(String id, int qty) {}

  record Point(int x, int y) {}

  private static final ObjectMapper JSON = new ObjectMapper();

  /**
   * A foreign format: {@code {"meta": {...}, "payload": {...}}} (here inside Brook's envelope, as a
   * byte[] publish puts it; Brook's parser unwraps that first), read into the meta fields as headers
   * and the payload as the body, plus a header naming the level.
   */
  private static MessageParser foreign(String level) {
    return (raw, brooks) -> {
      JsonNode node = JSON.readTree(brooks.apply(raw).body());
      if (!node.has("payload")) {
        throw new IllegalArgumentException("no payload field");
      }
      Map<String, String> headers = new LinkedHashMap<>();
      node.path("meta").fields().forEachRemaining(e -> headers.put(e.getKey(), e.getValue().asText()));
      headers.put("parsed-by", level);
      return new MessageParser.Parsed(headers, JSON.writeValueAsBytes(node.get("payload")));
    };
  }

  private static byte[] foreignMessage(String user, String id) {
    return ("{\"meta\":{\"user\":\"" + user + "\"},\"payload\":{\"id\":\"" + id + "\",\"qty\":2}}")
        .getBytes(StandardCharsets.UTF_8);
  }

  @Test
  void aParserReadsAForeignFormatOnEachLevelTheNearestWins() {
    RedisBroker broker = started(b -> b.parser(foreign("broker")));
    Calls<Order> onBroker = new Calls<>();
    Calls<Order> onRouter = new Calls<>();
    Calls<Order> onSubscription = new Calls<>();
    broker.subscriber(list("b").consumer("c")).handle(Order.class, onBroker);
    Router outer = Router.withPrefix("").parser(foreign("outer"));
    Router inner = Router.withPrefix("").parser(foreign("router"));
    inner.subscriber(channel("r")).handle(Order.class, onRouter);
    inner.subscriber(stream("s").group("g").consumer("c")).parser(foreign("subscription")).handle(Order.class, onSubscription);
    outer.include(inner);
    broker.include(outer);

    broker.publish(foreignMessage("ann", "1"), list("b"));
    broker.publish(foreignMessage("bob", "2"), channel("r"));
    broker.publish(foreignMessage("cid", "3"), stream("s"));

    assertThat(onBroker.awaitOne().payload()).isEqualTo(new Order("1", 2));
    assertThat(onBroker.awaitOne().context().header("user")).isEqualTo("ann");
    assertThat(onBroker.awaitOne().context().header("parsed-by")).isEqualTo("broker");
    assertThat(onRouter.awaitOne().payload()).isEqualTo(new Order("2", 2));
    assertThat(onRouter.awaitOne().context().header("parsed-by")).isEqualTo("router");
    assertThat(onSubscription.awaitOne().payload()).isEqualTo(new Order("3", 2));
    assertThat(onSubscription.awaitOne().context().header("user")).isEqualTo("cid");
    assertThat(onSubscription.awaitOne().context().header("parsed-by")).isEqualTo("subscription");
    eventually().until(() -> backend.pending("s", "g").isEmpty() && backend.list("{b}:processing:c").isEmpty());
  }

  @Test
  void aDecoderOverridesBrooksAndDelegatesWhatItDoesNotKnowTheNearestWins() {
    MessageDecoder points = (message, type, brooks) -> {
      if (type == Point.class) {
        String[] xy = new String(message.body(), StandardCharsets.UTF_8).split(",");
        return new Point(Integer.parseInt(xy[0].trim()), Integer.parseInt(xy[1].trim()));
      }
      return brooks.decode(message, type);
    };
    RedisBroker broker = started(b -> b.decoder(points));
    Calls<Point> point = new Calls<>();
    Calls<Order> order = new Calls<>();
    Calls<String> upper = new Calls<>();
    broker.subscriber(channel("points")).handle(Point.class, point);
    broker.subscriber(channel("orders")).handle(Order.class, order);
    Router router = Router.withPrefix("")
        .decoder((message, type, brooks) -> ((String) brooks.decode(message, String.class)).toUpperCase());
    router.subscriber(list("texts").consumer("c")).handle(String.class, upper);
    Calls<String> own = new Calls<>();
    router.subscriber(list("own").consumer("c")).decoder((message, type, brooks) -> "own:" + brooks.decode(message, type))
        .handle(String.class, own);
    broker.include(router);

    broker.publish("3, 4", channel("points"));
    broker.publish(new Order("7", 1), channel("orders"));
    broker.publish("shout", list("texts"));
    broker.publish("mine", list("own"));

    assertThat(point.awaitOne().payload()).isEqualTo(new Point(3, 4));
    assertThat(order.awaitOne().payload()).isEqualTo(new Order("7", 1));
    assertThat(upper.awaitOne().payload()).isEqualTo("SHOUT");
    assertThat(own.awaitOne().payload()).isEqualTo("own:mine");
  }

  /** A decoder an annotation names: "x,y" into a Point. */
  public static final class PointDecoder implements MessageDecoder {
    @Override
    public Object decode(dev.brook.MessageContext message, java.lang.reflect.Type type, Default brooks) {
      String[] xy = new String(message.body(), StandardCharsets.UTF_8).split(",");
      return new Point(Integer.parseInt(xy[0]), Integer.parseInt(xy[1]));
    }
  }

  /** A parser an annotation names: the body reversed. */
  public static final class Reversed implements MessageParser {
    @Override
    public Parsed parse(byte[] raw, java.util.function.Function<byte[], Parsed> brooks) {
      Parsed p = brooks.apply(raw);
      return new Parsed(p.headers(), new StringBuilder(new String(p.body(), StandardCharsets.UTF_8)).reverse().toString()
          .getBytes(StandardCharsets.UTF_8));
    }
  }

  public static final class Annotated {
    final List<Object> got = new CopyOnWriteArrayList<>();

    @dev.brook.Subscribe(channel = "annotated-points", decoder = PointDecoder.class)
    public void point(Point p) {
      got.add(p);
    }

    @dev.brook.Subscribe(list = "annotated-texts", consumer = "c", parser = Reversed.class)
    public void text(String s) {
      got.add(s);
    }
  }

  @Test
  void anAnnotatedHandlerNamesItsParserAndDecoderWhichWinOverTheRouters() {
    // the broker's decoder cannot make Points, the router's parser does not reverse
    RedisBroker broker = started(b -> b.decoder((message, type, brooks) -> {
      if (type == Point.class) {
        throw new IllegalStateException("the annotation's decoder should win");
      }
      return brooks.decode(message, type);
    }));
    Annotated handlers = new Annotated();
    broker.include(Router.withPrefix("").parser((raw, brooks) -> brooks.apply(raw)).include(handlers));
    broker.publish("5,6", channel("annotated-points"));
    broker.publish("olleh", list("annotated-texts"));
    eventually().until(() -> handlers.got.size() == 2);
    assertThat(handlers.got).containsExactlyInAnyOrder(new Point(5, 6), "hello");
  }

  /** A broker middleware recording what the rest of the chain threw, outside an ExceptionMiddleware. */
  private static final class Seen implements Middleware {
    final List<Exception> errors = new CopyOnWriteArrayList<>();

    @Override
    public Object consume(ConsumeChain chain) throws Exception {
      try {
        return chain.proceed();
      } catch (Exception e) {
        errors.add(e);
        throw e;
      }
    }
  }

  @Test
  void aThrowingParserRejectsTheMessageThroughTheChainAndTheSubscriptionGoesOn() {
    Seen seen = new Seen();
    Seen inner = new Seen();
    RedisBroker broker = started(b -> b.middleware(seen, ExceptionMiddleware.builder().ack(RuntimeException.class).build(), inner)
        .parser(foreign("broker")));
    Calls<Order> calls = new Calls<>();
    Subscription sub = broker.subscriber(list("jobs").consumer("c").deadLetter()).handle(Order.class, calls);

    backend.despiteFailures(() -> broker.publish("not json at all".getBytes(StandardCharsets.UTF_8), list("jobs")));
    backend.despiteFailures(() -> broker.publish("{\"meta\":{}}".getBytes(StandardCharsets.UTF_8), list("jobs")));
    broker.publish(foreignMessage("ann", "9"), list("jobs"));

    assertThat(calls.awaitOne().payload()).isEqualTo(new Order("9", 2));
    eventually().until(() -> backend.list("{jobs}:dlq").size() == 2 && backend.list("{jobs}:processing:c").isEmpty());
    assertThat(backend.list("{jobs}:dlq")).extracting(item -> item.header("x-error"))
        .allMatch(error -> error.startsWith("cannot parse: "))
        .anyMatch(error -> error.contains("no payload field"));
    // the failure passed every middleware; ExceptionMiddleware let it through as the reject it is
    assertThat(inner.errors).hasSize(2);
    assertThat(seen.errors).hasSize(2).allMatch(e -> e instanceof dev.brook.RejectMessage);
    assertThat(sub.metrics().decodeErrors()).isEqualTo(2);
    assertThat(sub.metrics().failed()).isZero();
  }

  @Test
  void aThrowingDecoderRejectsTheMessageThroughTheChainAndTheSubscriptionGoesOn() {
    Seen seen = new Seen();
    RedisBroker broker = started(b -> b.middleware(seen, ExceptionMiddleware.builder().ack(RuntimeException.class).build()));
    Calls<String> calls = new Calls<>();
    Subscription sub = broker.subscriber(stream("events").group("g").consumer("c"))
        .decoder((message, type, brooks) -> {
          String text = (String) brooks.decode(message, type);
          if (text.startsWith("bad")) {
            throw new IllegalArgumentException("cannot take " + text);
          }
          return text;
        })
        .handle(String.class, calls);

    backend.despiteFailures(() -> broker.publish("bad one", stream("events")));
    broker.publish("good one", stream("events"));

    assertThat(calls.awaitOne().payload()).isEqualTo("good one");
    eventually().until(() -> backend.stream("{events}:dlq").size() == 1 && backend.pending("events", "g").isEmpty());
    assertThat(backend.stream("{events}:dlq").get(0).header("x-error"))
        .isEqualTo("cannot decode into java.lang.String: cannot take bad one");
    assertThat(seen.errors).singleElement().isInstanceOf(dev.brook.RejectMessage.class);
    assertThat(sub.metrics().decodeErrors()).isEqualTo(1);
  }

  @Test
  void brooksOwnDecodeErrorsPassTheMiddlewaresToo() {
    Seen seen = new Seen();
    RedisBroker broker = started(b -> b.middleware(seen));
    Calls<Order> calls = new Calls<>();
    broker.subscriber(list("orders").consumer("c").deadLetter()).handle(Order.class, calls);
    backend.despiteFailures(() -> broker.publish("not an order", list("orders")));
    eventually().until(() -> backend.list("{orders}:dlq").size() == 1);
    assertThat(seen.errors).singleElement().isInstanceOf(dev.brook.RejectMessage.class);
    assertThat(calls.all()).isEmpty();
  }
}
