package dev.brook.testing.internal;

import dev.brook.Destination;
import dev.brook.spi.Frame;
import dev.brook.spi.Inbound;
import dev.brook.spi.Transport;
import dev.brook.redis.ChannelDestination;
import dev.brook.redis.ListDestination;
import dev.brook.redis.PatternDestination;
import dev.brook.redis.Redis;
import dev.brook.redis.StreamDestination;
import dev.brook.redis.internal.Envelope;
import dev.brook.redis.internal.Keys;
import dev.brook.redis.internal.RedisDescriptions;
import dev.brook.redis.internal.RedisDestinations;
import dev.brook.redis.internal.list.ListDeliveries;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.LinkedList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.BooleanSupplier;
import java.util.regex.Pattern;

/**
 * Redis' delivery semantics in memory, as a {@link Transport}: what {@code TestRedisBroker} runs a
 * real broker on. Only the network and the server are replaced; the envelope is still encoded and
 * decoded, and the broker's codec, middlewares, ack policies and registry run as they do on Redis.
 * It models what {@code RedisTransport} does with Redis, command for command where it shows:
 *
 * <ul>
 *   <li>channels and patterns: fan-out to every started subscriber whose channel or glob matches;
 *   <li>lists: FIFO, each item to one started consumer that has room (round robin; what one
 *       consumer gets at once is handed over together); reliable lists keep the item in the
 *       subscription's own processing list (named as {@code ConsumerNames} names it) until settled
 *       (release: back to the head, several in their order; nack: back to the head with {@code
 *       x-deliveries} once its back-off passed on the {@linkplain #advance clock}, or at once when
 *       the consumer stops; the nack of delivery {@code maxDeliveries} and reject: {@code
 *       {list}:dlq} when configured, else dropped); a starting consumer first takes back the
 *       processing lists of consumers that are gone (whose heartbeat a stopped consumer deletes once
 *       drained), then its own; at-most-once lists forget an item once delivered;
 *   <li>streams with groups: entries, a pending-entries list whose delivery counts are handler
 *       attempts (a release undoes its attempt), consumers named per subscription, own pending
 *       entries first when a consumer starts, a nacked entry claimed again by its consumer once its
 *       back-off (100 ms doubling, at most 2 s) has passed on the {@linkplain #advance clock},
 *       takeover of entries idle at least {@code minIdle} when the clock advances (never of an
 *       entry the claiming consumer still holds), {@code maxDeliveries} (the last allowed attempt's
 *       failure dead-letters) and the {@code {stream}:dlq} stream with the headers Redis' dead
 *       letters carry; streams without group: every new entry to each reader, from the newest
 *       entry at its start or from {@code startFrom}.
 * </ul>
 *
 * <p>Like Brook's Redis consumers, Lists and Streams hand a subscription no more than it has room
 * for ({@link Sink#room()}); what does not fit waits in the model and is handed over as messages
 * finish.
 *
 * <p>Thread-safe: one lock guards the model; sinks are called under it (they only buffer).
 * Time is a manual clock starting at 0, moved by {@link #advance(Duration)} only. Each delivered
 * message counts as in flight until the subscription reports it {@linkplain Inbound#processed
 * processed} ({@link #awaitQuiet} waits for none to be left); replies to requests are not counted
 * (the broker's reply channel does not report them, and a request waits for its reply anyway).
 */
public final class MemoryTransport implements Transport {

  private final ReentrantLock lock = new ReentrantLock();
  private final Condition quiet = lock.newCondition();
  private long nowMillis;
  private int inFlight;
  private final List<Throwable> failures = new ArrayList<>();
  private volatile BooleanSupplier waitForHandlers = () -> false;

  private final List<Reader> pubsub = new ArrayList<>();
  private final Set<String> replyChannels = new HashSet<>();
  private final Map<String, LinkedList<byte[]>> lists = new HashMap<>();
  private final Map<String, List<ListReader>> listReaders = new HashMap<>();
  /** Reliable list consumers alive (started, not yet drained) by list and consumer name: Brook's heartbeat keys. */
  private final Map<String, Map<String, Integer>> heartbeats = new HashMap<>();
  private final Map<String, Integer> roundRobin = new HashMap<>();
  private final Map<String, MemStream> streams = new HashMap<>();
  private final Map<String, List<Frame>> published = new LinkedHashMap<>();

  // ---- the Transport SPI -------------------------------------------------------------------

  @Override
  public void connect() {}

  @Override
  public String describe() {
    return "memory://test";
  }

  @Override
  public void close() {}

  @Override
  public Destination replyChannel(String name) {
    locked(() -> replyChannels.add(name));
    return Redis.channel(name);
  }

  @Override
  public Destination destination(String annotation, java.util.Map<String, String> attributes) {
    return RedisDestinations.of(annotation, attributes);
  }

  /** As Redis describes them; there is no server to describe. */
  @Override
  public dev.brook.spi.DestinationDescription describe(Destination destination) {
    return RedisDescriptions.describe(destination);
  }

  @Override
  public Consumer consumer(Destination destination, String subscriptionId, Sink sink) {
    if (destination instanceof ChannelDestination || destination instanceof PatternDestination) {
      boolean counted;
      lock.lock();
      try {
        counted = !(destination instanceof ChannelDestination c && replyChannels.contains(c.name()));
      } finally {
        lock.unlock();
      }
      Reader r = new Reader(destination, sink, counted);
      return new Consumer() {
        @Override
        public void start() {
          locked(() -> pubsub.add(r));
        }

        @Override
        public void stop() {
          locked(() -> pubsub.remove(r));
        }
      };
    }
    if (destination instanceof ListDestination list) {
      ListReader r = new ListReader(list, sink, listConsumerName(list, subscriptionId));
      return new Consumer() {
        @Override
        public void start() {
          locked(() -> startList(r));
        }

        @Override
        public void stop() {
          locked(() -> listReaders.getOrDefault(list.name(), List.of()).remove(r));
        }

        @Override
        public void afterDrain() {
          // As Brook's give-back after the drain: nacked items waiting for their back-off go back at
          // once; then its heartbeat key goes, and what the processing list still holds is abandoned.
          locked(() -> {
            if (!list.isAtMostOnce()) {
              requeueWaiting(w -> w.reader == r);
              heartbeats.getOrDefault(list.name(), Map.of()).computeIfPresent(r.name, (k, n) -> n > 1 ? n - 1 : null);
            }
          });
        }
      };
    }
    if (destination instanceof StreamDestination stream) {
      StreamReader r = new StreamReader(stream, streamConsumerName(stream, subscriptionId), sink);
      return new Consumer() {
        @Override
        public void start() {
          locked(() -> stream(stream.name()).start(r));
        }

        @Override
        public void stop() {
          locked(() -> stream(stream.name()).stop(r));
        }
      };
    }
    throw new IllegalArgumentException("The in-memory Redis cannot subscribe to " + destination.key() + ".");
  }

  @Override
  public CompletableFuture<Void> send(Destination destination, Frame frame) {
    return sendBatch(destination, List.of(frame));
  }

  /** Whether a publish from outside Brook's worker threads waits until the handlers it reached are done. */
  public void waitsForHandlers(BooleanSupplier synchronous) {
    this.waitForHandlers = synchronous;
  }

  @Override
  public CompletableFuture<Void> sendBatch(Destination destination, List<Frame> frames) {
    try {
      enqueue(destination, frames);
    } catch (WrongType e) {
      return CompletableFuture.failedFuture(e); // as Redis answers the RPUSH or XADD
    }
    if (waitForHandlers.getAsBoolean() && !onWorkerThread()) {
      Throwable failure;
      try {
        failure = awaitQuiet(Duration.ofSeconds(30));
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return CompletableFuture.failedFuture(e);
      }
      rethrow(failure);
    }
    return CompletableFuture.completedFuture(null);
  }

  /**
   * True on Brook's own threads (a handler, a reply worker): there a synchronous publish must not
   * wait for the handlers it reaches, since it would wait for the very handler that publishes.
   */
  public static boolean onWorkerThread() {
    return Thread.currentThread().getName().startsWith("brook-");
  }

  /** Throws a handler's failure to the test: unchecked as it is, checked wrapped. */
  public static void rethrow(Throwable failure) {
    if (failure == null) {
      return;
    }
    if (failure instanceof RuntimeException r) {
      throw r;
    }
    if (failure instanceof Error e) {
      throw e;
    }
    throw new dev.brook.testing.TestRedisBroker.HandlerFailedException(failure);
  }

  private void enqueue(Destination destination, List<Frame> frames) {
    if (destination instanceof PatternDestination) {
      throw new IllegalArgumentException("Cannot publish to " + destination.key()
          + ": a pattern is for subscribing. Publish to a channel, e.g. channel(\"logs.error\").");
    }
    if (!(destination instanceof ChannelDestination || destination instanceof ListDestination
        || destination instanceof StreamDestination)) {
      throw new IllegalArgumentException("The in-memory Redis cannot publish to " + destination.key() + ".");
    }
    lock.lock();
    try {
      if (destination instanceof ListDestination list) {
        checkNotAStream(list.name());
      } else if (destination instanceof StreamDestination stream) {
        checkNotAList(stream.name());
      }
      for (Frame frame : frames) {
        byte[] wire = Envelope.encode(frame.headers(), frame.payload());
        published.computeIfAbsent(destination.key(), k -> new ArrayList<>()).add(Envelope.decode(wire));
        if (destination instanceof ChannelDestination channel) {
          publish(channel.name(), wire);
        } else if (destination instanceof ListDestination list) {
          listKey(list.name()).addLast(wire);
        } else if (destination instanceof StreamDestination s) {
          stream(s.name()).add(wire, s.maxLength());
        }
      }
      // Like one RPUSH of the batch: consumers see the items once all are in the list.
      if (destination instanceof ListDestination list) {
        dispatchList(list.name());
      }
    } finally {
      lock.unlock();
    }
  }

  // ---- inspection and control (TestRedisBroker) --------------------------------------------

  /** Every message published to a destination key, in order, as the receivers would decode it. */
  public List<Frame> published(String destinationKey) {
    lock.lock();
    try {
      return List.copyOf(published.getOrDefault(destinationKey, List.of()));
    } finally {
      lock.unlock();
    }
  }

  /** The items of a list key (a queue, a processing list or a dead letter), head first, as raw values. */
  public List<byte[]> list(String key) {
    lock.lock();
    try {
      return List.copyOf(lists.getOrDefault(key, new LinkedList<>()));
    } finally {
      lock.unlock();
    }
  }

  /** Entries of a stream (or dead-letter stream) by id, decoded. */
  public Map<String, Frame> streamEntries(String name) {
    lock.lock();
    try {
      MemStream s = streams.get(name);
      Map<String, Frame> out = new LinkedHashMap<>();
      if (s != null) {
        s.entries.forEach((id, v) -> out.put(id.toString(), Envelope.decode(v)));
      }
      return out;
    } finally {
      lock.unlock();
    }
  }

  /** Pending entries of a group, oldest first: entry id → delivery count. */
  public Map<String, Long> pending(String stream, String group) {
    lock.lock();
    try {
      MemStream s = streams.get(stream);
      Group g = s == null ? null : s.groups.get(group);
      Map<String, Long> out = new LinkedHashMap<>();
      if (g != null) {
        g.pel.forEach((id, p) -> out.put(id.toString(), p.count));
      }
      return out;
    } finally {
      lock.unlock();
    }
  }

  /**
   * Moves the clock: live stream consumers take over entries idle at least their {@code minIdle},
   * and reliable list consumers whose heartbeat period passed take back abandoned processing lists.
   */
  public void advance(Duration duration) {
    lock.lock();
    try {
      nowMillis += duration.toMillis();
      for (MemStream s : List.copyOf(streams.values())) {
        s.reclaim();
      }
      for (List<ListReader> readers : List.copyOf(listReaders.values())) {
        for (ListReader r : List.copyOf(readers)) {
          if (!r.list.isAtMostOnce() && nowMillis - r.recoveredAt >= r.list.heartbeatTtl().toMillis()) {
            r.recoveredAt = nowMillis;
            recoverAbandoned(r);
          }
        }
      }
      requeueWaiting(w -> w.dueAt <= nowMillis); // nacked list items whose back-off is over
      pump();
    } finally {
      lock.unlock();
    }
  }

  /**
   * Waits until no delivered message is still being processed, leaving handler failures as they
   * are; false when the timeout passed first.
   */
  public boolean awaitIdle(Duration timeout) throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    lock.lock();
    try {
      while (inFlight > 0) {
        long left = deadline - System.nanoTime();
        if (left <= 0) {
          return false;
        }
        quiet.await(left, TimeUnit.NANOSECONDS);
      }
      return true;
    } finally {
      lock.unlock();
    }
  }

  /**
   * Waits until every message delivered so far has been processed (transitively: what handlers
   * publish is delivered and processed too), then returns and forgets the handler failures seen
   * meanwhile.
   *
   * @return the first handler failure, or null
   */
  public Throwable awaitQuiet(Duration timeout) throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    lock.lock();
    try {
      while (inFlight > 0) {
        long left = deadline - System.nanoTime();
        if (left <= 0) {
          throw new IllegalStateException(inFlight + " message(s) were still being handled after " + timeout
              + "; a handler is slow or blocked. Raise the timeout or use the asynchronous mode.");
        }
        quiet.await(left, TimeUnit.NANOSECONDS);
      }
      Throwable first = failures.isEmpty() ? null : failures.get(0);
      failures.clear();
      return first;
    } finally {
      lock.unlock();
    }
  }

  // ---- model --------------------------------------------------------------------------------

  private void locked(Runnable r) {
    lock.lock();
    try {
      r.run();
    } finally {
      lock.unlock();
    }
  }

  private LinkedList<byte[]> listKey(String key) {
    return lists.computeIfAbsent(key, k -> new LinkedList<>());
  }

  private MemStream stream(String name) {
    return streams.computeIfAbsent(name, MemStream::new);
  }

  /** Under the lock. */
  private void deliver(Sink sink, MemoryInbound message) {
    if (message.counted) {
      inFlight++;
    }
    sink.accept(message);
  }

  /** Called once per delivered message when the subscription is done with it. */
  void processed(Throwable failure) {
    lock.lock();
    try {
      if (failure != null) {
        failures.add(failure);
      }
      // Room was made: hand over what waits, before this message stops counting (so quiet means done).
      pump();
      if (--inFlight <= 0) {
        inFlight = 0;
        quiet.signalAll();
      }
    } finally {
      lock.unlock();
    }
  }

  /** Under the lock: hands waiting list items and stream entries to consumers that have room again. */
  private void pump() {
    for (String name : List.copyOf(listReaders.keySet())) {
      dispatchList(name);
    }
    for (MemStream s : List.copyOf(streams.values())) {
      s.dispatchAll();
    }
  }

  private void publish(String channel, byte[] wire) {
    for (Reader r : List.copyOf(pubsub)) {
      if (r.destination instanceof ChannelDestination c && c.name().equals(channel)) {
        deliver(r.sink, new PubSubItem(this, r.counted, channel, wire, null));
      } else if (r.destination instanceof PatternDestination p && r.glob.matcher(channel).matches()) {
        deliver(r.sink, new PubSubItem(this, r.counted, channel, wire, p));
      }
    }
  }

  // ---- keys -----------------------------------------------------------------------------------

  /** Redis' answer to a command on a key of another type: lists and streams share one key space. */
  static final class WrongType extends IllegalStateException {
    WrongType() {
      super("WRONGTYPE Operation against a key holding the wrong kind of value");
    }
  }

  /** Under the lock. A list exists while it holds items. */
  private void checkNotAList(String key) {
    LinkedList<byte[]> list = lists.get(key);
    if (list != null && !list.isEmpty()) {
      throw new WrongType();
    }
  }

  /** Under the lock. A stream exists from its first XADD or group on. */
  private void checkNotAStream(String key) {
    MemStream stream = streams.get(key);
    if (stream != null && stream.exists) {
      throw new WrongType();
    }
  }

  // ---- lists ----------------------------------------------------------------------------------

  /**
   * The consumer name ListConsumer gives a subscription (see ConsumerNames): the explicit one, else
   * the process default, with {@code /<subscription id>} when the id is not the list's default id.
   * Each in-memory Redis has one broker, so the broker number never shows.
   */
  private static String listConsumerName(ListDestination list, String subscriptionId) {
    String explicit = list.consumerName();
    if (!explicit.equals(Redis.defaultConsumerName())) {
      return explicit;
    }
    return subscriptionId == null || subscriptionId.equals(list.key()) ? explicit : explicit + "/" + subscriptionId;
  }

  /** Under the lock: as ListConsumer.start — heartbeat, recover abandoned lists, own processing list, then the queue. */
  private void startList(ListReader r) {
    ListDestination list = r.list;
    listReaders.computeIfAbsent(list.name(), k -> new ArrayList<>()).add(r);
    if (!list.isAtMostOnce()) {
      heartbeats.computeIfAbsent(list.name(), k -> new HashMap<>()).merge(r.name, 1, Integer::sum);
      r.recoveredAt = nowMillis;
      recoverAbandoned(r);
      List<MemoryInbound> own = new ArrayList<>();
      for (byte[] v : List.copyOf(listKey(r.processingKey))) {
        own.add(new ListItem(this, r, v));
      }
      deliverAll(r.sink, own);
    }
    dispatchList(list.name());
  }

  /** Moves the items of every processing list of this list whose consumer is gone back to the queue head, in order. */
  private void recoverAbandoned(ListReader r) {
    String prefix = Keys.derived(r.list.name(), "processing:");
    Map<String, Integer> alive = heartbeats.getOrDefault(r.list.name(), Map.of());
    for (Map.Entry<String, LinkedList<byte[]>> e : lists.entrySet()) {
      String owner = e.getKey().startsWith(prefix) ? e.getKey().substring(prefix.length()) : null;
      if (owner == null || owner.equals(r.name) || alive.containsKey(owner) || e.getValue().isEmpty()) {
        continue;
      }
      LinkedList<byte[]> queue = listKey(r.list.name());
      LinkedList<byte[]> abandoned = e.getValue();
      while (!abandoned.isEmpty()) {
        queue.addFirst(abandoned.removeLast());
      }
    }
  }

  /**
   * Under the lock: queue head to consumers with room, round robin (BLMOVE into the processing list,
   * or LPOP). What one consumer gets in one pass is handed over together, as one read is.
   */
  private void dispatchList(String name) {
    List<ListReader> readers = listReaders.getOrDefault(name, List.of());
    LinkedList<byte[]> queue = lists.get(name);
    Map<ListReader, List<MemoryInbound>> taken = new LinkedHashMap<>();
    while (queue != null && !queue.isEmpty() && !readers.isEmpty()) {
      ListReader r = null;
      for (int tries = 0; tries < readers.size() && r == null; tries++) {
        int i = Math.floorMod(roundRobin.merge("list:" + name, 1, Integer::sum), readers.size());
        ListReader candidate = readers.get(i);
        if (candidate.sink.room() - taken.getOrDefault(candidate, List.of()).size() > 0) {
          r = candidate;
        }
      }
      if (r == null) {
        break; // nobody has room: the items wait in the list, as they do in Redis
      }
      byte[] v = queue.removeFirst();
      if (!r.list.isAtMostOnce()) {
        listKey(r.processingKey).addLast(v);
      }
      taken.computeIfAbsent(r, k -> new ArrayList<>()).add(new ListItem(this, r, v));
    }
    taken.forEach((r, items) -> deliverAll(r.sink, items));
  }

  /** Under the lock: messages read together, handed over together (a batch subscription gets them in one batch). */
  private void deliverAll(Sink sink, List<MemoryInbound> messages) {
    if (messages.size() == 1) {
      deliver(sink, messages.get(0));
    } else if (!messages.isEmpty()) {
      for (MemoryInbound m : messages) {
        if (m.counted) {
          inFlight++;
        }
      }
      sink.acceptAll(messages);
    }
  }

  /** How a subscription settled a delivered item. */
  enum Outcome { ACK, NACK, REQUEUE, REJECT, RELEASE }

  /** A nacked list item in its consumer's processing list until its back-off ends (as ListConsumer does). */
  private record Waiting(ListReader reader, byte[] raw, byte[] requeued, long dueAt) {}

  private final List<Waiting> waiting = new ArrayList<>();

  /** Under the lock: the waiting items that match go back to the head of their queue now. */
  private void requeueWaiting(java.util.function.Predicate<Waiting> which) {
    Set<String> names = new HashSet<>();
    for (Iterator<Waiting> it = waiting.iterator(); it.hasNext(); ) {
      Waiting w = it.next();
      if (which.test(w)) {
        it.remove();
        if (removeSame(listKey(w.reader.processingKey), w.raw)) {
          listKey(w.reader.list.name()).addFirst(w.requeued);
          names.add(w.reader.list.name());
        }
      }
    }
    names.forEach(this::dispatchList);
  }

  void settleListItem(ListItem item, Outcome outcome, String reason) {
    lock.lock();
    try {
      ListReader r = item.reader;
      ListDestination list = r.list;
      if (list.isAtMostOnce()) {
        return;
      }
      long delivery = item.deliveryCount();
      if (outcome == Outcome.NACK && delivery < list.maxDeliveryCount()) {
        // Stays in the processing list for the back-off (the manual clock), then back at the head.
        if (listKey(r.processingKey).stream().anyMatch(v -> Arrays.equals(v, item.raw))) {
          byte[] again = ListDeliveries.requeued(item.frame(), delivery);
          boolean stopped = !listReaders.getOrDefault(list.name(), List.of()).contains(r);
          waiting.add(new Waiting(r, item.raw, again, stopped ? nowMillis : nowMillis + ListDeliveries.backoffMillis(delivery)));
          if (stopped) {
            requeueWaiting(w -> w.reader == r);
          }
        }
        return;
      }
      if (!removeSame(listKey(r.processingKey), item.raw)) {
        return; // recovered or settled already
      }
      switch (outcome) {
        case RELEASE, REQUEUE -> {
          listKey(list.name()).addFirst(item.raw);
          dispatchList(list.name());
        }
        case NACK, REJECT -> {
          if (list.deadLetterKey() != null) {
            Map<String, String> extra = new LinkedHashMap<>();
            extra.put("x-error", outcome == Outcome.NACK ? ListDeliveries.exhausted(delivery, list.maxDeliveryCount(), reason) : reason);
            extra.put("x-original", list.name());
            extra.put("x-delivery-count", Long.toString(delivery));
            listKey(list.deadLetterKey()).addLast(withHeaders(ListDeliveries.withoutCount(item.frame()), extra));
          }
        }
        default -> { } // ack
      }
    } finally {
      lock.unlock();
    }
  }

  /** Gives back several items of one consumer: at the head of the queue, the first ending first. */
  void releaseListItems(List<? extends Inbound> items) {
    lock.lock();
    try {
      Set<String> names = new HashSet<>();
      for (int i = items.size() - 1; i >= 0; i--) {
        ListItem item = (ListItem) items.get(i);
        ListDestination list = item.reader.list;
        if (!list.isAtMostOnce() && removeSame(listKey(item.reader.processingKey), item.raw)) {
          listKey(list.name()).addFirst(item.raw);
          names.add(list.name());
        }
      }
      names.forEach(this::dispatchList);
    } finally {
      lock.unlock();
    }
  }

  /** LREM key 1 value: the first equal item from the head. */
  private static boolean removeSame(LinkedList<byte[]> list, byte[] raw) {
    for (Iterator<byte[]> it = list.iterator(); it.hasNext(); ) {
      if (Arrays.equals(it.next(), raw)) {
        it.remove();
        return true;
      }
    }
    return false;
  }

  /** A dead letter's value: the original headers and payload plus these headers (which win), clipped as Brook clips them. */
  private static byte[] withHeaders(Frame frame, Map<String, String> extra) {
    Map<String, String> headers = new LinkedHashMap<>(frame.headers());
    extra.forEach((k, v) -> headers.put(k, v == null ? "" : v.length() > 2000 ? v.substring(0, 2000) + "…" : v));
    return Envelope.encode(headers, frame.payload());
  }

  // ---- streams --------------------------------------------------------------------------------

  /**
   * A group consumer's name, as Brook's ConsumerNames gives it: the destination's {@code
   * consumer(...)}, else the default name with {@code /<subscription id>} when the id is not the
   * destination's key (two ids on one group never share a name; a replacement takes over its id's).
   */
  static String streamConsumerName(StreamDestination stream, String subscriptionId) {
    String base = stream.consumerName();
    if (!base.equals(Redis.defaultConsumerName())) {
      return base;
    }
    return subscriptionId == null || subscriptionId.equals(stream.key()) ? base : base + "/" + subscriptionId;
  }

  /** The wait before a nacked entry is claimed again, as StreamConsumer waits: 100 ms doubling per attempt, at most 2 s. */
  static long retryDelayMillis(long attempt) {
    return Math.min(2_000, 100L << Math.max(0, Math.min(attempt - 1, 10)));
  }

  /** A stream entry id: milliseconds of the manual clock and a sequence. */
  record StreamId(long ms, long seq) implements Comparable<StreamId> {
    static final StreamId ZERO = new StreamId(0, 0);

    static StreamId parse(String id) {
      int dash = id.indexOf('-');
      return dash < 0 ? new StreamId(Long.parseLong(id), 0)
          : new StreamId(Long.parseLong(id.substring(0, dash)), Long.parseLong(id.substring(dash + 1)));
    }

    @Override
    public int compareTo(StreamId o) {
      return ms != o.ms ? Long.compare(ms, o.ms) : Long.compare(seq, o.seq);
    }

    @Override
    public String toString() {
      return ms + "-" + seq;
    }
  }

  private static final class Pending {
    String consumer;
    long count;
    long deliveredAt;

    Pending(String consumer, long deliveredAt) {
      this.consumer = consumer;
      this.count = 1;
      this.deliveredAt = deliveredAt;
    }
  }

  private static final class Group {
    final String name;
    StreamId lastDelivered;
    final TreeMap<StreamId, Pending> pel = new TreeMap<>();
    final List<StreamReader> consumers = new ArrayList<>();
    int next;

    Group(String name, StreamId lastDelivered) {
      this.name = name;
      this.lastDelivered = lastDelivered;
    }

    /** The next consumer, round robin, that has room; null when none has. */
    StreamReader nextWithRoom() {
      for (int tries = 0; tries < consumers.size(); tries++) {
        StreamReader r = consumers.get(Math.floorMod(next++, consumers.size()));
        if (r.sink.room() > 0) {
          return r;
        }
      }
      return null;
    }
  }

  private final class MemStream {
    final String name;
    final TreeMap<StreamId, byte[]> entries = new TreeMap<>();
    final Map<String, Group> groups = new HashMap<>();
    final List<StreamReader> readers = new ArrayList<>();
    StreamId last = StreamId.ZERO;
    /** Whether the key exists in Redis: since the first XADD or XGROUP CREATE ... MKSTREAM. */
    boolean exists;

    MemStream(String name) {
      this.name = name;
    }

    /** XADD (MAXLEN n): the id from the manual clock, trimmed to n entries. */
    StreamId add(byte[] wire, long maxLen) {
      StreamId id = nowMillis > last.ms ? new StreamId(nowMillis, 0) : new StreamId(last.ms, last.seq + 1);
      last = id;
      exists = true;
      entries.put(id, wire);
      while (maxLen > 0 && entries.size() > maxLen) {
        entries.pollFirstEntry();
      }
      dispatchAll();
      return id;
    }

    void dispatchAll() {
      for (StreamReader r : List.copyOf(readers)) {
        readOn(r);
      }
      for (Group g : List.copyOf(groups.values())) {
        dispatch(g);
      }
    }

    /** XREAD from the reader's position, as much as it has room for. */
    void readOn(StreamReader r) {
      for (Map.Entry<StreamId, byte[]> e : entries.tailMap(r.position, false).entrySet()) {
        if (r.sink.room() <= 0) {
          return;
        }
        r.position = e.getKey();
        deliver(r.sink, new StreamItem(MemoryTransport.this, r, e.getKey(), e.getValue(), 1));
      }
    }

    void start(StreamReader r) {
      StreamDestination d = r.stream;
      if (d.groupName() != null || StreamDestination.LATEST.equals(d.startId())) {
        checkNotAList(name); // XGROUP CREATE, or XREVRANGE for the newest id, on a list
      }
      if (d.groupName() == null) {
        r.position = StreamDestination.LATEST.equals(d.startId()) ? last : StreamId.parse(d.startId());
        readers.add(r);
        readOn(r);
        return;
      }
      // XGROUP CREATE ... MKSTREAM, unless the group exists (BUSYGROUP): then its position stays.
      Group g = groups.computeIfAbsent(d.groupName(), n -> new Group(n,
          StreamDestination.LATEST.equals(d.startId()) ? last : StreamId.parse(d.startId())));
      exists = true;
      g.consumers.add(r);
      // Own pending entries first (a restart, or a replacement with the same name), claimed one by one
      // as StreamConsumer claims them: each is the next attempt.
      for (Map.Entry<StreamId, Pending> e : List.copyOf(g.pel.entrySet())) {
        if (e.getValue().consumer.equals(r.name)) {
          claim(g, r, e.getKey());
        }
      }
      dispatch(g);
    }

    void stop(StreamReader r) {
      readers.remove(r);
      if (r.stream.groupName() != null) {
        Group g = groups.get(r.stream.groupName());
        if (g != null) {
          g.consumers.remove(r);
        }
      }
    }

    /** XREADGROUP ... >: new entries to the group's consumers with room, round robin. */
    void dispatch(Group g) {
      for (Map.Entry<StreamId, byte[]> e : entries.tailMap(g.lastDelivered, false).entrySet()) {
        StreamReader r = g.nextWithRoom();
        if (r == null) {
          return;
        }
        g.lastDelivered = e.getKey();
        g.pel.put(e.getKey(), new Pending(r.name, nowMillis));
        r.held.add(e.getKey());
        deliver(r.sink, new StreamItem(MemoryTransport.this, r, e.getKey(), e.getValue(), 1));
      }
    }

    /**
     * When the clock moves: nacked entries whose back-off passed are claimed again by their consumer,
     * then the group's live consumers take over entries idle at least their minIdle that they do not
     * hold (a consumer never claims what its own handler still has, so its count is not raised).
     */
    void reclaim() {
      for (Group g : List.copyOf(groups.values())) {
        for (StreamReader r : List.copyOf(g.consumers)) {
          for (Map.Entry<StreamId, Long> e : List.copyOf(r.retries.entrySet())) {
            if (e.getValue() <= nowMillis) {
              r.retries.remove(e.getKey());
              Pending p = g.pel.get(e.getKey());
              if (p != null && p.consumer.equals(r.name)) {
                claim(g, r, e.getKey());
              }
            }
          }
        }
        if (g.consumers.isEmpty()) {
          continue;
        }
        for (Map.Entry<StreamId, Pending> e : List.copyOf(g.pel.entrySet())) {
          StreamReader r = g.consumers.get(Math.floorMod(g.next++, g.consumers.size()));
          Pending p = e.getValue();
          if (nowMillis - p.deliveredAt < r.stream.minIdleTime().toMillis() || r.held.contains(e.getKey())
              || r.retries.containsKey(e.getKey())) {
            continue;
          }
          claim(g, r, e.getKey());
        }
      }
    }

    /**
     * Claims a pending entry for a consumer (XCLAIM, one attempt more) and delivers it, or sends it to
     * the dead letter when it already had maxDeliveries attempts; drops it when deleted meanwhile.
     */
    private void claim(Group g, StreamReader r, StreamId id) {
      Pending p = g.pel.get(id);
      byte[] wire = entries.get(id);
      if (wire == null) {
        g.pel.remove(id); // deleted while pending: acknowledged, nothing to deliver
        return;
      }
      if (p.count >= r.stream.maxDeliveryCount()) {
        String lastError = r.lastErrors.get(id);
        deadLetter(new StreamItem(MemoryTransport.this, r, id, wire, p.count), "delivered " + p.count
            + (p.count == 1 ? " time" : " times") + " without being settled (maxDeliveries " + r.stream.maxDeliveryCount()
            + ")" + (lastError != null ? "; last error: " + lastError : ""));
        return;
      }
      p.consumer = r.name;
      p.count++;
      p.deliveredAt = nowMillis;
      r.held.add(id);
      deliver(r.sink, new StreamItem(MemoryTransport.this, r, id, wire, p.count));
    }

    /**
     * XACK, and XADD {stream}:dlq with the reason if it was still pending (and XDEL with
     * deleteOnAck), in one step as Brook's script does.
     */
    void deadLetter(StreamItem item, String reason) {
      StreamReader r = item.reader;
      Group g = groups.get(r.stream.groupName());
      r.held.remove(item.id);
      r.lastErrors.remove(item.id);
      if (g == null || g.pel.remove(item.id) == null) {
        return; // settled meanwhile (by another consumer that took it over)
      }
      Map<String, String> extra = new LinkedHashMap<>();
      extra.put("x-error", reason);
      extra.put("x-original", name);
      extra.put("x-original-id", item.id.toString());
      extra.put("x-group", r.stream.groupName());
      extra.put("x-delivery-count", Long.toString(item.count));
      stream(r.stream.deadLetterKey()).add(withHeaders(item.frame(), extra), 0);
      if (r.stream.deletesOnAck()) {
        entries.remove(item.id);
      }
    }
  }

  void settleStreamItem(StreamItem item, Outcome outcome, String reason) {
    lock.lock();
    try {
      StreamReader r = item.reader;
      StreamDestination d = r.stream;
      if (d.groupName() == null) {
        return;
      }
      MemStream s = stream(d.name());
      switch (outcome) {
        case ACK -> {
          Group g = s.groups.get(d.groupName());
          if (g != null) {
            g.pel.remove(item.id);
          }
          if (d.deletesOnAck()) {
            s.entries.remove(item.id);
          }
          r.held.remove(item.id);
          r.lastErrors.remove(item.id);
        }
        case NACK -> {
          // The last attempt maxDeliveries allows: to the dead letter now. Else it stays pending and
          // its consumer claims it again once the back-off passed (when the clock moves).
          String lastError = reason != null ? reason : r.lastErrors.get(item.id);
          if (item.count >= d.maxDeliveryCount()) {
            s.deadLetter(item, "failed " + item.count + (item.count == 1 ? " time" : " times") + " (maxDeliveries "
                + d.maxDeliveryCount() + ")" + (lastError != null ? "; last error: " + lastError : ""));
            return;
          }
          r.held.remove(item.id);
          if (reason != null) {
            r.lastErrors.put(item.id, reason);
          }
          r.retries.put(item.id, nowMillis + retryDelayMillis(item.count));
        }
        case REJECT -> s.deadLetter(item, reason);
        default -> {
          // Release: the attempt is undone (XCLAIM RETRYCOUNT n-1 IDLE minIdle) if the entry is still
          // this consumer's at that count; idle at once, so any live consumer may take it over.
          r.held.remove(item.id);
          Group g = s.groups.get(d.groupName());
          Pending p = g == null ? null : g.pel.get(item.id);
          if (p != null && p.consumer.equals(r.name) && p.count == item.count) {
            p.count--;
            p.deliveredAt = nowMillis - d.minIdleTime().toMillis();
          }
        }
      }
    } finally {
      lock.unlock();
    }
  }

  // ---- readers and messages -----------------------------------------------------------------

  private static final class Reader {
    final Destination destination;
    final Sink sink;
    final boolean counted;
    final Pattern glob;

    Reader(Destination destination, Sink sink, boolean counted) {
      this.destination = destination;
      this.sink = sink;
      this.counted = counted;
      this.glob = destination instanceof PatternDestination p ? Glob.compile(p.name()) : null;
    }
  }

  static final class ListReader {
    final ListDestination list;
    final Sink sink;
    /** Its consumer name in Redis, and so its processing list. */
    final String name;
    final String processingKey;
    /** When this consumer last looked for abandoned processing lists (manual clock). */
    long recoveredAt;

    ListReader(ListDestination list, Sink sink, String name) {
      this.list = list;
      this.sink = sink;
      this.name = name;
      this.processingKey = Keys.derived(list.name(), "processing:" + name);
    }
  }

  static final class StreamReader {
    final StreamDestination stream;
    /** Its consumer name in the group. */
    final String name;
    final Sink sink;
    StreamId position = StreamId.ZERO;
    /** Nacked entries waiting for their back-off: id → when (manual clock) this consumer claims them again. */
    final Map<StreamId, Long> retries = new HashMap<>();
    /** Group mode: entries handed to the subscription and not yet settled or given back. */
    final Set<StreamId> held = new HashSet<>();
    /** Why entries were last nacked by this consumer (as StreamConsumer keeps it, per consumer). */
    final Map<StreamId, String> lastErrors = new HashMap<>();

    StreamReader(StreamDestination stream, String name, Sink sink) {
      this.stream = stream;
      this.name = name;
      this.sink = sink;
    }
  }

  /** A delivered message; reports to the transport once processed. */
  abstract static class MemoryInbound implements Inbound {
    final MemoryTransport transport;
    final boolean counted;
    final byte[] raw;
    private Frame frame;
    private boolean done;

    MemoryInbound(MemoryTransport transport, boolean counted, byte[] raw) {
      this.transport = transport;
      this.counted = counted;
      this.raw = raw;
    }

    @Override
    public Frame frame() {
      if (frame == null) {
        frame = Envelope.decode(raw);
      }
      return frame;
    }

    @Override
    public Map<String, String> pathParams() {
      return Map.of();
    }

    @Override
    public void processed(Throwable failure) {
      synchronized (this) {
        if (done || !counted) {
          return;
        }
        done = true;
      }
      transport.processed(failure);
    }
  }

  static final class PubSubItem extends MemoryInbound {
    private final String channel;
    private final PatternDestination pattern;

    PubSubItem(MemoryTransport transport, boolean counted, String channel, byte[] raw, PatternDestination pattern) {
      super(transport, counted, raw);
      this.channel = channel;
      this.pattern = pattern;
    }

    @Override
    public String channel() {
      return channel;
    }

    @Override
    public String serverId() {
      return null;
    }

    @Override
    public Map<String, String> pathParams() {
      return pattern == null ? Map.of() : pattern.match(channel);
    }
  }

  static final class ListItem extends MemoryInbound {
    final ListReader reader;

    ListItem(MemoryTransport transport, ListReader reader, byte[] raw) {
      super(transport, true, raw);
      this.reader = reader;
    }

    @Override
    public String channel() {
      return reader.list.name();
    }

    @Override
    public String serverId() {
      return null;
    }

    @Override
    public boolean atLeastOnce() {
      return !reader.list.isAtMostOnce();
    }

    /** From the item's {@code x-deliveries} header, as ListInbound counts. */
    @Override
    public long deliveryCount() {
      return ListDeliveries.deliveryCount(frame());
    }

    @Override
    public void ack() {
      transport.settleListItem(this, Outcome.ACK, null);
    }

    @Override
    public void nack(String reason) {
      transport.settleListItem(this, Outcome.NACK, reason);
    }

    @Override
    public void reject(String reason, Throwable error) {
      transport.settleListItem(this, Outcome.REJECT, reason);
    }

    @Override
    public void release() {
      transport.settleListItem(this, Outcome.RELEASE, null);
    }

    @Override
    public void releaseAll(List<? extends Inbound> messages) {
      transport.releaseListItems(messages);
    }
  }

  static final class StreamItem extends MemoryInbound {
    final StreamReader reader;
    final StreamId id;
    final long count;

    StreamItem(MemoryTransport transport, StreamReader reader, StreamId id, byte[] raw, long count) {
      super(transport, true, raw);
      this.reader = reader;
      this.id = id;
      this.count = count;
    }

    @Override
    public String channel() {
      return reader.stream.name();
    }

    @Override
    public String serverId() {
      return id.toString();
    }

    @Override
    public boolean atLeastOnce() {
      return reader.stream.groupName() != null;
    }

    @Override
    public long deliveryCount() {
      return count;
    }

    @Override
    public void ack() {
      transport.settleStreamItem(this, Outcome.ACK, null);
    }

    @Override
    public void nack(String reason) {
      transport.settleStreamItem(this, Outcome.NACK, reason);
    }

    @Override
    public void reject(String reason, Throwable error) {
      transport.settleStreamItem(this, Outcome.REJECT, reason);
    }

    @Override
    public void release() {
      transport.settleStreamItem(this, Outcome.RELEASE, null);
    }
  }

  @Override
  public String toString() {
    return "MemoryTransport[" + describe() + "]";
  }
}
