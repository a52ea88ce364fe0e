package dev.brook;

import java.time.Duration;
import java.util.stream.Stream;

/**
 * A subscription the application pulls messages from instead of giving it a handler, as
 * FastStream's {@code subscriber.get_one(timeout=...)} and {@code async for msg in subscriber}.
 * Declared with {@link SubscriberBuilder#pull(Class)}; works on channels, patterns, Lists and
 * Streams.
 *
 * <pre>{@code
 * PullSubscription<Order> orders = broker.subscriber(list("orders")).pull(Order.class);
 * Message<Order> m = orders.get(Duration.ofSeconds(5));   // null when nothing came in 5 s
 * for (Message<Order> next : orders.messages(Duration.ofSeconds(1))) { ... }  // ends after 1 s idle
 * }</pre>
 *
 * <p>It is a subscription like any other: one per id (the broker's {@link DuplicatePolicy}), listed
 * in {@link Broker#subscriptions()}, started with the broker (or at once on a running one), stopped
 * and closed the same way, and its messages run the same consume chain (decoding, validation,
 * middlewares; a message that cannot be decoded is rejected to the dead letter and never reaches
 * the caller).
 *
 * <p>Delivery: the subscription hands one message at a time to whoever calls {@link #get}; for
 * at-least-once destinations (reliable Lists, Stream groups) it fetches the next one only when the
 * previous one is done, so Redis, not the JVM, keeps the backlog (Pub/Sub messages wait in the
 * subscription's buffer, dropped when it is full, as for any subscription). A message is done when
 * the caller settles it or pulls the next one. By the {@link AckPolicy}: {@code MANUAL} — the
 * caller settles with {@link Message#ack()}, {@code nack()} or {@code reject()} (pulling the next
 * message leaves an unsettled one in Redis); {@code ACK_FIRST} — acknowledged on receipt, before it
 * is handed out (at-most-once); the others — acknowledged when the caller pulls the next message or
 * the subscription stops, unless the caller settled it before. A message nobody pulled when the
 * subscription stops goes back to Redis untouched, as a handler's buffered messages do; a {@code
 * MANUAL} message still unsettled then stays in Redis and comes back (settling it after the stop
 * does nothing).
 *
 * <p>Threads: the methods are thread-safe; several threads may pull from one subscription, each
 * message going to one of them, in the order received. A thread waiting in {@link #get} returns
 * null when the subscription stops or closes, or when it is interrupted (its interrupt flag set).
 *
 * @param <T> the payload's type
 */
public interface PullSubscription<T> extends Subscription {

  /**
   * The next message, waiting up to {@code timeout}; null when none came in time, when the
   * subscription is stopped or closed, or when the thread is interrupted (its interrupt flag stays
   * set). Finishes the message pulled before (see the class comment).
   */
  Message<T> get(Duration timeout);

  /**
   * The messages as they come, for a for-each loop: it ends when none came within {@code
   * idleTimeout}, or the subscription stopped or closed. Each iteration finishes the message of the
   * previous one as {@link #get} does. On a reliable List or Stream group, a message the iterator's
   * {@code hasNext()} fetched but its {@code next()} never returned (the caller left the loop) goes
   * to the next {@link #get} instead of being acknowledged for nobody.
   */
  Iterable<Message<T>> messages(Duration idleTimeout);

  /** {@link #messages(Duration)} as a sequential {@link Stream}, in the order received. */
  Stream<Message<T>> stream(Duration idleTimeout);
}
