package dev.brook.tests;

import static dev.brook.redis.Redis.channel;
import static dev.brook.redis.Redis.list;
import static dev.brook.redis.Redis.pattern;
import static dev.brook.redis.Redis.stream;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import dev.brook.AckPolicy;
import dev.brook.BrookException;
import dev.brook.Header;
import dev.brook.MessageContext;
import dev.brook.Path;
import dev.brook.Publish;
import dev.brook.Subscribe;
import dev.brook.Subscription;
import dev.brook.redis.RedisBroker;
import dev.brook.redis.internal.Envelope;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.MDC;

/** broker.include(object): one subscription per @Subscribe method, every parameter kind, ids that never stack. */
class AnnotatedHandlersTest extends RedisTestBase {

  record Order(long id, String item) {}

  record Receipt(long orderId) {}

  enum Priority { LOW, HIGH }

  /** What a handler saw, in one record per call. */
  record Seen(String method, Object payload, List<Object> args) {}

  static final List<Seen> SEEN = new CopyOnWriteArrayList<>();

  private final ListAppender<ILoggingEvent> log = new ListAppender<>();
  private final ch.qos.logback.classic.Logger subscriptionLog =
      (ch.qos.logback.classic.Logger) LoggerFactory.getLogger("dev.brook.Subscription");
  private final ch.qos.logback.classic.Logger handlerLog =
      (ch.qos.logback.classic.Logger) LoggerFactory.getLogger(Everything.class);

  @BeforeEach
  void capture() {
    SEEN.clear();
    log.start();
    subscriptionLog.addAppender(log);
    handlerLog.addAppender(log);
  }

  @AfterEach
  void release() {
    subscriptionLog.detachAppender(log);
    handlerLog.detachAppender(log);
  }

  private List<String> warnings() {
    return log.list.stream().filter(e -> e.getLevel() == Level.WARN).map(ILoggingEvent::getFormattedMessage).toList();
  }

  private List<Seen> awaitSeen(int n) {
    await().atMost(Duration.ofSeconds(10)).until(() -> SEEN.size() >= n);
    return SEEN;
  }

  /** A service class with every parameter kind. */
  static class Everything {

    @Subscribe(channel = "orders")
    @Publish(channel = "receipts")
    @Publish(channel = "audit")
    Receipt onOrder(Order order, MessageContext ctx, @Header("tenant") String tenant, @Header("count") int count,
        @Header("trace") UUID trace, @Header("priority") Priority priority,
        @Header(value = "note", required = false) String note, Logger log) {
      log.info("order {}", order.id());
      SEEN.add(new Seen("onOrder", order, java.util.Arrays.asList(ctx.channel(), tenant, count, trace, priority, note,
          MDC.get("destination"), MDC.get("message_id"), ctx.messageId())));
      return new Receipt(order.id());
    }

    @Subscribe(pattern = "logs.{level}.{app}")
    void onLog(@Path("level") Priority level, @Path("app") String app, String line) {
      SEEN.add(new Seen("onLog", line, List.of(level, app)));
    }

    @Subscribe(channel = "batches")
    void onBatch(List<Order> orders) {
      SEEN.add(new Seen("onBatch", orders, List.of(orders.get(0).getClass())));
    }

    @Subscribe(channel = "pings")
    void onPing(MessageContext ctx) {
      SEEN.add(new Seen("onPing", null, List.of(ctx.body().length)));
    }
  }

  @Test
  void everyParameterKindIsResolved() {
    RedisBroker broker = broker();
    Calls<Receipt> receipts = new Calls<>();
    Calls<Receipt> audit = new Calls<>();
    broker.subscriber(channel("receipts")).handle(Receipt.class, receipts);
    broker.subscriber(channel("audit")).handle(Receipt.class, audit);
    List<Subscription> subs = broker.include(new Everything());
    broker.start();
    UUID trace = UUID.randomUUID();

    broker.publish(new Order(7, "pen"), channel("orders"), Map.of("correlation_id", "c-7", "tenant", "acme", "count", "3",
        "trace", trace.toString(), "priority", "HIGH"));
    Seen seen = awaitSeen(1).get(0);

    assertThat(seen.payload()).isEqualTo(new Order(7, "pen"));
    assertThat(seen.args()).containsExactly("orders", "acme", 3, trace, Priority.HIGH, null, "channel:orders", "c-7", "c-7");
    assertThat(receipts.awaitOne().payload()).isEqualTo(new Receipt(7));
    assertThat(receipts.awaitOne().context().correlationId()).isEqualTo("c-7");
    assertThat(audit.awaitOne().payload()).isEqualTo(new Receipt(7));
    ILoggingEvent line = log.list.stream().filter(e -> e.getLoggerName().equals(Everything.class.getName())).findFirst().orElseThrow();
    assertThat(line.getFormattedMessage()).isEqualTo("order 7");
    assertThat(line.getMDCPropertyMap()).containsEntry("destination", "channel:orders").containsEntry("message_id", "c-7");
    assertThat(MDC.get("destination")).isNull();

    assertThat(subs).extracting(Subscription::id).containsExactly(
        Everything.class.getName() + "#onBatch", Everything.class.getName() + "#onLog",
        Everything.class.getName() + "#onOrder", Everything.class.getName() + "#onPing");
    Subscription onOrder = broker.subscription(Everything.class.getName() + "#onOrder");
    assertThat(onOrder.destination()).isEqualTo(channel("orders"));
    assertThat(onOrder.publishTo()).containsExactly(channel("receipts"), channel("audit"));
    assertThat(onOrder.payloadType()).isEqualTo(Order.class);
  }

  @Test
  void pathPartsGenericPayloadsAndNoPayloadAtAll() {
    RedisBroker broker = broker();
    broker.include(new Everything());
    broker.start();
    broker.publish("disk full", channel("logs.HIGH.billing"));
    assertThat(awaitSeen(1).get(0)).isEqualTo(new Seen("onLog", "disk full", List.of(Priority.HIGH, "billing")));
    SEEN.clear();
    broker.publish(List.of(new Order(1, "a"), new Order(2, "b")), channel("batches"));
    Seen batch = awaitSeen(1).get(0);
    assertThat(batch.payload()).isEqualTo(List.of(new Order(1, "a"), new Order(2, "b")));
    assertThat(batch.args()).containsExactly(Order.class);
    SEEN.clear();
    broker.publish("abc", channel("pings"));
    assertThat(awaitSeen(1).get(0)).isEqualTo(new Seen("onPing", null, List.of(3)));
  }

  @Test
  void aHeaderThatDoesNotConvertRejectsTheMessageNamingTheHeader() {
    RedisBroker broker = broker();
    broker.include(new Everything());
    broker.start();
    Subscription sub = broker.subscription(Everything.class.getName() + "#onOrder");
    broker.publish(new Order(1, "x"), channel("orders"), Map.of("correlation_id", "m-1", "tenant", "acme", "count", "three",
        "trace", UUID.randomUUID().toString(), "priority", "HIGH"));
    broker.publish(new Order(2, "x"), channel("orders"), Map.of("correlation_id", "m-2", "tenant", "acme", "count", "1",
        "trace", UUID.randomUUID().toString(), "priority", "URGENT"));
    broker.publish(new Order(3, "x"), channel("orders"), Map.of("correlation_id", "m-3", "count", "1",
        "trace", UUID.randomUUID().toString(), "priority", "LOW"));
    await().atMost(Duration.ofSeconds(10)).until(() -> sub.metrics().decodeErrors() == 3);
    String subscription = Everything.class.getName() + "#onOrder";
    assertThat(warnings()).containsExactly(
        "Cannot convert header 'count' of message m-1 from orders (subscription '" + subscription
            + "') to int (value 'three'): For input string: \"three\". Skipped; the subscription goes on.",
        "Cannot convert header 'priority' of message m-2 from orders (subscription '" + subscription
            + "') to Priority (value 'URGENT'): No enum constant " + Priority.class.getCanonicalName() + ".URGENT. Skipped; the subscription goes on.",
        "No header 'tenant' in message m-3 from orders (subscription '" + subscription + "'); the handler requires it "
            + "(declare @Header(value = \"tenant\", required = false) to accept messages without it). Skipped; the subscription goes on.");
    assertThat(SEEN).isEmpty();
    assertThat(sub.metrics().handled()).isZero();
  }

  static class Queues {
    @Subscribe(list = "jobs", consumer = "w1", ackPolicy = AckPolicy.NACK_ON_ERROR, concurrency = 4)
    void onJob(String job) {
      SEEN.add(new Seen("onJob", job, List.of()));
    }

    @Subscribe(stream = "events", group = "g", consumer = "c1", id = "events-handler")
    @Publish(list = "done")
    String onEvent(Order order) {
      return "done " + order.id();
    }
  }

  @Test
  void listsAndStreamGroupsWithOptions() {
    RedisBroker broker = broker();
    List<Subscription> subs = broker.include(new Queues());
    Subscription events = broker.subscription("events-handler");
    Subscription jobs = broker.subscription(Queues.class.getName() + "#onJob");
    assertThat(subs).containsExactly(events, jobs);
    assertThat(events.destination()).isEqualTo(stream("events").group("g").consumer("c1"));
    assertThat(events.publishTo()).containsExactly(list("done"));
    assertThat(jobs.destination()).isEqualTo(list("jobs").consumer("w1"));
    assertThat(jobs.ackPolicy()).isEqualTo(AckPolicy.NACK_ON_ERROR);
    broker.start();
    broker.publish("job 1", list("jobs"));
    assertThat(awaitSeen(1).get(0).payload()).isEqualTo("job 1");
    broker.publish(new Order(5, "e"), stream("events"));
    await().atMost(Duration.ofSeconds(10)).until(() -> (Long) redis.command("LLEN", "done") == 1);
    assertThat(new String(Envelope.decode(raw().sync().lpop(utf8("done"))).payload())).isEqualTo("done 5");
  }

  // ---- configuration mistakes fail at include, naming the method and the fix --------------------

  static class NoDestination {
    @Subscribe
    void m(String s) {}
  }

  static class TwoDestinations {
    @Subscribe(channel = "a", list = "b")
    void m(String s) {}
  }

  static class GroupOnChannel {
    @Subscribe(channel = "a", group = "g")
    void m(String s) {}
  }

  static class TwoPayloads {
    @Subscribe(channel = "a")
    void m(String first, String second) {}
  }

  static class PathOnChannel {
    @Subscribe(channel = "a")
    void m(@Path("level") String level) {}
  }

  static class UnknownPathPart {
    @Subscribe(pattern = "logs.{level}")
    void m(@Path("lvl") String level) {}
  }

  static class UnconvertibleHeader {
    @Subscribe(channel = "a")
    void m(@Header("h") Thread t) {}
  }

  static class OptionalPrimitiveHeader {
    @Subscribe(channel = "a")
    void m(@Header(value = "n", required = false) int n) {}
  }

  static class Overloads {
    @Subscribe(channel = "a")
    void m(String s) {}

    @Subscribe(channel = "b")
    void m(byte[] b) {}
  }

  static class Nothing {
    void m(String s) {}
  }

  @Test
  void configurationMistakesFailAtIncludeWithTheFix() {
    RedisBroker broker = broker();
    String p = AnnotatedHandlersTest.class.getName() + "$";
    assertThatThrownBy(() -> broker.include(new NoDestination())).isInstanceOf(BrookException.class)
        .hasMessage("@Subscribe on " + p + "NoDestination#m names no destination. Set exactly one of channel, pattern, list or stream.");
    assertThatThrownBy(() -> broker.include(new TwoDestinations()))
        .hasMessage("@Subscribe on " + p + "TwoDestinations#m names 2 destinations (channel, list). Set exactly one of channel, pattern, list or stream.");
    assertThatThrownBy(() -> broker.include(new GroupOnChannel()))
        .hasMessage("@Subscribe on " + p + "GroupOnChannel#m sets group = \"g\" on a channel: consumer groups are for streams. "
            + "Use stream = \"...\", or leave group out.");
    assertThatThrownBy(() -> broker.include(new TwoPayloads()))
        .hasMessage(p + "TwoPayloads#m has two payload parameters (first and second); a handler has at most one. "
            + "Annotate the others with @Header or @Path, or make them MessageContext or Logger.");
    assertThatThrownBy(() -> broker.include(new PathOnChannel()))
        .hasMessage("Parameter level of " + p + "PathOnChannel#m is @Path(\"level\"), but the method subscribes to a channel. "
            + "@Path reads a part of @Subscribe(pattern = \"...{level}...\").");
    assertThatThrownBy(() -> broker.include(new UnknownPathPart()))
        .hasMessage("Parameter level of " + p + "UnknownPathPart#m is @Path(\"lvl\"), but the pattern 'logs.{level}' has no part "
            + "{lvl} (it has level). Name a part of the pattern.");
    assertThatThrownBy(() -> broker.include(new UnconvertibleHeader()))
        .hasMessage("Parameter t of " + p + "UnconvertibleHeader#m is @Header(\"h\") of type java.lang.Thread, which Brook cannot "
            + "convert from text. Use one of String, the primitives and their boxes, UUID, enums, BigDecimal, BigInteger, Instant, "
            + "Duration, LocalDate, LocalDateTime, OffsetDateTime and classes with a static valueOf(String) or parse(CharSequence), "
            + "or take a String and convert it in the handler.");
    assertThatThrownBy(() -> broker.include(new OptionalPrimitiveHeader()))
        .hasMessage("Parameter n of " + p + "OptionalPrimitiveHeader#m is an optional @Header(\"n\") of type int, which cannot be "
            + "null when the header is missing. Use Integer, or make the header required.");
    assertThatThrownBy(() -> broker.include(new Overloads()))
        .hasMessage("Two @Subscribe methods of " + p + "Overloads get the id '" + p + "Overloads#m' (" + p + "Overloads#m and "
            + p + "Overloads#m). Rename one, or give each its own id with @Subscribe(id = ...).");
    assertThatThrownBy(() -> broker.include(new Nothing()))
        .hasMessage(p + "Nothing has no method annotated @Subscribe, so there is nothing to include. "
            + "Annotate its handler methods, e.g. @Subscribe(channel = \"orders\").");
    assertThatThrownBy(() -> broker.include(Everything.class)).isInstanceOf(IllegalArgumentException.class)
        .hasMessage("include needs an object, got the class " + p + "Everything. Pass an instance, e.g. new Everything().");
    assertThat(broker.subscriptions()).isEmpty();
  }
}
