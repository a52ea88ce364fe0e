package dev.brook.redis;

import dev.brook.Destination;
import dev.brook.redis.internal.Durability;
import dev.brook.redis.internal.Keys;
import dev.brook.redis.internal.jobs.JobOptions;
import java.time.Duration;
import java.util.Map;
import java.util.Objects;
import java.util.function.Function;

/**
 * A Redis List used as a queue: publishers RPUSH, consumers take from the left (FIFO); each item
 * goes to one consumer.
 *
 * <p><b>Reliable by default</b> (at-least-once): a consumer moves an item atomically into its own
 * processing list ({@code {jobs}:processing:<consumer>}; each subscription has its own, see {@link
 * #consumer(String)}) and removes it when the handler is done. Every consumer keeps a heartbeat key
 * with a TTL, renewed by a platform thread so busy handlers cannot let it lapse; consumers move
 * back the items of processing lists whose owner's heartbeat has expired, so a crashed process
 * loses nothing. {@link #atMostOnce()} uses plain BLPOP instead.
 *
 * <p>Settlement: reject moves the item to the dead-letter list when {@link #deadLetter()} is set,
 * else drops it. Nack gives it back after a back-off (100 ms, doubling with each delivery, at most
 * 10 s; at once when the subscription stops), at the head of the queue, with the header {@value
 * #DELIVERIES_HEADER} counting its deliveries so far ({@code MessageContext.deliveryCount()} is one
 * more); the nack of its {@link #maxDeliveries(int)}-th delivery dead-letters it instead (or drops
 * it with a WARN when there is no dead letter), with {@code x-error} naming the deliveries and the
 * last error. A stop gives back what the subscription had fetched but not finished, at the head of
 * the queue in the order it was fetched.
 *
 * <p>Immutable: every option returns a new destination. Create with {@link Redis#list(String)}.
 */
public final class ListDestination implements RedisDestination {

  /**
   * The header a nacked item carries when it goes back to the queue: how many times it has been
   * delivered so far. Other readers (FastStream) see it as one more header; a dead letter carries
   * {@code x-delivery-count} instead, so an item moved back from the dead letter starts afresh.
   */
  public static final String DELIVERIES_HEADER = "x-deliveries";

  private final String name;
  private final boolean atMostOnce;
  private final String deadLetter;
  private final String consumer;
  private final Duration heartbeat;
  private final int maxDeliveries;
  /** null: Brook's default block time. */
  private final Duration pollInterval;
  /** null: the broker's default ({@code RedisBroker.builder().waitForReplicas}). */
  private final Durability durability;
  /** Rate limit and idempotency ({@code JobOptions.NONE} when none). */
  private final JobOptions jobs;

  ListDestination(String name) {
    this(checkName(name), false, null, null, Duration.ofSeconds(10), 5, null, null, JobOptions.NONE);
  }

  private ListDestination(String name, boolean atMostOnce, String deadLetter, String consumer, Duration heartbeat,
      int maxDeliveries, Duration pollInterval, Durability durability, JobOptions jobs) {
    this.pollInterval = pollInterval;
    this.durability = durability;
    this.jobs = jobs;
    this.name = name;
    this.atMostOnce = atMostOnce;
    this.deadLetter = deadLetter;
    this.consumer = consumer;
    this.heartbeat = heartbeat;
    this.maxDeliveries = maxDeliveries;
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
    return new ListDestination(name, true, deadLetter, consumer, heartbeat, maxDeliveries, pollInterval, durability, jobs);
  }

  /** Rejected items go to {@code {name}:dlq} (a list), with the reason in the envelope's {@code x-error} header. */
  public ListDestination deadLetter() {
    return new ListDestination(name, atMostOnce, Keys.derived(name, "dlq"), consumer, heartbeat, maxDeliveries,
        pollInterval, durability, jobs);
  }

  /**
   * This consumer's name (its processing list and heartbeat carry it). By default Brook names each
   * subscription apart: {@link Redis#defaultConsumerName()}, with {@code -<n>} for the n-th broker
   * alive in the process and {@code /<subscription id>} when the id is not the list's default id,
   * so two subscriptions never share a processing list. An explicit name is used as it is, and two
   * live subscriptions of one broker cannot use the same one.
   */
  public ListDestination consumer(String consumer) {
    Objects.requireNonNull(consumer, "consumer");
    return new ListDestination(name, atMostOnce, deadLetter, consumer, heartbeat, maxDeliveries, pollInterval, durability, jobs);
  }

  /**
   * How long a consumer's heartbeat key lives without renewal (default 10 s; renewed every third
   * of it). After that its processing list counts as abandoned and other consumers recover it.
   */
  public ListDestination heartbeat(Duration ttl) {
    if (ttl.toMillis() < 300) {
      throw new IllegalArgumentException("heartbeat must be at least 300 ms, was " + ttl + ".");
    }
    return new ListDestination(name, atMostOnce, deadLetter, consumer, ttl, maxDeliveries, pollInterval, durability, jobs);
  }

  /**
   * Deliveries after which a nacked item goes to the dead letter (or is dropped with a WARN without
   * one) instead of back to the queue; default 5, as for streams. Counted in the item itself
   * ({@value #DELIVERIES_HEADER}); a give-back at stop and a recovery after a crash do not count.
   */
  public ListDestination maxDeliveries(int maxDeliveries) {
    if (maxDeliveries < 1) {
      throw new IllegalArgumentException("maxDeliveries must be at least 1, was " + maxDeliveries + ".");
    }
    return new ListDestination(name, atMostOnce, deadLetter, consumer, heartbeat, maxDeliveries, pollInterval, durability, jobs);
  }

  /**
   * How long one read waits for an item ({@code BLMOVE}/{@code BLPOP} timeout; FastStream's
   * {@code polling_interval}); by default at most 2 s (half the command timeout). Shorter reacts
   * sooner to a stop; longer asks Redis less often when idle. Must be shorter than half the
   * broker's {@code commandTimeout} (checked when the subscription starts). An item pushed while a
   * read waits arrives at once either way.
   */
  public ListDestination pollInterval(Duration interval) {
    Objects.requireNonNull(interval, "pollInterval");
    if (interval.isNegative() || interval.isZero()) {
      throw new IllegalArgumentException("pollInterval must be positive, was " + interval + ".");
    }
    return new ListDestination(name, atMostOnce, deadLetter, consumer, heartbeat, maxDeliveries, interval, durability, jobs);
  }

  /** The read's wait set with {@link #pollInterval(Duration)}, or null for the default. */
  public Duration pollIntervalTime() {
    return pollInterval;
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

  /** {@inheritDoc} For this destination: {@link #maxDeliveryCount()} when it counts deliveries. */
  @Override
  public int maxDeliveries() {
    return isAtMostOnce() ? 0 : maxDeliveries;
  }

  /** Deliveries after which a nacked item is dead-lettered; see {@link #maxDeliveries(int)}. */
  public int maxDeliveryCount() {
    return maxDeliveries;
  }

  /**
   * {@code {jobs}:processing:<consumer>} for {@link #consumerName()}: the processing list of the
   * subscription with the list's default id on the process's first broker, or of an explicit {@link
   * #consumer(String)}.
   */
  public String processingKey() {
    return Keys.derived(name, "processing:" + consumerName());
  }

  /**
   * Durable publishing: a publish to this list completes only when Redis has the message
   * <em>and</em> at least {@code replicas} replicas have acknowledged it ({@code WAIT replicas
   * timeout} right after the write, on the same connection). Overrides the broker's {@code
   * RedisBroker.builder().waitForReplicas(...)} for this destination; {@code 0} turns waiting off.
   *
   * <p>Guarantee: an acknowledged publish survives the loss of the primary as long as one of those
   * replicas is promoted (Sentinel promotes the most up-to-date one). When fewer replicas acknowledge
   * within {@code timeout}, the publish fails with a {@link NotReplicatedException} naming how many
   * did; the message is then in Redis all the same and may yet be replicated, or lost if the
   * primary fails before: publishing it again may store it twice. It costs a round trip to the
   * replicas per publish (per batch for batches and pipelines). Durable publishes go on a
   * connection of their own, so WAIT never holds up acknowledgements and heartbeats; they are
   * ordered among themselves, not with non-durable publishes that were not waited for.
   *
   * @param replicas how many replicas must have the message, at least 0
   * @param timeout how long Redis waits for them: positive, and shorter than the broker's {@code
   *     commandTimeout} (checked at the publish)
   */
  public ListDestination waitForReplicas(int replicas, Duration timeout) {
    Durability d = Durability.of(replicas, timeout);
    return new ListDestination(name, atMostOnce, deadLetter, consumer, heartbeat, maxDeliveries, pollInterval, d, jobs);
  }

  /** The replicas a publish waits for ({@link #waitForReplicas}); -1 when the broker's default applies. */
  public int replicasToWait() {
    return durability == null ? -1 : durability.replicas();
  }

  /** How long a publish waits for them; null when the broker's default applies. */
  public Duration replicaWaitTimeout() {
    return durability == null ? null : durability.timeout();
  }


  /**
   * A rate limit shared by every consumer of this list in every process: at most {@code
   * messages} deliveries per {@code per} (a burst of up to {@code messages}, then evenly), counted
   * by a token bucket in Redis ({@code {name}:rate}, one Lua script per read, on Redis' own
   * clock so the processes' clocks do not matter). A consumer takes tokens <em>before</em> it reads
   * and reads no more messages than it got tokens, giving back those it did not use; without a
   * token it waits until the next one is due, holding no message. Redeliveries count like new
   * messages. See docs/jobs.md, "Rate limits".
   */
  public ListDestination rateLimit(int messages, Duration per) {
    return withJobs(jobs.withRate(messages, per));
  }

  /**
   * A rate limit per key, so one tenant cannot starve the others: at most {@code messages} per
   * {@code per} for the messages whose header {@code header} holds the same value, shared by every
   * consumer of this list (a token bucket {@code {name}:rate:<key>} in Redis). A message over its
   * key's limit does not wait in the consumer, nor block the messages behind it: one Lua script
   * moves it from the processing list to {@code {name}:wait:<key>} and records when its key's next
   * token is due in {@code {name}:waiting}; consumers move due ones back to the head of the queue.
   * Messages without the header are not limited by key. Applies after {@link #rateLimit}, if any.
   * Reliable lists only; not with {@link #concurrencyPerKey}. See docs/jobs.md, "Rate limits".
   */
  public ListDestination rateLimitPerKey(String header, int messages, Duration per) {
    return withJobs(jobs.withKeyRate(header, null, messages, per));
  }

  /**
   * {@link #rateLimitPerKey(String, int, Duration)} with the key computed from the message's
   * headers: {@code key} gets the headers (read-only) and returns the key, or null for a message
   * not limited by key. It runs on the consumer's loop thread for every message read, so it must be
   * fast and must not block; an exception it throws is logged (at most 10 WARN lines a minute) and
   * the message is treated as having no key.
   */
  public ListDestination rateLimitPerKey(Function<Map<String, String>, String> key, int messages, Duration per) {
    return withJobs(jobs.withKeyRate(null, Objects.requireNonNull(key, "key"), messages, per));
  }

  /**
   * At most {@code max} messages whose header {@code header} holds the same value in flight at
   * once, across every consumer of this list in every process (BullMQ Pro's group concurrency).
   * Each running message holds a slot, a member of the sorted set {@code {name}:slots:<key>}
   * scored by its lease expiry; the consumer's heartbeat renews its slots' leases and the
   * settlement of the message (ack, nack, reject, give-back) releases its slot in the same script,
   * so a crashed consumer's slots free themselves after the heartbeat TTL. A message whose key has
   * no free slot is parked like an over-limit message of {@link #rateLimitPerKey} ({@code
   * {name}:wait:<key>}, atomically, never in two lists) and the settlement that frees a slot moves
   * the key's next parked message back to the head of the queue. Messages without the header are
   * not limited by key. Reliable lists only; not with {@link #rateLimitPerKey} (combine with
   * {@link #rateLimit} instead). Order among one key's messages is not kept once any is parked. See
   * docs/jobs.md, "Concurrency per key".
   */
  public ListDestination concurrencyPerKey(String header, int max) {
    return withJobs(jobs.withKeyConcurrency(header, null, max));
  }

  /**
   * {@link #concurrencyPerKey(String, int)} with the key computed from the headers (see {@link
   * #rateLimitPerKey(Function, int, Duration)} for what the function may do).
   */
  public ListDestination concurrencyPerKey(Function<Map<String, String>, String> key, int max) {
    return withJobs(jobs.withKeyConcurrency(null, Objects.requireNonNull(key, "key"), max));
  }

  /** The header {@link #rateLimitPerKey} or {@link #concurrencyPerKey} reads the key from; null when none or a function. */
  public String rateLimitKeyHeader() {
    return jobs.keyHeader();
  }

  /**
   * How {@link #rateLimitPerKey} or {@link #concurrencyPerKey} finds a message's key from its
   * headers (reading the header, or the function given); null when there is no per-key limit.
   */
  public Function<Map<String, String>, String> perKey() {
    return jobs.keyOf();
  }

  /** The messages per {@link #rateLimitPerKeyPeriod()} of {@link #rateLimitPerKey}, 0 when none. */
  public int rateLimitPerKeyCount() {
    return jobs.keyRate();
  }

  /** The period of {@link #rateLimitPerKey}, null when none. */
  public Duration rateLimitPerKeyPeriod() {
    return jobs.keyRate() == 0 ? null : Duration.ofMillis(jobs.keyPerMillis());
  }

  /** The messages of one key allowed in flight at once by {@link #concurrencyPerKey}, 0 when none. */
  public int concurrencyPerKeyCount() {
    return jobs.keyConcurrency();
  }

  /**
   * Skips a message whose {@code message_id} this list's consumers already completed within
   * {@code ttl}: the id is recorded when the message is acknowledged (a key {@code
   * {name}:done:<id>} with that TTL) and a delivery of a recorded id is acknowledged without
   * running the handler. Messages without a {@code message_id} header (see {@code
   * RedisBroker.builder().messageIds}) are always handled. See docs/jobs.md, "Idempotent consumers".
   */
  public ListDestination idempotent(Duration ttl) {
    return withJobs(jobs.withIdempotent(ttl));
  }

  private ListDestination withJobs(JobOptions jobs) {
    return new ListDestination(name, atMostOnce, deadLetter, consumer, heartbeat, maxDeliveries, pollInterval, durability, jobs);
  }

  /** The messages per {@link #rateLimitPeriod()} set with {@link #rateLimit}, 0 when there is no rate limit. */
  public int rateLimitCount() {
    return jobs.rate();
  }

  /** The period of {@link #rateLimit}, null when there is no rate limit. */
  public Duration rateLimitPeriod() {
    return jobs.rateLimited() ? Duration.ofMillis(jobs.perMillis()) : null;
  }

  /** The window set with {@link #idempotent}, null when consumption is not idempotent. */
  public Duration idempotentTtl() {
    return jobs.idempotentTtl();
  }

  @Override
  public ListDestination withName(String name) {
    return new ListDestination(checkName(name), atMostOnce,
        deadLetter == null ? null : Keys.derived(name, "dlq"), consumer, heartbeat, maxDeliveries, pollInterval, durability, jobs);
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof ListDestination l && l.name.equals(name) && l.atMostOnce == atMostOnce
        && Objects.equals(l.deadLetter, deadLetter) && Objects.equals(l.consumer, consumer) && l.heartbeat.equals(heartbeat)
        && l.maxDeliveries == maxDeliveries && Objects.equals(l.pollInterval, pollInterval)
        && Objects.equals(l.durability, durability) && l.jobs.equals(jobs);
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
