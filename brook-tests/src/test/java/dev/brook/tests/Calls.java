package dev.brook.tests;

import dev.brook.Handler;
import dev.brook.MessageContext;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.awaitility.Awaitility;

/**
 * A handler that records what it received and returns a fixed reply (null: none), for assertions
 * that wait by counting. Thread-safe: handlers run on the subscription's workers, the test reads
 * from its own thread. One for every suite: the Redis tests and the behaviour suite.
 */
public final class Calls<T> implements Handler<T> {

  /** One call: the payload, its context and the thread it ran on. */
  public record Call<T>(T payload, MessageContext context, String thread) {}

  private final List<Call<T>> calls = new CopyOnWriteArrayList<>();
  private final Object reply;

  public Calls() {
    this(null);
  }

  public Calls(Object reply) {
    this.reply = reply;
  }

  @Override
  public Object handle(T payload, MessageContext context) {
    calls.add(new Call<>(payload, context, Thread.currentThread().toString()));
    return reply;
  }

  /** Every call so far, in order. */
  public List<Call<T>> all() {
    return List.copyOf(calls);
  }

  public List<T> payloads() {
    return calls.stream().map(Call::payload).toList();
  }

  public int count() {
    return calls.size();
  }

  /**
   * Waits up to 10 s for the n-th call (looking at once, then every 10 ms: in memory it has
   * happened already) and returns every call so far.
   */
  public List<Call<T>> await(int n) {
    Awaitility.await().atMost(Duration.ofSeconds(10)).pollDelay(Duration.ZERO).pollInterval(Duration.ofMillis(10))
        .until(() -> calls.size() >= n);
    return all();
  }

  /** Waits for the first call and returns it. */
  public Call<T> awaitOne() {
    return await(1).get(0);
  }
}
