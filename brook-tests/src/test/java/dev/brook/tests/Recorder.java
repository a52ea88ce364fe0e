package dev.brook.tests;

import static org.awaitility.Awaitility.await;

import dev.brook.Handler;
import dev.brook.MessageContext;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/** A handler that records what it received, for assertions that wait by counting. */
final class Recorder<T> implements Handler<T> {

  record Call<T>(T payload, MessageContext context, String thread) {}

  private final List<Call<T>> calls = new CopyOnWriteArrayList<>();
  private final Object reply;

  Recorder() {
    this(null);
  }

  Recorder(Object reply) {
    this.reply = reply;
  }

  @Override
  public Object handle(T payload, MessageContext context) {
    calls.add(new Call<>(payload, context, Thread.currentThread().toString()));
    return reply;
  }

  List<Call<T>> calls() {
    return calls;
  }

  List<T> payloads() {
    return calls.stream().map(Call::payload).toList();
  }

  Call<T> awaitOne() {
    return awaitCount(1).get(0);
  }

  List<Call<T>> awaitCount(int n) {
    await().atMost(Duration.ofSeconds(10)).until(() -> calls.size() >= n);
    return calls;
  }
}
