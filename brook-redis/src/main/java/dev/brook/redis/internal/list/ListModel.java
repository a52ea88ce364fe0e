package dev.brook.redis.internal.list;

import dev.brook.redis.ListDestination;
import dev.brook.redis.internal.DeadLetter;
import dev.brook.redis.internal.Keys;
import dev.brook.redis.internal.MemoryInbound;
import dev.brook.redis.internal.MemoryRedis;
import dev.brook.redis.internal.RedisKind;
import dev.brook.spi.Frame;
import dev.brook.spi.Inbound;
import dev.brook.spi.Transport;
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
import java.util.concurrent.CompletableFuture;
import java.util.function.Predicate;

/**
 * Lists in memory, for the test broker: what {@link ListKind} and {@link ListConsumer} do with
 * Redis, where a test can see it. FIFO; each item goes to one started consumer that has room
 * ({@link Transport.Sink#room()}; round robin; what one consumer gets at once is handed over
 * together, as one read is). A reliable list keeps the item in the subscription's own processing
 * list (named as {@code ConsumerNames} names it) until settled: release puts it back at the head
 * (several in their order); nack leaves it there for its back-off ({@link ListDeliveries}, on the
 * {@linkplain MemoryRedis#advance clock}, or none when the consumer has stopped), then puts it back
 * at the head with {@code x-deliveries} (Redis keeps a nacked item in the delayed set instead and
 * promotes it to the tail: the model differs in where it waits, not in when it comes back); the nack of delivery {@code maxDeliveries} and reject go
 * to {@code {list}:dlq} when the list has one, else are dropped. A starting consumer first takes
 * back the processing lists of consumers that are gone (whose heartbeat a stopped consumer deletes
 * once drained), then its own, and looks again every heartbeat period of the clock. At-most-once
 * lists forget an item once delivered. Guarded by its {@link MemoryRedis}' lock.
 */
public final class ListModel implements RedisKind<ListDestination>, MemoryRedis.Model {

  private final MemoryRedis redis;
  /** Every list key: queues, processing lists, dead letters. A list exists while it holds items. */
  private final Map<String, LinkedList<byte[]>> lists = new HashMap<>();
  private final Map<String, List<Reader>> readers = new HashMap<>();
  /** Reliable list consumers alive (started, not yet drained) by list and consumer name: Brook's heartbeat keys. */
  private final Map<String, Map<String, Integer>> heartbeats = new HashMap<>();
  private final Map<String, Integer> roundRobin = new HashMap<>();
  /** Nacked items in their consumer's processing list until their back-off ends, in the order nacked. */
  private final List<Waiting> waiting = new ArrayList<>();

  /** Delayed publishes and dedup keys ({@link dev.brook.redis.internal.Delayed} in memory). */
  private final dev.brook.redis.internal.MemoryDelayed<ListDestination> delayed;

  public ListModel(MemoryRedis redis) {
    this.redis = redis;
    this.delayed = new dev.brook.redis.internal.MemoryDelayed<>(redis, this::sendBatch);
  }

  @Override
  public CompletableFuture<dev.brook.PublishResult> send(ListDestination list, Frame frame, dev.brook.PublishOptions options) {
    return delayed.send(list, list.name(), frame, options);
  }

  @Override
  public Class<ListDestination> type() {
    return ListDestination.class;
  }

  @Override
  public Transport.Consumer consumer(ListDestination list, String subscriptionId, Transport.Sink sink) {
    Reader r = new Reader(list, sink, MemoryRedis.consumerName(list.consumerName(), list.key(), subscriptionId));
    return new Transport.Consumer() {
      @Override
      public void start() {
        redis.locked(() -> startReader(r));
      }

      @Override
      public void stop() {
        redis.locked(() -> readers.getOrDefault(list.name(), List.of()).remove(r));
      }

      @Override
      public void afterDrain() {
        // As Brook's give-back after the drain: nacked items waiting for their back-off go back at
        // once; then its heartbeat key goes, and what the processing list still holds is abandoned.
        redis.locked(() -> {
          if (!list.isAtMostOnce()) {
            requeueWaiting(w -> w.reader == r);
            heartbeats.getOrDefault(list.name(), Map.of()).computeIfPresent(r.name, (k, n) -> n > 1 ? n - 1 : null);
          }
        });
      }
    };
  }

  @Override
  public CompletableFuture<Void> send(ListDestination list, Frame frame) {
    return sendBatch(list, List.of(frame));
  }

  /** One RPUSH: consumers see the items once all are in the list. */
  @Override
  public CompletableFuture<Void> sendBatch(ListDestination list, List<Frame> frames) {
    return redis.lockedGet(() -> {
      try {
        redis.checkType(list.name(), this);
      } catch (MemoryRedis.WrongType e) {
        return CompletableFuture.failedFuture(e); // as Redis answers the RPUSH
      }
      for (Frame frame : frames) {
        key(list.name()).addLast(redis.write(list, frame));
      }
      dispatch(list.name());
      return CompletableFuture.completedFuture(null);
    });
  }

  /** RPUSH key value...: values written by another client, as they are (not in Brook's envelope). */
  public long pushRaw(String key, List<byte[]> values) {
    return redis.lockedGet(() -> {
      redis.checkType(key, this);
      for (byte[] value : values) {
        key(key).addLast(value);
      }
      long length = key(key).size();
      dispatch(key);
      return length;
    });
  }

  /** DEL key, when the key is a list: whether it was one. */
  public boolean delete(String key) {
    return redis.lockedGet(() -> {
      LinkedList<byte[]> items = lists.remove(key);
      return items != null && !items.isEmpty();
    });
  }

  /**
   * A list's dead letters ({@code RedisBroker.deadLetters} on the test broker): the list {@code
   * dlq}; a replay moves one (LREM) to the tail of {@code queue} (RPUSH) under the lock, as the Lua
   * script does on Redis, and hands it to a consumer with room.
   */
  public dev.brook.redis.internal.DeadLetterStore deadLetters(String queue, String dlq) {
    return new dev.brook.redis.internal.DeadLetterStore() {
      @Override
      public long count() {
        return length(dlq);
      }

      @Override
      public List<Stored> read(int max) {
        List<Stored> out = new ArrayList<>();
        for (byte[] raw : items(dlq)) {
          if (out.size() >= max) {
            break;
          }
          out.add(new Stored(null, raw));
        }
        return out;
      }

      @Override
      public Stored find(String streamId) {
        return null;
      }

      @Override
      public boolean replay(Stored dead, byte[] revived) {
        return redis.lockedGet(() -> {
          LinkedList<byte[]> items = lists.get(dlq);
          if (items == null || !removeSame(items, dead.raw())) {
            return false;
          }
          if (items.isEmpty()) {
            lists.remove(dlq);
          }
          redis.checkType(queue, ListModel.this);
          key(queue).addLast(revived);
          dispatch(queue);
          return true;
        });
      }

      @Override
      public boolean delete(Stored dead) {
        return redis.lockedGet(() -> {
          LinkedList<byte[]> items = lists.get(dlq);
          if (items == null || !removeSame(items, dead.raw())) {
            return false;
          }
          if (items.isEmpty()) {
            lists.remove(dlq);
          }
          return true;
        });
      }

      @Override
      public long purge() {
        return redis.lockedGet(() -> {
          long n = length(dlq);
          ListModel.this.delete(dlq);
          return n;
        });
      }
    };
  }

  /** The items of a list key (a queue, a processing list or a dead letter), head first, as raw values. */
  public List<byte[]> items(String key) {
    return redis.lockedGet(() -> List.copyOf(lists.getOrDefault(key, new LinkedList<>())));
  }

  /** LLEN key: 0 for a missing key. */
  public long length(String key) {
    return redis.lockedGet(() -> {
      LinkedList<byte[]> items = lists.get(key);
      return items == null ? 0L : (long) items.size();
    });
  }

  /** The figures of {@code RedisBroker.backlog} for a subscription of this list, as {@code RedisBacklogs} reads them. */
  public dev.brook.redis.Backlog backlog(ListDestination list, String subscriptionId) {
    long processing = list.isAtMostOnce() ? -1 : length(Keys.derived(list.name(), "processing:"
        + MemoryRedis.consumerName(list.consumerName(), list.key(), subscriptionId)));
    long dead = list.deadLetterKey() == null ? -1 : length(list.deadLetterKey());
    return new dev.brook.redis.Backlog(subscriptionId, list.key(), length(list.name()), -1, -1, -1, processing, dead);
  }

  @Override
  public boolean holds(String key) {
    LinkedList<byte[]> list = lists.get(key);
    return list != null && !list.isEmpty();
  }

  @Override
  public void pump() {
    for (String name : List.copyOf(readers.keySet())) {
      dispatch(name);
    }
  }

  /** Consumers whose heartbeat period passed take back abandoned processing lists; nacked items whose back-off is over go back. */
  @Override
  public void clockMoved() {
    delayed.clockMoved();
    long now = redis.now();
    for (List<Reader> listReaders : List.copyOf(readers.values())) {
      for (Reader r : List.copyOf(listReaders)) {
        if (!r.list.isAtMostOnce() && now - r.recoveredAt >= r.list.heartbeatTtl().toMillis()) {
          r.recoveredAt = now;
          recoverAbandoned(r);
        }
      }
    }
    requeueWaiting(w -> w.dueAt <= now);
  }

  private LinkedList<byte[]> key(String key) {
    return lists.computeIfAbsent(key, k -> new LinkedList<>());
  }

  /** Under the lock: as ListConsumer.start — heartbeat, recover abandoned lists, own processing list, then the queue. */
  private void startReader(Reader r) {
    ListDestination list = r.list;
    readers.computeIfAbsent(list.name(), k -> new ArrayList<>()).add(r);
    if (!list.isAtMostOnce()) {
      heartbeats.computeIfAbsent(list.name(), k -> new HashMap<>()).merge(r.name, 1, Integer::sum);
      r.recoveredAt = redis.now();
      recoverAbandoned(r);
      List<Item> own = new ArrayList<>();
      for (byte[] v : List.copyOf(key(r.processingKey))) {
        own.add(new Item(r, v));
      }
      redis.deliverAll(r.sink, own);
    }
    dispatch(list.name());
  }

  /** Moves the items of every processing list of this list whose consumer is gone back to the queue head, in order. */
  private void recoverAbandoned(Reader r) {
    String prefix = Keys.derived(r.list.name(), "processing:");
    Map<String, Integer> alive = heartbeats.getOrDefault(r.list.name(), Map.of());
    for (Map.Entry<String, LinkedList<byte[]>> e : lists.entrySet()) {
      String owner = e.getKey().startsWith(prefix) ? e.getKey().substring(prefix.length()) : null;
      if (owner == null || owner.equals(r.name) || alive.containsKey(owner) || e.getValue().isEmpty()) {
        continue;
      }
      LinkedList<byte[]> queue = key(r.list.name());
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
  private void dispatch(String name) {
    List<Reader> listReaders = readers.getOrDefault(name, List.of());
    LinkedList<byte[]> queue = lists.get(name);
    Map<Reader, List<Item>> taken = new LinkedHashMap<>();
    while (queue != null && !queue.isEmpty() && !listReaders.isEmpty()) {
      Reader r = null;
      for (int tries = 0; tries < listReaders.size() && r == null; tries++) {
        int i = Math.floorMod(roundRobin.merge(name, 1, Integer::sum), listReaders.size());
        Reader candidate = listReaders.get(i);
        if (candidate.sink.room() - taken.getOrDefault(candidate, List.of()).size() > 0) {
          r = candidate;
        }
      }
      if (r == null) {
        break; // nobody has room: the items wait in the list, as they do in Redis
      }
      byte[] v = queue.removeFirst();
      if (!r.list.isAtMostOnce()) {
        key(r.processingKey).addLast(v);
      }
      taken.computeIfAbsent(r, k -> new ArrayList<>()).add(new Item(r, v));
    }
    taken.forEach((r, items) -> redis.deliverAll(r.sink, items));
  }

  /** A nacked list item in its consumer's processing list until its back-off ends (as ListConsumer does). */
  private record Waiting(Reader reader, byte[] raw, byte[] requeued, long dueAt) {}

  /** Under the lock: the waiting items that match go back to the head of their queue now. */
  private void requeueWaiting(Predicate<Waiting> which) {
    Set<String> names = new HashSet<>();
    for (Iterator<Waiting> it = waiting.iterator(); it.hasNext(); ) {
      Waiting w = it.next();
      if (which.test(w)) {
        it.remove();
        if (removeSame(key(w.reader.processingKey), w.raw)) {
          key(w.reader.list.name()).addFirst(w.requeued);
          names.add(w.reader.list.name());
        }
      }
    }
    names.forEach(this::dispatch);
  }

  private void settle(Item item, MemoryInbound.Outcome outcome, String reason) {
    redis.locked(() -> {
      Reader r = item.reader;
      ListDestination list = r.list;
      if (list.isAtMostOnce()) {
        return;
      }
      long delivery = item.deliveryCount();
      if (outcome == MemoryInbound.Outcome.NACK && delivery < list.maxDeliveryCount()) {
        // Stays in the processing list for the back-off (the manual clock), then back at the head.
        if (key(r.processingKey).stream().anyMatch(v -> Arrays.equals(v, item.raw()))) {
          byte[] again = ListDeliveries.requeued(item.frame(), delivery, reason);
          boolean stopped = !readers.getOrDefault(list.name(), List.of()).contains(r);
          long now = redis.now();
          waiting.add(new Waiting(r, item.raw(), again, stopped ? now : now + item.nackDelayMillis(ListDeliveries.backoffMillis(delivery))));
          if (stopped) {
            requeueWaiting(w -> w.reader == r);
          }
        }
        return;
      }
      if (!removeSame(key(r.processingKey), item.raw())) {
        return; // recovered or settled already
      }
      switch (outcome) {
        case RELEASE -> {
          key(list.name()).addFirst(item.raw());
          dispatch(list.name());
        }
        case NACK, REJECT -> {
          if (list.deadLetterKey() != null) {
            Map<String, String> extra = new LinkedHashMap<>();
            extra.put(DeadLetter.ERROR, outcome == MemoryInbound.Outcome.NACK
                ? ListDeliveries.exhausted(delivery, list.maxDeliveryCount(), reason) : reason);
            extra.put(DeadLetter.ORIGINAL, list.name());
            extra.put(DeadLetter.DELIVERIES, Long.toString(delivery));
            key(list.deadLetterKey()).addLast(DeadLetter.envelope(ListDeliveries.withoutCount(item.frame()), extra));
          }
        }
        case ACK -> { }
      }
    });
  }

  /** Gives back several items of one consumer: at the head of the queue, the first ending first. */
  private void releaseAll(List<? extends Inbound> items) {
    redis.locked(() -> {
      Set<String> names = new HashSet<>();
      for (int i = items.size() - 1; i >= 0; i--) {
        Item item = (Item) items.get(i);
        ListDestination list = item.reader.list;
        if (!list.isAtMostOnce() && removeSame(key(item.reader.processingKey), item.raw())) {
          key(list.name()).addFirst(item.raw());
          names.add(list.name());
        }
      }
      names.forEach(this::dispatch);
    });
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

  /** A subscription's consumer of a list. */
  private static final class Reader {
    final ListDestination list;
    final Transport.Sink sink;
    /** Its consumer name in Redis, and so its processing list. */
    final String name;
    final String processingKey;
    /** When this consumer last looked for abandoned processing lists (manual clock). */
    long recoveredAt;

    Reader(ListDestination list, Transport.Sink sink, String name) {
      this.list = list;
      this.sink = sink;
      this.name = name;
      this.processingKey = Keys.derived(list.name(), "processing:" + name);
    }
  }

  /** An item a consumer took; settled in its processing list, as {@link ListInbound} is. */
  private final class Item extends MemoryInbound {
    final Reader reader;

    Item(Reader reader, byte[] raw) {
      super(redis, true, raw);
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
    protected void settle(Outcome outcome, String reason) {
      ListModel.this.settle(this, outcome, reason);
    }

    @Override
    public void releaseAll(List<? extends Inbound> messages) {
      ListModel.this.releaseAll(messages);
    }
  }
}
