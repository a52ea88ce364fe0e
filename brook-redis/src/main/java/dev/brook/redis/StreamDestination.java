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
 * A Redis Stream. Publishing is XADD with the envelope in the field {@code __data__} (optionally
 * trimmed with {@link #maxLen(long)}); an entry written by another tool without that field is read
 * as FastStream reads it: its field {@code data} is the payload when it has one (and no field
 * {@code headers}), else the entry is decoded as a JSON object of its fields.
 *
 * <p><b>Without a group</b>: XREAD BLOCK from {@code $} (or {@link #startFrom(String)}), each
 * process reads every entry, at-most-once.
 *
 * <p><b>With a group</b> ({@link #group(String)}): XREADGROUP, at-least-once. On start a consumer
 * first takes its own pending entries (a restart, or a replacement of its subscription), then new
 * ones; the group is created (MKSTREAM) when missing, at {@code $} or at {@link
 * #startFrom(String)} (never with {@link #declare(boolean) declare(false)}). While reading, live consumers also take over entries idle longer than {@link
 * #minIdle(Duration)}, so a crashed consumer's entries are redelivered.
 *
 * <p>Delivery counts are handler attempts: {@code MessageContext.deliveryCount()} is 1 for the first
 * run of the handler, n for the n-th, and Redis' delivery counter (XPENDING) says the same. Entries
 * a stopping subscription had buffered, or whose handler the stop interrupted at the graceful
 * deadline, go back with their count unchanged.
 *
 * <p>Settlement: ack is XACK (plus XDEL with {@link #deleteOnAck()}), sent in batches; nack leaves
 * the entry pending and the same consumer runs it again after a back-off (100 ms after the first
 * attempt, doubling, at most 2 s); the failure of attempt {@link #maxDeliveries(int)}, or a reject,
 * moves the entry to {@code {stream}:dlq} (XADD and XACK in one script) with headers naming the
 * stream, id, group, delivery count and error ({@code x-error}, e.g. {@code failed 5 times
 * (maxDeliveries 5); last error: ...}).
 *
 * <p><b>Partitioned</b> ({@link #partitions(int)}): one logical stream spread over n Redis streams,
 * {@code {orders:0}} … {@code {orders:n-1}}, whose hash tags put them on different slots (and so on
 * different masters of a Redis Cluster). A message published with a key ({@code
 * broker.publish(payload, stream, key)}, the header {@link dev.brook.Broker#KEY_HEADER}) goes to
 * partition {@code crc16(utf8(key)) mod n}, so one key's messages keep their order; one without a key
 * goes to the next partition round-robin. A group's members share the partitions through leases kept
 * in Redis (see {@link #partitions(int)}); without a group a reader reads every partition.
 *
 * <p>Immutable: every option returns a new destination. Create with {@link Redis#stream(String)}.
 */
public final class StreamDestination implements RedisDestination {

  /** {@link #startFrom(String)}: the whole history. */
  public static final String BEGINNING = "0";

  /** The most partitions {@link #partitions(int)} takes. */
  public static final int MAX_PARTITIONS = 1024;

  /** The default {@link #leaseTime(Duration)}: 10 s. */
  public static final Duration DEFAULT_LEASE_TIME = Duration.ofSeconds(10);

  /** {@link #startFrom(String)}: only entries added after the group (or reader) starts; the default. */
  public static final String LATEST = "$";

  private final String name;
  private final String group;
  private final String consumer;
  private final String startFrom;
  private final Duration minIdle;
  private final int maxDeliveries;
  private final boolean deleteOnAck;
  private final long maxLen;
  private final boolean declare;
  private final boolean noAck;
  /** null: Brook's default block time. */
  private final Duration pollInterval;
  /** null: the broker's default ({@code RedisBroker.builder().waitForReplicas}). */
  private final Durability durability;
  /** 1: one stream under {@code name}; more: {@code {name:0}} … {@code {name:n-1}}. */
  private final int partitions;
  private final Duration leaseTime;
  /** Rate limit and idempotency ({@code JobOptions.NONE} when none). */
  private final JobOptions jobs;

  StreamDestination(String name) {
    this(checkName(name), null, null, LATEST, Duration.ofSeconds(30), 5, false, 0, true, false, null, null, 1,
        DEFAULT_LEASE_TIME, JobOptions.NONE);
  }

  private StreamDestination(String name, String group, String consumer, String startFrom, Duration minIdle,
      int maxDeliveries, boolean deleteOnAck, long maxLen, boolean declare, boolean noAck, Duration pollInterval,
      Durability durability, int partitions, Duration leaseTime, JobOptions jobs) {
    this.partitions = partitions;
    this.leaseTime = leaseTime;
    this.declare = declare;
    this.noAck = noAck;
    this.pollInterval = pollInterval;
    this.durability = durability;
    this.jobs = jobs;
    this.name = name;
    this.group = group;
    this.consumer = consumer;
    this.startFrom = startFrom;
    this.minIdle = minIdle;
    this.maxDeliveries = maxDeliveries;
    this.deleteOnAck = deleteOnAck;
    this.maxLen = maxLen;
  }

  private static String checkName(String name) {
    Objects.requireNonNull(name, "stream name");
    if (name.isEmpty()) {
      throw new IllegalArgumentException("A stream name must not be empty.");
    }
    return name;
  }

  /** Reads as a member of this consumer group (at-least-once). */
  public StreamDestination group(String group) {
    Objects.requireNonNull(group, "group");
    return new StreamDestination(name, group, consumer, startFrom, minIdle, maxDeliveries, deleteOnAck, maxLen,
        declare, noAck, pollInterval, durability, partitions, leaseTime, jobs);
  }

  /** The consumer's name within the group; default {@link Redis#defaultConsumerName()}. */
  public StreamDestination consumer(String consumer) {
    Objects.requireNonNull(consumer, "consumer");
    if (consumer.startsWith("brook-parked:")) {
      throw new IllegalArgumentException("Consumer name '" + consumer + "' of stream " + name + " is taken: names "
          + "starting with 'brook-parked:' are the group's parking consumers of rateLimitPerKey and concurrencyPerKey. "
          + "Choose another name.");
    }
    return new StreamDestination(name, group, consumer, startFrom, minIdle, maxDeliveries, deleteOnAck, maxLen,
        declare, noAck, pollInterval, durability, partitions, leaseTime, jobs);
  }

  /** Where a new group (or a reader without group) starts: {@link #LATEST} (default), {@link #BEGINNING} or an entry id. */
  public StreamDestination startFrom(String id) {
    Objects.requireNonNull(id, "startFrom");
    return new StreamDestination(name, group, consumer, id, minIdle, maxDeliveries, deleteOnAck, maxLen,
        declare, noAck, pollInterval, durability, partitions, leaseTime, jobs);
  }

  /**
   * How long an entry may stay with one consumer before another live consumer of the group takes it
   * over (delivering it again, one attempt more): the way entries of a consumer that crashed or went
   * away are redelivered. Default 30 s; keep it longer than the slowest handler, or an entry still
   * being handled is taken over and handled twice. Not a retry delay: a nacked entry is retried by
   * its own consumer after a back-off of 100 ms to 2 s.
   */
  public StreamDestination minIdle(Duration minIdle) {
    if (minIdle.isNegative() || minIdle.isZero()) {
      throw new IllegalArgumentException("minIdle must be positive, was " + minIdle + ".");
    }
    return new StreamDestination(name, group, consumer, startFrom, minIdle, maxDeliveries, deleteOnAck, maxLen,
        declare, noAck, pollInterval, durability, partitions, leaseTime, jobs);
  }

  /**
   * How many times the handler may run for one entry; default 5. The failure (nack) of the last
   * attempt sends the entry to the dead letter at once; an entry found with this many attempts and
   * no settlement (its consumer died during each) goes there instead of to the handler.
   */
  public StreamDestination maxDeliveries(int maxDeliveries) {
    if (maxDeliveries < 1) {
      throw new IllegalArgumentException("maxDeliveries must be at least 1, was " + maxDeliveries + ".");
    }
    return new StreamDestination(name, group, consumer, startFrom, minIdle, maxDeliveries, deleteOnAck, maxLen,
        declare, noAck, pollInterval, durability, partitions, leaseTime, jobs);
  }

  /** XDEL acknowledged entries too, so the stream holds only what is not yet handled. */
  public StreamDestination deleteOnAck() {
    return new StreamDestination(name, group, consumer, startFrom, minIdle, maxDeliveries, true, maxLen,
        declare, noAck, pollInterval, durability, partitions, leaseTime, jobs);
  }

  /**
   * Whether Brook creates a missing group, and its stream (FastStream's {@code declare}): yes by
   * default ({@code XGROUP CREATE ... MKSTREAM} at start, and again when the group is gone later).
   * With {@code declare(false)} the stream and the group are the operator's: Brook never sends
   * {@code XGROUP CREATE} (FastStream still creates the group, without MKSTREAM). A missing group or
   * stream, at start or later (NOGROUP after the stream was deleted), is an ERROR naming the stream,
   * the group and the fix ({@code XGROUP CREATE <stream> <group> $ MKSTREAM}, or drop {@code
   * declare(false)}), at most one a minute; the consumer backs off (up to 5 s) and keeps trying, so
   * it starts consuming as soon as the group exists, from where it was created. Only for a group.
   */
  public StreamDestination declare(boolean declare) {
    return new StreamDestination(name, group, consumer, startFrom, minIdle, maxDeliveries, deleteOnAck, maxLen,
        declare, noAck, pollInterval, durability, partitions, leaseTime, jobs);
  }

  /**
   * Reads with {@code XREADGROUP ... NOACK} (FastStream's {@code no_ack}): Redis keeps no pending
   * entry, so there is nothing to acknowledge, nack, claim or dead-letter: at-most-once, like a
   * stream without a group but shared by the group's consumers. An entry whose handler fails, or
   * that a stop or crash interrupts, is lost. Only for a group.
   */
  public StreamDestination noAck() {
    return new StreamDestination(name, group, consumer, startFrom, minIdle, maxDeliveries, deleteOnAck, maxLen,
        declare, true, pollInterval, durability, partitions, leaseTime, jobs);
  }

  /**
   * How long one read for new entries blocks ({@code XREAD}/{@code XREADGROUP ... BLOCK};
   * FastStream's {@code polling_interval}); by default at most 2 s (half the command timeout), and at
   * most 100 ms while entries are out. Shorter reacts sooner to a stop; longer asks Redis less
   * often when idle. Must be shorter than half the broker's {@code commandTimeout} (checked when
   * the subscription starts); with a group the takeover of idle entries ({@link #minIdle}) may wait
   * up to this long.
   */
  public StreamDestination pollInterval(Duration interval) {
    Objects.requireNonNull(interval, "pollInterval");
    if (interval.isNegative() || interval.isZero()) {
      throw new IllegalArgumentException("pollInterval must be positive, was " + interval + ".");
    }
    return new StreamDestination(name, group, consumer, startFrom, minIdle, maxDeliveries, deleteOnAck, maxLen,
        declare, noAck, interval, durability, partitions, leaseTime, jobs);
  }

  /** Publishing trims the stream to about this many entries ({@code XADD MAXLEN ~ n}); 0 (default) keeps all. */
  public StreamDestination maxLen(long maxLen) {
    if (maxLen < 0) {
      throw new IllegalArgumentException("maxLen must not be negative, was " + maxLen + ".");
    }
    return new StreamDestination(name, group, consumer, startFrom, minIdle, maxDeliveries, deleteOnAck, maxLen,
        declare, noAck, pollInterval, durability, partitions, leaseTime, jobs);
  }

  /**
   * Spreads this stream over {@code n} Redis streams (partitions) named {@code {name:0}} … {@code
   * {name:n-1}}: each name is its own hash tag, so on a Redis Cluster the partitions land on
   * different slots and, spread by CRC16, on different masters; 1 (the default) is the plain stream
   * {@code name}. Publishing routes a message with a key ({@link dev.brook.Broker#KEY_HEADER}) to
   * partition {@code crc16(utf8(key)) mod n} (CRC16-XMODEM, the checksum of Redis Cluster's key
   * slots; Python: {@code binascii.crc_hqx(key.encode(), 0) % n}), so all messages of one key go to
   * one partition and keep their order; messages without a key go round-robin. Batches and
   * pipelines route each message on its own.
   *
   * <p>With a group, the members of the group (subscriptions in any process) share the partitions
   * through leases kept in Redis ({@code {name:i}:lease:<group>}, held for {@link
   * #leaseTime(Duration)} and renewed every third of it) and a member set ({@code
   * {name}:members:<group>}): each takes its fair share (⌈n ÷ members⌉ or ⌊n ÷ members⌋) and reads
   * each partition it holds with one stream consumer of its own. A partition is read by one member
   * at a time: a member gives one up only after the messages it took from it are settled, and a
   * crashed member's leases expire after the lease time, when another member takes the partition
   * over together with its pending entries. Dead letters of partition i go to {@code {name:i}:dlq}.
   * Without a group every reader reads every partition.
   *
   * @param n 1 to {@value #MAX_PARTITIONS}
   * @throws IllegalArgumentException with {@link #rateLimit}, {@link #rateLimitPerKey} or {@link
   *     #concurrencyPerKey} set (see there)
   */
  public StreamDestination partitions(int n) {
    if (n < 1 || n > MAX_PARTITIONS) {
      throw new IllegalArgumentException("partitions must be between 1 and " + MAX_PARTITIONS + ", was " + n
          + " (stream " + name + ").");
    }
    checkPartitionable(name, n);
    if (n > 1 && jobs.rateLimited()) {
      throw partitionedRateLimit(name, n);
    }
    if (n > 1 && jobs.perKey()) {
      throw partitionedPerKey(name, n);
    }
    return new StreamDestination(name, group, consumer, startFrom, minIdle, maxDeliveries, deleteOnAck, maxLen,
        declare, noAck, pollInterval, durability, n, leaseTime, jobs);
  }

  private static void checkPartitionable(String name, int n) {
    if (n > 1 && (name.indexOf('{') >= 0 || name.indexOf('}') >= 0)) {
      throw new IllegalArgumentException("Stream '" + name + "' cannot be partitioned: its partitions are named {"
          + name + ":0} … and a name with braces would give them all one hash tag (one slot). Use a name without "
          + "'{' and '}'.");
    }
  }

  /**
   * How long a member of a partitioned stream's group holds a partition's lease without renewing it
   * (it renews every third of it): a crashed member's partitions go to others after at most this
   * long, and members joining or leaving are balanced within two of it. Default 10 s; at least
   * 300 ms. Only for a partitioned stream with a group.
   */
  public StreamDestination leaseTime(Duration leaseTime) {
    Objects.requireNonNull(leaseTime, "leaseTime");
    if (leaseTime.toMillis() < 300) {
      throw new IllegalArgumentException("leaseTime must be at least 300 ms, was " + leaseTime + ".");
    }
    return new StreamDestination(name, group, consumer, startFrom, minIdle, maxDeliveries, deleteOnAck, maxLen,
        declare, noAck, pollInterval, durability, partitions, leaseTime, jobs);
  }

  /** How many partitions: 1 for a plain stream; see {@link #partitions(int)}. */
  public int partitionCount() {
    return partitions;
  }

  /** The lease time of a partitioned stream's members; see {@link #leaseTime(Duration)}. */
  public Duration leaseDuration() {
    return leaseTime;
  }

  /**
   * The Redis key of partition {@code i}: {@code {name:i}}; the stream's own name when it is not
   * partitioned.
   */
  public String partitionKey(int i) {
    if (i < 0 || i >= partitions) {
      throw new IllegalArgumentException("Stream " + name + " has partitions 0.." + (partitions - 1) + ", not " + i + ".");
    }
    return partitions == 1 ? name : "{" + name + ":" + i + "}";
  }

  /**
   * Partition {@code i} alone: a plain stream named {@link #partitionKey(int) partitionKey(i)} with
   * every other option of this one (its dead letters in {@code {name:i}:dlq}).
   */
  public StreamDestination partition(int i) {
    return new StreamDestination(partitionKey(i), group, consumer, startFrom, minIdle, maxDeliveries, deleteOnAck,
        maxLen, declare, noAck, pollInterval, durability, 1, leaseTime, jobs);
  }

  @Override
  public String name() {
    return name;
  }

  /** {@code stream:events} without a group, {@code stream:events/g/c1} with one. */
  @Override
  public String key() {
    return group == null ? "stream:" + name : "stream:" + name + "/" + group + "/" + consumerName();
  }

  @Override
  public boolean atLeastOnce() {
    return group != null && !noAck;
  }

  /** {@inheritDoc} For this destination: {@link #maxDeliveryCount()} when it counts deliveries. */
  @Override
  public int maxDeliveries() {
    return atLeastOnce() ? maxDeliveries : 0;
  }

  /** The group, or null. */
  public String groupName() {
    return group;
  }

  public String consumerName() {
    return consumer != null ? consumer : Redis.defaultConsumerName();
  }

  public String startId() {
    return startFrom;
  }

  public Duration minIdleTime() {
    return minIdle;
  }

  public int maxDeliveryCount() {
    return maxDeliveries;
  }

  public boolean deletesOnAck() {
    return deleteOnAck;
  }

  public long maxLength() {
    return maxLen;
  }

  /** Whether Brook creates a missing group; see {@link #declare(boolean)}. */
  public boolean declares() {
    return declare;
  }

  /** Whether the group reads with NOACK; see {@link #noAck()}. */
  public boolean noAcks() {
    return noAck;
  }

  /** The read's block time set with {@link #pollInterval(Duration)}, or null for the default. */
  public Duration pollIntervalTime() {
    return pollInterval;
  }

  /**
   * {@code {events}:dlq}. A partitioned stream has one per partition ({@code partition(i).deadLetterKey()}:
   * {@code {events:i}:dlq}), as a dead letter is written in one script with its partition's XACK.
   */
  public String deadLetterKey() {
    return Keys.derived(name, "dlq");
  }

  /**
   * Durable publishing: a publish to this stream completes only when Redis has the message
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
  public StreamDestination waitForReplicas(int replicas, Duration timeout) {
    Durability d = Durability.of(replicas, timeout);
    return new StreamDestination(name, group, consumer, startFrom, minIdle, maxDeliveries, deleteOnAck, maxLen,
        declare, noAck, pollInterval, d, partitions, leaseTime, jobs);
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
   * A rate limit shared by every consumer of this stream in every process: at most {@code
   * messages} deliveries per {@code per} (a burst of up to {@code messages}, then evenly), counted
   * by a token bucket in Redis ({@code {name}:rate}, one Lua script per read, on Redis' own
   * clock so the processes' clocks do not matter). A consumer takes tokens <em>before</em> it reads
   * and reads no more messages than it got tokens, giving back those it did not use; without a
   * token it waits until the next one is due, holding no message. Redeliveries count like new
   * messages. See docs/jobs.md, "Rate limits".
   *
   * @throws IllegalArgumentException on a partitioned stream ({@link #partitions(int)}): its
   *     partitions live in different hash slots, where no one bucket can be shared atomically
   */
  public StreamDestination rateLimit(int messages, Duration per) {
    if (partitions > 1) {
      throw partitionedRateLimit(name, partitions);
    }
    return withJobs(jobs.withRate(messages, per));
  }

  private static IllegalArgumentException partitionedRateLimit(String name, int n) {
    return new IllegalArgumentException("Stream '" + name + "' has " + n + " partitions, and rateLimit cannot be shared "
        + "across them: each partition {" + name + ":i} is in its own hash slot, and a token bucket is one key taken "
        + "from atomically in one slot; a bucket per partition would let " + n + " times the limit through. Rate-limit "
        + "the work where it is one queue (a list, or a stream without partitions), or leave the stream unlimited.");
  }

  /**
   * A rate limit per key, so one tenant cannot starve the others: at most {@code messages} per
   * {@code per} for the entries whose header {@code header} holds the same value, shared by every
   * consumer of the group in every process (a token bucket {@code {name}:perkey:<group>:rate:<key>};
   * each group has its own limits). An entry over its key's limit does not wait in the consumer nor
   * block the entries behind it: one Lua script moves it to the group's parking consumer {@code
   * brook-parked:<key>} ({@code XCLAIM … JUSTID}: it keeps its id and stays pending in this group
   * only, and the attempt is undone, so parking never counts as a delivery) and records when its
   * key's next token is due ({@code {name}:perkey:<group>:waiting}); the group's consumers claim it
   * back when due. Brook never takes parked entries over for being idle. Entries without the header
   * are not limited by key. Order within a key is not kept once entries are parked. Applies after
   * {@link #rateLimit}, if any. A group that acknowledges only (not {@link #noAck()}, refused at
   * start); not on a partitioned stream; not with {@link #concurrencyPerKey}. See docs/jobs.md,
   * "Per-key limits on streams".
   *
   * @throws IllegalArgumentException on a partitioned stream, or combined with {@link #concurrencyPerKey}
   */
  public StreamDestination rateLimitPerKey(String header, int messages, Duration per) {
    return withPerKey(jobs.withKeyRate(header, null, messages, per));
  }

  /**
   * {@link #rateLimitPerKey(String, int, Duration)} with the key computed from the message's
   * headers: {@code key} gets the headers (read-only) and returns the key, or null for a message
   * not limited by key. It runs on the consumer's loop thread for every entry read, so it must be
   * fast and must not block; an exception it throws is logged (at most 10 WARN lines a minute) and
   * the entry is treated as having no key.
   */
  public StreamDestination rateLimitPerKey(Function<Map<String, String>, String> key, int messages, Duration per) {
    return withPerKey(jobs.withKeyRate(null, Objects.requireNonNull(key, "key"), messages, per));
  }

  /**
   * At most {@code max} entries whose header {@code header} holds the same value in flight at once,
   * across every consumer of the group in every process (BullMQ Pro's group concurrency). Each
   * running entry holds a slot, a member of {@code {name}:perkey:<group>:slots:<key>} scored by its
   * lease expiry ({@link #minIdle}, renewed while it runs, so a crashed consumer's slots free
   * themselves when its entries are taken over); the settlement of the entry (ack, reject, dead
   * letter, give-back) releases its slot in the same script, and a nacked entry keeps its slot until
   * its last attempt is settled. An entry whose key has no free slot is parked as with {@link
   * #rateLimitPerKey} and the release that frees a slot makes the key due at once. Entries without
   * the header are not limited by key. Order within a key is not kept once entries are parked. A
   * group that acknowledges only; not on a partitioned stream; not with {@link #rateLimitPerKey}
   * (combine with {@link #rateLimit} instead). See docs/jobs.md, "Per-key limits on streams".
   *
   * @throws IllegalArgumentException on a partitioned stream, or combined with {@link #rateLimitPerKey}
   */
  public StreamDestination concurrencyPerKey(String header, int max) {
    return withPerKey(jobs.withKeyConcurrency(header, null, max));
  }

  /**
   * {@link #concurrencyPerKey(String, int)} with the key computed from the headers (see {@link
   * #rateLimitPerKey(Function, int, Duration)} for what the function may do).
   */
  public StreamDestination concurrencyPerKey(Function<Map<String, String>, String> key, int max) {
    return withPerKey(jobs.withKeyConcurrency(null, Objects.requireNonNull(key, "key"), max));
  }

  private StreamDestination withPerKey(JobOptions jobs) {
    if (partitions > 1) {
      throw partitionedPerKey(name, partitions);
    }
    return withJobs(jobs);
  }

  private static IllegalArgumentException partitionedPerKey(String name, int n) {
    return new IllegalArgumentException("Stream '" + name + "' has " + n + " partitions, and rateLimitPerKey and "
        + "concurrencyPerKey cannot be shared across them: each partition {" + name + ":i} is in its own hash slot, "
        + "and a key's bucket or slots must be taken from atomically in one slot; per-partition limits would let up to "
        + n + " times the limit through. Use a stream without partitions (or a list) for per-key limits, or publish "
        + "with the tenant as the partition key: one partition's group member runs one key's messages in order.");
  }

  /** The header {@link #rateLimitPerKey} or {@link #concurrencyPerKey} reads the key from; null when none or a function. */
  public String rateLimitKeyHeader() {
    return jobs.keyHeader();
  }

  /**
   * How {@link #rateLimitPerKey} or {@link #concurrencyPerKey} finds a message's key from its
   * headers (the header's value, or the function given); null when neither is set.
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

  /** The entries of one key allowed in flight at once by {@link #concurrencyPerKey}, 0 when none. */
  public int concurrencyPerKeyCount() {
    return jobs.keyConcurrency();
  }

  /**
   * Skips a message whose {@code message_id} this stream's consumers already completed within
   * {@code ttl}: the id is recorded when the message is acknowledged (a key {@code
   * {name}:done:<id>} with that TTL) and a delivery of a recorded id is acknowledged without
   * running the handler. Messages without a {@code message_id} header (see {@code
   * RedisBroker.builder().messageIds}) are always handled. See docs/jobs.md, "Idempotent consumers".
   */
  public StreamDestination idempotent(Duration ttl) {
    return withJobs(jobs.withIdempotent(ttl));
  }

  private StreamDestination withJobs(JobOptions jobs) {
    return new StreamDestination(name, group, consumer, startFrom, minIdle, maxDeliveries, deleteOnAck, maxLen,
        declare, noAck, pollInterval, durability, partitions, leaseTime, jobs);
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
  public StreamDestination withName(String name) {
    checkPartitionable(checkName(name), partitions);
    return new StreamDestination(checkName(name), group, consumer, startFrom, minIdle, maxDeliveries, deleteOnAck, maxLen,
        declare, noAck, pollInterval, durability, partitions, leaseTime, jobs);
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof StreamDestination s && s.name.equals(name) && Objects.equals(s.group, group)
        && Objects.equals(s.consumer, consumer) && s.startFrom.equals(startFrom) && s.minIdle.equals(minIdle)
        && s.maxDeliveries == maxDeliveries && s.deleteOnAck == deleteOnAck && s.maxLen == maxLen
        && s.declare == declare && s.noAck == noAck && Objects.equals(s.pollInterval, pollInterval)
        && Objects.equals(s.durability, durability) && s.partitions == partitions && s.leaseTime.equals(leaseTime)
        && s.jobs.equals(jobs);
  }

  @Override
  public int hashCode() {
    return Objects.hash(name, group, consumer, startFrom, partitions);
  }

  @Override
  public String toString() {
    return key();
  }
}
