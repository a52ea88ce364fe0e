package dev.brook.tests.behaviour;

import static dev.brook.redis.Redis.channel;
import static dev.brook.redis.Redis.list;
import static dev.brook.redis.Redis.pattern;
import static dev.brook.redis.Redis.stream;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.brook.AckPolicy;
import dev.brook.MessageContext;
import dev.brook.RemoteHandlerException;
import dev.brook.Subscription;
import dev.brook.opentelemetry.BrookTracing;
import dev.brook.redis.RedisBroker;
import dev.brook.tests.Calls;
import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.trace.SpanContext;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.api.trace.StatusCode;
import io.opentelemetry.api.trace.propagation.W3CTraceContextPropagator;
import io.opentelemetry.context.propagation.ContextPropagators;
import io.opentelemetry.sdk.OpenTelemetrySdk;
import io.opentelemetry.sdk.testing.exporter.InMemorySpanExporter;
import io.opentelemetry.sdk.trace.SdkTracerProvider;
import io.opentelemetry.sdk.trace.data.LinkData;
import io.opentelemetry.sdk.trace.data.SpanData;
import io.opentelemetry.sdk.trace.export.SimpleSpanProcessor;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * brook-opentelemetry: spans by the messaging conventions, their parents across a publish → handler
 * → result chain and request/reply, the W3C context in the headers as FastStream writes it, errors,
 * dead-lettering and batch links. Exact span counts: every span a workload makes is asserted.
 */
abstract class TracingBehaviour extends Behaviour {

  static final AttributeKey<String> DESTINATION = AttributeKey.stringKey("messaging.destination.name");

  final InMemorySpanExporter spans = InMemorySpanExporter.create();
  final SdkTracerProvider provider = SdkTracerProvider.builder().addSpanProcessor(SimpleSpanProcessor.create(spans)).build();
  final OpenTelemetrySdk otel = OpenTelemetrySdk.builder().setTracerProvider(provider)
      .setPropagators(ContextPropagators.create(W3CTraceContextPropagator.getInstance())).build();
  final BrookTracing tracing = BrookTracing.create(otel);

  TracingBehaviour(Backend backend) {
    super(backend);
  }

  @AfterEach
  void closeProvider() {
    provider.close();
  }

  /** A broker traced from the start. */
  RedisBroker traced() {
    RedisBroker broker = backend.broker();
    tracing.bindTo(broker);
    backend.start(broker);
    return broker;
  }

  /** The finished spans once there are exactly {@code n} (and, after a moment, still {@code n}). */
  List<SpanData> exactly(int n) {
    eventually().until(() -> spans.getFinishedSpanItems().size() >= n);
    if (backend.real()) {
      backend.pass(Duration.ofMillis(200)); // nothing more arrives late
    }
    List<SpanData> all = spans.getFinishedSpanItems();
    assertThat(all).as("spans: %s", names(all)).hasSize(n);
    return all;
  }

  static List<String> names(List<SpanData> all) {
    return all.stream().map(SpanData::getName).toList();
  }

  static SpanData named(List<SpanData> all, String name) {
    List<SpanData> found = all.stream().filter(s -> s.getName().equals(name)).toList();
    assertThat(found).as("spans named %s in %s", name, names(all)).hasSize(1);
    return found.get(0);
  }

  static SpanData startingWith(List<SpanData> all, String prefix) {
    List<SpanData> found = all.stream().filter(s -> s.getName().startsWith(prefix)).toList();
    assertThat(found).as("spans named %s… in %s", prefix, names(all)).hasSize(1);
    return found.get(0);
  }

  static void childOf(SpanData child, SpanData parent) {
    assertThat(child.getTraceId()).as("%s in the trace of %s", child.getName(), parent.getName()).isEqualTo(parent.getTraceId());
    assertThat(child.getParentSpanId()).as("parent of %s", child.getName()).isEqualTo(parent.getSpanId());
  }

  @Test
  void aPublishHandlerResultChainIsOneTrace() {
    RedisBroker broker = traced();
    Calls<String> out = new Calls<>();
    broker.subscriber(channel("tr-in")).publishTo(channel("tr-out")).handle(String.class, (String s, MessageContext c) -> s + "!");
    broker.subscriber(channel("tr-out")).handle(String.class, out);
    broker.publish("hi", channel("tr-in"));
    assertThat(out.awaitOne().payload()).isEqualTo("hi!");

    List<SpanData> all = exactly(4);
    SpanData sendIn = named(all, "send tr-in");
    SpanData processIn = named(all, "process tr-in");
    SpanData sendOut = named(all, "send tr-out");
    SpanData processOut = named(all, "process tr-out");
    assertThat(sendIn.getParentSpanContext().isValid()).isFalse(); // the test thread had no span
    childOf(processIn, sendIn);
    childOf(sendOut, processIn); // the result is published inside the process span
    childOf(processOut, sendOut);
    assertThat(sendIn.getKind()).isEqualTo(SpanKind.PRODUCER);
    assertThat(processIn.getKind()).isEqualTo(SpanKind.CONSUMER);
    assertThat(processIn.getAttributes().asMap()).containsEntry(AttributeKey.stringKey("messaging.system"), "redis")
        .containsEntry(DESTINATION, "tr-in")
        .containsEntry(AttributeKey.stringKey("messaging.operation.name"), "process")
        .containsEntry(AttributeKey.stringKey("messaging.operation.type"), "process")
        .containsKey(AttributeKey.stringKey("messaging.message.id"))
        .containsKey(AttributeKey.stringKey("messaging.message.conversation_id"));
    assertThat(sendIn.getAttributes().asMap()).containsEntry(DESTINATION, "tr-in")
        .containsEntry(AttributeKey.stringKey("messaging.operation.type"), "send");
    assertThat(processIn.getStatus().getStatusCode()).isEqualTo(StatusCode.UNSET);
    // the conversation id follows the chain: the result keeps the incoming correlation id
    assertThat(processOut.getAttributes().get(AttributeKey.stringKey("messaging.message.conversation_id")))
        .isEqualTo(processIn.getAttributes().get(AttributeKey.stringKey("messaging.message.conversation_id")));
  }

  @Test
  void theMessageCarriesTraceparentAsFastStreamWritesIt() {
    RedisBroker broker = traced();
    Calls<String> calls = new Calls<>();
    broker.subscriber(channel("tr-hdr")).handle(String.class, calls);
    broker.publish("x", channel("tr-hdr"));
    MessageContext ctx = calls.awaitOne().context();
    List<SpanData> all = exactly(2);
    SpanData send = named(all, "send tr-hdr");
    // W3C version 00, the send span's ids, its flags (sampled; the SDK also sets the random-trace-id bit)
    assertThat(ctx.header("traceparent"))
        .isEqualTo("00-" + send.getTraceId() + "-" + send.getSpanId() + "-" + send.getSpanContext().getTraceFlags().asHex());
    assertThat(ctx.headers()).doesNotContainKey("tracestate"); // FastStream's propagator too writes none when empty
  }

  @Test
  void aTraceparentFromAnotherServiceIsTheParent() {
    // An untraced producer (a FastStream service, as far as Brook knows) sends the W3C headers.
    RedisBroker producer = backend.started();
    RedisBroker consumer = traced();
    Calls<String> calls = new Calls<>();
    consumer.subscriber(channel("tr-remote")).handle(String.class, calls);
    Map<String, String> headers = new LinkedHashMap<>();
    headers.put("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
    headers.put("tracestate", "fs=1");
    producer.publish("x", channel("tr-remote"), headers);
    calls.awaitOne();
    SpanData process = named(exactly(1), "process tr-remote");
    assertThat(process.getTraceId()).isEqualTo("4bf92f3577b34da6a3ce929d0e0e4736");
    assertThat(process.getParentSpanId()).isEqualTo("00f067aa0ba902b7");
    assertThat(process.getParentSpanContext().isRemote()).isTrue();
    assertThat(process.getParentSpanContext().getTraceState().get("fs")).isEqualTo("1");
  }

  @Test
  void aFailureIsRecordedAndTheDeadLetterIsASpan() {
    RedisBroker broker = traced();
    Subscription sub = broker.subscriber(list("tr-jobs").deadLetter()).handle(String.class, (String s, MessageContext c) -> {
      throw new IllegalStateException("boom");
    });
    backend.despiteFailures(() -> broker.publish("x", list("tr-jobs")));
    eventually().until(() -> sub.metrics().failed() == 1);
    List<SpanData> all = exactly(3);
    SpanData send = named(all, "send tr-jobs");
    SpanData process = named(all, "process tr-jobs");
    SpanData reject = named(all, "reject tr-jobs");
    childOf(process, send);
    childOf(reject, process);
    assertThat(process.getStatus().getStatusCode()).isEqualTo(StatusCode.ERROR);
    assertThat(process.getAttributes().get(AttributeKey.stringKey("error.type"))).isEqualTo("java.lang.IllegalStateException");
    assertThat(process.getAttributes().get(AttributeKey.stringKey("brook.settlement"))).isEqualTo("reject");
    assertThat(process.getEvents()).singleElement().satisfies(e -> assertThat(e.getName()).isEqualTo("exception"));
    assertThat(reject.getAttributes().get(AttributeKey.stringKey("messaging.operation.type"))).isEqualTo("settle");
    assertThat(reject.getAttributes().get(AttributeKey.stringKey("brook.dead_letter.key"))).isEqualTo("{tr-jobs}:dlq");
    assertThat(backend.list("{tr-jobs}:dlq")).hasSize(1);
  }

  @Test
  void aNackOnTheLastDeliveryIsADeadLetterSpan() {
    RedisBroker broker = traced();
    Subscription sub = broker.subscriber(list("tr-doomed").consumer("c").deadLetter().maxDeliveries(2))
        .ackPolicy(AckPolicy.NACK_ON_ERROR).handle(String.class, (String s, MessageContext c) -> {
          throw new IllegalStateException("fails on delivery " + c.deliveryCount());
        });
    backend.despiteFailures(() -> broker.publish("x", list("tr-doomed")));
    backend.despiteFailures(() -> backend.pass(Duration.ofMillis(100))); // the nack's back-off
    eventually().until(() -> backend.list("{tr-doomed}:dlq").size() == 1);
    List<SpanData> all = exactly(4); // send, two deliveries, the dead letter of the second
    SpanData send = named(all, "send tr-doomed");
    List<SpanData> processes = all.stream().filter(s -> s.getName().equals("process tr-doomed")).toList();
    assertThat(processes).hasSize(2).allSatisfy(p -> {
      childOf(p, send); // a redelivery carries the same context
      assertThat(p.getStatus().getStatusCode()).isEqualTo(StatusCode.ERROR);
      assertThat(p.getAttributes().get(AttributeKey.stringKey("brook.settlement"))).isEqualTo("nack");
    });
    SpanData reject = named(all, "reject tr-doomed");
    assertThat(processes.stream().map(SpanData::getSpanId)).contains(reject.getParentSpanId());
    assertThat(reject.getAttributes().get(AttributeKey.stringKey("brook.dead_letter.key"))).isEqualTo("{tr-doomed}:dlq");
    assertThat(sub.metrics().failed()).isEqualTo(2);
  }

  @Test
  void anUndecodablePayloadIsAnErrorToo() {
    RedisBroker broker = traced();
    Subscription sub = broker.subscriber(channel("tr-bad")).handle(Integer.class, (Integer i, MessageContext c) -> null);
    backend.despiteFailures(() -> broker.publish("not a number", channel("tr-bad")));
    eventually().until(() -> sub.metrics().decodeErrors() == 1);
    List<SpanData> all = exactly(3); // send, process, reject (a channel has no dead letter: the reject drops it)
    SpanData process = named(all, "process tr-bad");
    assertThat(process.getStatus().getStatusCode()).isEqualTo(StatusCode.ERROR);
    assertThat(process.getAttributes().get(AttributeKey.stringKey("error.type"))).isNotBlank();
  }

  @Test
  void aBatchLinksEveryMessage() {
    RedisBroker broker = traced();
    List<Integer> sizes = new CopyOnWriteArrayList<>();
    Subscription sub = broker.subscriber(list("tr-batch")).batch(10).handle(Integer.class, (List<Integer> items, MessageContext c) -> {
      sizes.add(items.size());
      return null;
    });
    sub.stop(); // they wait, so they come as one batch
    broker.publishBatch(List.of(0, 1, 2), list("tr-batch")); // one RPUSH, a send span (and context) per item
    sub.start();
    eventually().until(() -> sizes.stream().mapToInt(Integer::intValue).sum() == 3);
    int batches = sizes.size();
    List<SpanData> all = exactly(3 + batches);
    Set<SpanContext> sent = all.stream().filter(s -> s.getName().equals("send tr-batch")).map(SpanData::getSpanContext)
        .collect(Collectors.toSet());
    assertThat(sent).hasSize(3);
    List<SpanData> processes = all.stream().filter(s -> s.getName().equals("process tr-batch")).toList();
    assertThat(processes).hasSize(batches);
    assertThat(processes.stream().map(s -> s.getAttributes().get(AttributeKey.longKey("messaging.batch.message_count")))
        .mapToLong(Long::longValue).sum()).isEqualTo(3);
    assertThat(processes.stream().flatMap(s -> s.getLinks().stream()).map(LinkData::getSpanContext)
        .map(c -> c.getTraceId() + c.getSpanId()).collect(Collectors.toSet()))
        .isEqualTo(sent.stream().map(c -> c.getTraceId() + c.getSpanId()).collect(Collectors.toSet()));
    assertThat(processes).allSatisfy(p -> assertThat(p.getParentSpanContext().isValid()).isFalse());
    assertThat(sizes).contains(3);
  }

  @Test
  void requestAndReplyAreOneTrace() {
    RedisBroker broker = traced();
    broker.subscriber(channel("tr-rpc")).handle(String.class, (String s, MessageContext c) -> s.toUpperCase());
    assertThat(broker.request("ping", channel("tr-rpc"), String.class, Duration.ofSeconds(5))).isEqualTo("PING");
    List<SpanData> all = exactly(4);
    SpanData request = named(all, "send tr-rpc");
    SpanData process = named(all, "process tr-rpc");
    SpanData reply = startingWith(all, "send brook.reply.");
    SpanData received = startingWith(all, "process brook.reply.");
    childOf(process, request);
    childOf(reply, process);
    childOf(received, reply);
    assertThat(received.getKind()).isEqualTo(SpanKind.CONSUMER);
    assertThat(received.getAttributes().get(AttributeKey.stringKey("messaging.message.conversation_id")))
        .isEqualTo(process.getAttributes().get(AttributeKey.stringKey("messaging.message.conversation_id")));
  }

  @Test
  void aFailedRequestIsAnErrorOnBothSides() {
    RedisBroker broker = traced();
    broker.subscriber(channel("tr-rpc-fail")).handle(String.class, (String s, MessageContext c) -> {
      throw new IllegalArgumentException("no " + s);
    });
    boolean memory = backend.name().equals("memory");
    // On Redis the caller gets the error reply; the synchronous test broker rethrows the handler's
    // exception from the request's publish instead, so the caller never reads the reply there.
    assertThatThrownBy(() -> broker.request("ping", channel("tr-rpc-fail"), String.class, Duration.ofSeconds(5)))
        .isInstanceOf(memory ? IllegalArgumentException.class : RemoteHandlerException.class);
    // request, the responder's process (failed; the message is rejected), its error reply, the requester's reply
    List<SpanData> all = exactly(memory ? 4 : 5);
    SpanData request = named(all, "send tr-rpc-fail");
    SpanData process = named(all, "process tr-rpc-fail");
    SpanData reply = startingWith(all, "send brook.reply.");
    childOf(process, request);
    childOf(named(all, "reject tr-rpc-fail"), process);
    childOf(reply, process);
    assertThat(process.getAttributes().get(AttributeKey.stringKey("error.type"))).isEqualTo("java.lang.IllegalArgumentException");
    assertThat(process.getStatus().getStatusCode()).isEqualTo(StatusCode.ERROR);
    if (!memory) {
      SpanData received = startingWith(all, "process brook.reply.");
      childOf(received, reply);
      assertThat(received.getStatus().getStatusCode()).isEqualTo(StatusCode.ERROR);
      assertThat(received.getAttributes().get(AttributeKey.stringKey("error.type"))).isEqualTo(RemoteHandlerException.class.getName());
    }
  }

  @Test
  void aPatternIsNamedByItsTemplateAndAGroupByItsName() {
    RedisBroker broker = traced();
    Calls<String> logs = new Calls<>();
    Calls<String> events = new Calls<>();
    broker.subscriber(pattern("tr.{level}")).handle(String.class, logs);
    broker.subscriber(stream("tr-events").group("g").consumer("c")).handle(String.class, events);
    broker.publish("x", channel("tr.error"));
    broker.publish("y", stream("tr-events"));
    logs.awaitOne();
    events.awaitOne();
    List<SpanData> all = exactly(4);
    SpanData logSpan = named(all, "process tr.{level}");
    assertThat(logSpan.getAttributes().get(DESTINATION)).isEqualTo("tr.{level}");
    assertThat(logSpan.getAttributes().get(AttributeKey.stringKey("messaging.destination_publish.name"))).isEqualTo("tr.error");
    SpanData eventSpan = named(all, "process tr-events");
    assertThat(eventSpan.getAttributes().get(AttributeKey.stringKey("messaging.consumer.group.name"))).isEqualTo("g");
    assertThat(eventSpan.getAttributes().get(AttributeKey.stringKey("brook.settlement"))).isEqualTo("ack");
  }

  @Test
  void anUntracedBrokerAddsNoHeaders() {
    RedisBroker plain = backend.started();
    Calls<String> calls = new Calls<>();
    plain.subscriber(channel("tr-plain")).handle(String.class, calls);
    plain.publish("x", channel("tr-plain"));
    assertThat(calls.awaitOne().context().headers()).doesNotContainKeys("traceparent", "tracestate");
    assertThat(spans.getFinishedSpanItems()).isEmpty();
  }
}
