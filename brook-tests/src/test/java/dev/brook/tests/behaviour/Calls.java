package dev.brook.tests.behaviour;

import dev.brook.Handler;
import dev.brook.MessageContext;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/** A handler that records what it received and returns a fixed reply (null: none). */
final class Calls<T> implements Handler<T> {

  record Call<T>(T payload, MessageContext context, String thread) {}

  private final List<Call<T>> calls = new CopyOnWriteArrayList<>();
  private final Object reply;

  Calls() {
    this(null);
  }

  Calls(Object reply) {
    this.reply = reply;
  }

  @Override
  public Object handle(T payload, MessageContext context) {
    calls.add(new Call<>(payload, context, Thread.currentThread().toString()));
    return reply;
  }

  /** Every call so far, in order. */
  List<Call<T>> all() {
    return List.copyOf(calls);
  }

  List<T> payloads() {
    return calls.stream().map(Call::payload).toList();
  }

  int count() {
    return calls.size();
  }

  /** Waits for the n-th call and returns every call so far. */
  List<Call<T>> await(int n) {
    Behaviour.eventually().until(() -> calls.size() >= n);
    return all();
  }

  /** Waits for the first call and returns it. */
  Call<T> awaitOne() {
    return await(1).get(0);
  }
}
