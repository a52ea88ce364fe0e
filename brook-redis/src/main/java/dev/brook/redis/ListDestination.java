package dev.brook.redis;

import dev.brook.Destination;
import dev.brook.redis.internal.Keys;
import java.time.Duration;
import java.util.Objects;

/**
 * A Redis List used as a queue: publishers RPUSH, consumers take from the left (FIFO); each item
 * goes to one consumer.
 *
 * <p><b>Reliable by default</b> (at-least-once): a consumer moves an item atomically into its own
 * processing list ({@code {jobs}:processing:<consumer>}) with BLMOVE, and removes it on ack (LREM).
 * Nack puts it back at the head of the queue; reject moves it to the dead-letter list when {@link
 * #deadLetter()} is set, else drops it. Every consumer keeps a heartbeat key with a TTL; a
 * consumer that starts moves back the items of processing lists whose owner's heartbeat has
 * expired, so a crashed process loses nothing. {@link #atMostOnce()} uses plain BLPOP instead.
 *
 * <p>Immutable: every option returns a new destination. Create with {@link Redis#list(String)}.
 */
public final class ListDestination implements Destination {

  private final String name;
  private final boolean atMostOnce;
  private final String deadLetter;
  private final String consumer;
  private final Duration heartbeat;

  ListDestination(String name) {
    this(checkName(name), false, null, null, Duration.ofSeconds(10));
  }

  private ListDestination(String name, boolean atMostOnce, String deadLetter, String consumer, Duration heartbeat) {
    this.name = name;
    this.atMostOnce = atMostOnce;
    this.deadLetter = deadLetter;
    this.consumer = consumer;
    this.heartbeat = heartbeat;
  }

  private static String checkName(String name) {
    Objects.requireNonNull(name, "list name");
    if (name.isEmpty()) {
      throw new IllegalArgumentException("A list name must not be empty.");
    }
    return name;
  }

  /** Plain BLPOP: an item is gone from Redis once popped (FastStream's list semantics). */
  public ListDestination atMostOnce() {
    return new ListDestination(name, true, deadLetter, consumer, heartbeat);
  }

  /** Rejected items go to {@code {name}:dlq} (a list), with the reason in the envelope's {@code x-error} header. */
  public ListDestination deadLetter() {
    return new ListDestination(name, atMostOnce, Keys.derived(name, "dlq"), consumer, heartbeat);
  }

  /** This consumer's name (its processing list and heartbeat carry it); default: {@link Redis#defaultConsumerName()}. */
  public ListDestination consumer(String consumer) {
    Objects.requireNonNull(consumer, "consumer");
    return new ListDestination(name, atMostOnce, deadLetter, consumer, heartbeat);
  }

  /**
   * How long a consumer's heartbeat key lives without renewal (default 10 s; renewed every third
   * of it). After that its processing list counts as abandoned and other consumers recover it.
   */
  public ListDestination heartbeat(Duration ttl) {
    if (ttl.toMillis() < 300) {
      throw new IllegalArgumentException("heartbeat must be at least 300 ms, was " + ttl + ".");
    }
    return new ListDestination(name, atMostOnce, deadLetter, consumer, ttl);
  }

  @Override
  public String name() {
    return name;
  }

  /** {@code list:jobs}: one id per list, so a consumer name does not make re-registrations stack. */
  @Override
  public String key() {
    return "list:" + name;
  }

  @Override
  public boolean atLeastOnce() {
    return !atMostOnce;
  }

  public boolean isAtMostOnce() {
    return atMostOnce;
  }

  /** The dead-letter list's key, or null when rejected items are dropped. */
  public String deadLetterKey() {
    return deadLetter;
  }

  /** The consumer name, or the process default. */
  public String consumerName() {
    return consumer != null ? consumer : Redis.defaultConsumerName();
  }

  public Duration heartbeatTtl() {
    return heartbeat;
  }

  /** {@code {jobs}:processing:<consumer>}. */
  public String processingKey() {
    return Keys.derived(name, "processing:" + consumerName());
  }

  @Override
  public ListDestination withName(String name) {
    return new ListDestination(checkName(name), atMostOnce,
        deadLetter == null ? null : Keys.derived(name, "dlq"), consumer, heartbeat);
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof ListDestination l && l.name.equals(name) && l.atMostOnce == atMostOnce
        && Objects.equals(l.deadLetter, deadLetter) && Objects.equals(l.consumer, consumer) && l.heartbeat.equals(heartbeat);
  }

  @Override
  public int hashCode() {
    return Objects.hash(name, atMostOnce, deadLetter, consumer);
  }

  @Override
  public String toString() {
    return key() + (atMostOnce ? " (at-most-once)" : "");
  }
}
