package dev.brook.testing.internal;

import dev.brook.Destination;
import dev.brook.internal.Frame;
import dev.brook.internal.Inbound;
import dev.brook.internal.Transport;
import dev.brook.redis.ChannelDestination;
import dev.brook.redis.ListDestination;
import dev.brook.redis.PatternDestination;
import dev.brook.redis.Redis;
import dev.brook.redis.StreamDestination;
import dev.brook.redis.internal.Envelope;
import dev.brook.redis.internal.Keys;
import dev.brook.redis.internal.RedisDestinations;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.LinkedList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.regex.Pattern;

/**
 * Redis' delivery semantics in memory, as a {@link Transport}: what {@code TestRedisBroker} runs a
 * real broker on. Only the network and the server are replaced; the envelope is still encoded and
 * decoded, and the broker's codec, middlewares, ack policies and registry run as they do on Redis.
 *
 * <ul>
 *   <li>channels and patterns: fan-out to every started subscriber whose channel or glob matches;
 *   <li>lists: FIFO, each item to one started consumer (round robin); reliable lists keep the item
 *       in the consumer's processing list until settled (nack/release: back to the head; reject:
 *       {@code {list}:dlq} when configured); at-most-once lists forget it on delivery;
 *   <li>streams with groups: entries, a pending-entries list with delivery counts, own pending
 *       entries first when a consumer starts, reclaim of entries idle longer than {@code minIdle}
 *       when the {@linkplain #advance clock advances}, {@code maxDeliveries} and the {@code
 *       {stream}:dlq} stream; streams without group: fan-out of new entries.
 * </ul>
 *
 * <p>Thread-safe: one lock guards the model; subscribers' sinks are called under it (they only
 * buffer). Time is a manual clock starting at 0, moved by {@link #advance(Duration)} only.
 */
public final class MemoryTransport implements Transport {

  private final ReentrantLock lock = new ReentrantLock();
  private final Condition quiet = lock.newCondition();
  private long nowMillis;
  private int inFlight;
  private final List<Throwable> failures = new ArrayList<>();
  private java.util.function.BooleanSupplier waitForHandlers = () -> false;

  private final List<Reader> pubsub = new ArrayList<>();
  private final Map<String, LinkedList<byte[]>> lists = new HashMap<>();
  private final Map<String, List<ListReader>> listReaders = new HashMap<>();
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
    return Redis.channel(name);
  }

  @Override
  public Destination destination(String kind, String name, String group, String consumer) {
    return RedisDestinations.of(kind, name, group, consumer);
  }

  @Override
  public Consumer consumer(Destination destination, Sink sink) {
    if (destination instanceof ChannelDestination || destination instanceof PatternDestination) {
      Reader r = new Reader(destination, sink);
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
      ListReader r = new ListReader(list, sink);
      return new Consumer() {
        @Override
        public void start() {
          locked(() -> {
            listReaders.computeIfAbsent(list.name(), k -> new ArrayList<>()).add(r);
            if (!list.isAtMostOnce()) {
              for (byte[] v : new ArrayList<>(listKey(list.processingKey()))) {
                deliver(r.sink, new ListItem(MemoryTransport.this, r, v));
              }
            }
            dispatchList(list.name());
          });
        }

        @Override
        public void stop() {
          locked(() -> listReaders.getOrDefault(list.name(), List.of()).remove(r));
        }
      };
    }
    if (destination instanceof StreamDestination stream) {
      StreamReader r = new StreamReader(stream, sink);
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
  public void waitsForHandlers(java.util.function.BooleanSupplier synchronous) {
    this.waitForHandlers = synchronous;
  }

  @Override
  public CompletableFuture<Void> sendBatch(Destination destination, List<Frame> frames) {
    enqueue(destination, frames);
    // Waiting inside a handler (a result being published) would wait for that very handler.
    if (waitForHandlers.getAsBoolean() && !Thread.currentThread().getName().startsWith("brook-")) {
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
    lock.lock();
    try {
      for (Frame frame : frames) {
        byte[] wire = Envelope.encode(frame.headers(), frame.payload());
        published.computeIfAbsent(destination.key(), k -> new ArrayList<>()).add(Envelope.decode(wire));
        if (destination instanceof ChannelDestination channel) {
          publish(channel.name(), wire);
        } else if (destination instanceof ListDestination list) {
          listKey(list.name()).addLast(wire);
          dispatchList(list.name());
        } else if (destination instanceof StreamDestination s) {
          stream(s.name()).add(wire, s.maxLength());
        } else if (destination instanceof PatternDestination) {
          throw new IllegalArgumentException("Cannot publish to " + destination.key()
              + ": a pattern is for subscribing. Publish to a channel, e.g. channel(\"logs.error\").");
        } else {
          throw new IllegalArgumentException("The in-memory Redis cannot publish to " + destination.key() + ".");
        }
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

  /** Pending entries of a group: entry id → delivery count. */
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

  /** Moves the clock: entries idle longer than their consumers' {@code minIdle} are reclaimed. */
  public void advance(Duration duration) {
    lock.lock();
    try {
      nowMillis += duration.toMillis();
      for (MemStream s : streams.values()) {
        s.reclaim();
      }
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
    inFlight++;
    sink.accept(message);
  }

  /** Called once per delivered message when the subscription is done with it. */
  void processed(Throwable failure) {
    lock.lock();
    try {
      if (failure != null) {
        failures.add(failure);
      }
      if (--inFlight <= 0) {
        inFlight = 0;
        quiet.signalAll();
      }
    } finally {
      lock.unlock();
    }
  }

  private void publish(String channel, byte[] wire) {
    for (Reader r : List.copyOf(pubsub)) {
      if (r.destination instanceof ChannelDestination c && c.name().equals(channel)) {
        deliver(r.sink, new PubSubItem(this, channel, wire, null));
      } else if (r.destination instanceof PatternDestination p && r.glob.matcher(channel).matches()) {
        deliver(r.sink, new PubSubItem(this, channel, wire, p));
      }
    }
  }

  private void dispatchList(String name) {
    List<ListReader> readers = listReaders.getOrDefault(name, List.of());
    LinkedList<byte[]> queue = listKey(name);
    while (!queue.isEmpty() && !readers.isEmpty()) {
      int i = roundRobin.merge("list:" + name, 1, Integer::sum) % readers.size();
      ListReader r = readers.get(i);
      byte[] v = queue.removeFirst();
      if (!r.list.isAtMostOnce()) {
        listKey(r.list.processingKey()).addLast(v);
      }
      deliver(r.sink, new ListItem(this, r, v));
    }
  }

  void settleListItem(ListItem item, String outcome, String reason) {
    lock.lock();
    try {
      ListDestination list = item.reader.list;
      if (list.isAtMostOnce()) {
        return;
      }
      if (!removeSame(listKey(list.processingKey()), item.raw)) {
        return; // recovered or settled already
      }
      switch (outcome) {
        case "requeue" -> {
          listKey(list.name()).addFirst(item.raw);
          dispatchList(list.name());
        }
        case "reject" -> {
          if (list.deadLetterKey() != null) {
            Map<String, String> extra = new LinkedHashMap<>();
            extra.put("x-error", reason);
            extra.put("x-original", list.name());
            listKey(list.deadLetterKey()).addLast(withHeaders(item.frame(), extra));
          }
        }
        default -> { } // ack
      }
    } finally {
      lock.unlock();
    }
  }

  private static boolean removeSame(LinkedList<byte[]> list, byte[] raw) {
    for (Iterator<byte[]> it = list.iterator(); it.hasNext(); ) {
      if (java.util.Arrays.equals(it.next(), raw)) {
        it.remove();
        return true;
      }
    }
    return false;
  }

  private static byte[] withHeaders(Frame frame, Map<String, String> extra) {
    Map<String, String> headers = new LinkedHashMap<>(frame.headers());
    headers.putAll(extra);
    return Envelope.encode(headers, frame.payload());
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
    String lastError;

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
  }

  private final class MemStream {
    final String name;
    final TreeMap<StreamId, byte[]> entries = new TreeMap<>();
    final Map<String, Group> groups = new HashMap<>();
    final List<StreamReader> readers = new ArrayList<>();
    StreamId last = StreamId.ZERO;

    MemStream(String name) {
      this.name = name;
    }

    StreamId add(byte[] wire, long maxLen) {
      StreamId id = nowMillis > last.ms ? new StreamId(nowMillis, 0) : new StreamId(last.ms, last.seq + 1);
      last = id;
      entries.put(id, wire);
      while (maxLen > 0 && entries.size() > maxLen) {
        entries.pollFirstEntry();
      }
      for (StreamReader r : List.copyOf(readers)) {
        if (id.compareTo(r.position) > 0) {
          r.position = id;
          deliver(r.sink, new StreamItem(MemoryTransport.this, r, id, wire, 1));
        }
      }
      for (Group g : groups.values()) {
        dispatch(g);
      }
      return id;
    }

    void start(StreamReader r) {
      StreamDestination d = r.stream;
      if (d.groupName() == null) {
        r.position = StreamDestination.LATEST.equals(d.startId()) ? last : StreamId.parse(d.startId());
        readers.add(r);
        for (Map.Entry<StreamId, byte[]> e : entries.tailMap(r.position, false).entrySet()) {
          r.position = e.getKey();
          deliver(r.sink, new StreamItem(MemoryTransport.this, r, e.getKey(), e.getValue(), 1));
        }
        return;
      }
      Group g = groups.computeIfAbsent(d.groupName(), n -> new Group(n,
          StreamDestination.LATEST.equals(d.startId()) ? last : StreamId.parse(d.startId())));
      g.consumers.add(r);
      // Own pending entries first, as XREADGROUP ... 0 does after a restart.
      for (Map.Entry<StreamId, Pending> e : g.pel.entrySet()) {
        if (e.getValue().consumer.equals(d.consumerName())) {
          byte[] wire = entries.get(e.getKey());
          if (wire != null) {
            e.getValue().count++;
            e.getValue().deliveredAt = nowMillis;
            deliver(r.sink, new StreamItem(MemoryTransport.this, r, e.getKey(), wire, e.getValue().count));
          }
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

    void dispatch(Group g) {
      if (g.consumers.isEmpty()) {
        return;
      }
      for (Map.Entry<StreamId, byte[]> e : entries.tailMap(g.lastDelivered, false).entrySet()) {
        StreamReader r = g.consumers.get(g.next++ % g.consumers.size());
        g.lastDelivered = e.getKey();
        g.pel.put(e.getKey(), new Pending(r.stream.consumerName(), nowMillis));
        deliver(r.sink, new StreamItem(MemoryTransport.this, r, e.getKey(), e.getValue(), 1));
      }
    }

    void reclaim() {
      for (Group g : groups.values()) {
        if (g.consumers.isEmpty()) {
          continue;
        }
        for (Map.Entry<StreamId, Pending> e : new ArrayList<>(g.pel.entrySet())) {
          StreamReader r = g.consumers.get(g.next++ % g.consumers.size());
          Pending p = e.getValue();
          if (nowMillis - p.deliveredAt < r.stream.minIdleTime().toMillis()) {
            continue;
          }
          byte[] wire = entries.get(e.getKey());
          if (wire == null) {
            g.pel.remove(e.getKey()); // deleted while pending, as XAUTOCLAIM does
            continue;
          }
          p.consumer = r.stream.consumerName();
          p.count++;
          p.deliveredAt = nowMillis;
          StreamItem item = new StreamItem(MemoryTransport.this, r, e.getKey(), wire, p.count);
          if (p.count > r.stream.maxDeliveryCount()) {
            deadLetter(item, "delivered " + p.count + " times, more than maxDeliveries " + r.stream.maxDeliveryCount()
                + (p.lastError != null ? "; last error: " + p.lastError : ""));
          } else {
            deliver(r.sink, item);
          }
        }
      }
    }

    void deadLetter(StreamItem item, String reason) {
      Group g = groups.get(item.reader.stream.groupName());
      Pending p = g == null ? null : g.pel.remove(item.id);
      if (p == null) {
        return;
      }
      Map<String, String> extra = new LinkedHashMap<>();
      extra.put("x-error", reason);
      extra.put("x-original", name);
      extra.put("x-original-id", item.id.toString());
      extra.put("x-group", g.name);
      extra.put("x-delivery-count", Long.toString(p.count));
      stream(Keys.derived(name, "dlq")).add(withHeaders(item.frame(), extra), 0);
      if (item.reader.stream.deletesOnAck()) {
        entries.remove(item.id);
      }
    }
  }

  void settleStreamItem(StreamItem item, String outcome, String reason) {
    lock.lock();
    try {
      StreamDestination d = item.reader.stream;
      if (d.groupName() == null) {
        return;
      }
      MemStream s = stream(d.name());
      Group g = s.groups.get(d.groupName());
      if (g == null) {
        return;
      }
      switch (outcome) {
        case "ack" -> {
          if (g.pel.remove(item.id) != null && d.deletesOnAck()) {
            s.entries.remove(item.id);
          }
        }
        case "nack" -> {
          Pending p = g.pel.get(item.id);
          if (p != null && reason != null) {
            p.lastError = reason;
          }
        }
        case "reject" -> s.deadLetter(item, reason);
        default -> { } // release: stays pending
      }
    } finally {
      lock.unlock();
    }
  }

  // ---- readers and messages -----------------------------------------------------------------

  private static final class Reader {
    final Destination destination;
    final Sink sink;
    final Pattern glob;

    Reader(Destination destination, Sink sink) {
      this.destination = destination;
      this.sink = sink;
      this.glob = destination instanceof PatternDestination p ? Glob.compile(p.name()) : null;
    }
  }

  static final class ListReader {
    final ListDestination list;
    final Sink sink;

    ListReader(ListDestination list, Sink sink) {
      this.list = list;
      this.sink = sink;
    }
  }

  static final class StreamReader {
    final StreamDestination stream;
    final Sink sink;
    StreamId position = StreamId.ZERO;

    StreamReader(StreamDestination stream, Sink sink) {
      this.stream = stream;
      this.sink = sink;
    }
  }

  /** A delivered message; reports to the transport once processed. */
  abstract static class MemoryInbound implements Inbound {
    final MemoryTransport transport;
    final byte[] raw;
    private Frame frame;
    private boolean done;

    MemoryInbound(MemoryTransport transport, byte[] raw) {
      this.transport = transport;
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
        if (done) {
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

    PubSubItem(MemoryTransport transport, String channel, byte[] raw, PatternDestination pattern) {
      super(transport, raw);
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
      super(transport, raw);
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

    @Override
    public void ack() {
      transport.settleListItem(this, "ack", null);
    }

    @Override
    public void nack(String reason) {
      transport.settleListItem(this, "requeue", reason);
    }

    @Override
    public void reject(String reason, Throwable error) {
      transport.settleListItem(this, "reject", reason);
    }

    @Override
    public void release() {
      transport.settleListItem(this, "requeue", null);
    }
  }

  static final class StreamItem extends MemoryInbound {
    final StreamReader reader;
    final StreamId id;
    final long count;

    StreamItem(MemoryTransport transport, StreamReader reader, StreamId id, byte[] raw, long count) {
      super(transport, raw);
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
      transport.settleStreamItem(this, "ack", null);
    }

    @Override
    public void nack(String reason) {
      transport.settleStreamItem(this, "nack", reason);
    }

    @Override
    public void reject(String reason, Throwable error) {
      transport.settleStreamItem(this, "reject", reason);
    }

    @Override
    public void release() {
      transport.settleStreamItem(this, "release", null);
    }
  }

  @Override
  public String toString() {
    return "MemoryTransport[" + Objects.toString(describe()) + "]";
  }
}
