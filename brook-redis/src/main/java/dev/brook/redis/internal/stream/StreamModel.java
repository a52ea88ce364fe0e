package dev.brook.redis.internal.stream;

import dev.brook.redis.StreamDestination;
import dev.brook.redis.internal.Backoffs;
import dev.brook.redis.internal.Envelope;
import dev.brook.redis.internal.MemoryInbound;
import dev.brook.redis.internal.MemoryRedis;
import dev.brook.redis.internal.RedisKind;
import dev.brook.spi.Frame;
import dev.brook.spi.Transport;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;

/**
 * Streams in memory, for the test broker: what {@link StreamKind} and {@link StreamConsumer} do
 * with Redis, where a test can see it (one {@link MemoryStream} per key). With a group: entries, a
 * pending-entries list whose delivery counts are handler attempts (a release undoes its attempt),
 * consumers named per subscription, own pending entries first when a consumer starts, a nacked
 * entry claimed again by its consumer once its back-off ({@link Backoffs#STREAM_NACK}) has passed
 * on the {@linkplain MemoryRedis#advance clock}, takeover of entries idle at least {@code minIdle}
 * when the clock moves (never of an entry the claiming consumer still holds), {@code
 * maxDeliveries} (the last allowed attempt's failure dead-letters) and the {@code {stream}:dlq}
 * stream with the headers Redis' dead letters carry. Without a group: every new entry to each
 * reader, from the newest entry at its start or from {@code startFrom}. Like {@link
 * StreamConsumer}, a consumer is handed no more than its subscription has room for; the rest waits
 * until messages finish. Guarded by its {@link MemoryRedis}' lock.
 */
public final class StreamModel implements RedisKind<StreamDestination>, MemoryRedis.Model {

  final MemoryRedis redis;
  private final Map<String, MemoryStream> streams = new HashMap<>();
  /** The next partition of a message without a key, as {@link StreamKind} keeps it. */
  private final java.util.concurrent.atomic.AtomicInteger roundRobin = new java.util.concurrent.atomic.AtomicInteger();

  /** Delayed publishes and dedup keys ({@link dev.brook.redis.internal.Delayed} in memory). */
  private final dev.brook.redis.internal.MemoryDelayed<StreamDestination> delayed;

  public StreamModel(MemoryRedis redis) {
    this.redis = redis;
    this.delayed = new dev.brook.redis.internal.MemoryDelayed<>(redis, this::sendBatch);
  }

  @Override
  public CompletableFuture<dev.brook.PublishResult> send(StreamDestination stream, Frame frame, dev.brook.PublishOptions options) {
    return delayed.send(stream, stream.name(), frame, options);
  }

  @Override
  public Class<StreamDestination> type() {
    return StreamDestination.class;
  }

  /**
   * A partitioned stream in memory: this subscription reads every partition (with a group, as the
   * only member of the group would hold every lease on Redis), each as the plain stream it is.
   */
  @Override
  public Transport.Consumer consumer(StreamDestination stream, String subscriptionId, Transport.Sink sink) {
    if (stream.partitionCount() > 1) {
      List<Transport.Consumer> parts = new java.util.ArrayList<>(stream.partitionCount());
      for (int i = 0; i < stream.partitionCount(); i++) {
        parts.add(consumer(stream.partition(i), subscriptionId, sink));
      }
      return new Transport.Consumer() {
        @Override
        public void start() {
          parts.forEach(Transport.Consumer::start);
        }

        @Override
        public void stop() {
          parts.forEach(Transport.Consumer::stop);
        }
      };
    }
    Reader r = new Reader(stream, MemoryRedis.consumerName(stream.consumerName(), stream.key(), subscriptionId), sink,
        subscriptionId);
    return new Transport.Consumer() {
      @Override
      public void start() {
        redis.locked(() -> stream(stream.name()).start(r));
      }

      @Override
      public void stop() {
        redis.locked(() -> stream(stream.name()).stop(r));
      }
    };
  }

  @Override
  public CompletableFuture<Void> send(StreamDestination stream, Frame frame) {
    return sendBatch(stream, List.of(frame));
  }

  @Override
  public CompletableFuture<Void> sendBatch(StreamDestination stream, List<Frame> frames) {
    return redis.lockedGet(() -> {
      try {
        if (stream.partitionCount() == 1) {
          redis.checkType(stream.name(), this);
        } else {
          for (int i = 0; i < stream.partitionCount(); i++) {
            redis.checkType(stream.partitionKey(i), this);
          }
        }
      } catch (MemoryRedis.WrongType e) {
        return CompletableFuture.failedFuture(e); // as Redis answers the XADD
      }
      for (Frame frame : frames) {
        stream(Partitions.target(stream, frame, roundRobin)).add(redis.write(stream, frame), stream.maxLength());
      }
      return CompletableFuture.completedFuture(null);
    });
  }

  /** XGROUP CREATE name group from [MKSTREAM], as an operator runs it; fails as Redis answers it. */
  public void createGroup(String name, String group, String from, boolean mkstream) {
    redis.locked(() -> {
      redis.checkType(name, this);
      stream(name).createGroup(group, from, mkstream);
    });
  }

  /** XADD name * field value...: an entry written by another client, read as StreamConsumer reads it. */
  public String addRaw(String name, Map<byte[], byte[]> fields) {
    return redis.lockedGet(() -> {
      redis.checkType(name, this);
      Frame frame = StreamInbound.decode(fields);
      return stream(name).add(Envelope.encode(frame.headers(), frame.payload()), 0).toString();
    });
  }

  /** DEL name, when the key is a stream: whether it was one. */
  public boolean delete(String name) {
    return redis.lockedGet(() -> {
      MemoryStream s = streams.get(name);
      if (s == null || !s.exists) {
        return false;
      }
      s.delete();
      return true;
    });
  }

  /**
   * A stream's dead letters ({@code RedisBroker.deadLetters} on the test broker): the stream {@code
   * dlq}; a replay deletes the entry (XDEL) and adds the revived envelope to {@code stream} (XADD),
   * under the lock as the Lua script does on Redis, and the stream's readers and groups get it.
   */
  public dev.brook.redis.internal.DeadLetterStore deadLetters(String stream, String dlq) {
    return new dev.brook.redis.internal.DeadLetterStore() {
      @Override
      public long count() {
        return redis.lockedGet(() -> {
          MemoryStream s = streams.get(dlq);
          return s == null ? 0L : (long) s.entries.size();
        });
      }

      @Override
      public List<Stored> read(int max) {
        return redis.lockedGet(() -> {
          List<Stored> out = new java.util.ArrayList<>();
          MemoryStream s = streams.get(dlq);
          if (s != null) {
            for (Map.Entry<MemoryStream.Id, byte[]> e : s.entries.entrySet()) {
              if (out.size() >= max) {
                break;
              }
              out.add(new Stored(e.getKey().toString(), e.getValue()));
            }
          }
          return out;
        });
      }

      @Override
      public Stored find(String streamId) {
        return redis.lockedGet(() -> {
          MemoryStream s = streams.get(dlq);
          if (s != null) {
            for (Map.Entry<MemoryStream.Id, byte[]> e : s.entries.entrySet()) {
              if (e.getKey().toString().equals(streamId)) {
                return new Stored(streamId, e.getValue());
              }
            }
          }
          return null;
        });
      }

      @Override
      public boolean replay(Stored dead, byte[] revived) {
        return redis.lockedGet(() -> {
          MemoryStream s = streams.get(dlq);
          if (s == null || !s.entries.entrySet().removeIf(e -> e.getKey().toString().equals(dead.streamId()))) {
            return false;
          }
          redis.checkType(stream, StreamModel.this);
          stream(stream).add(revived, 0);
          return true;
        });
      }

      @Override
      public boolean delete(Stored dead) {
        return redis.lockedGet(() -> {
          MemoryStream s = streams.get(dlq);
          return s != null && s.entries.entrySet().removeIf(e -> e.getKey().toString().equals(dead.streamId()));
        });
      }

      @Override
      public long purge() {
        return redis.lockedGet(() -> {
          MemoryStream s = streams.get(dlq);
          long n = s == null ? 0L : (long) s.entries.size();
          StreamModel.this.delete(dlq);
          return n;
        });
      }
    };
  }

  /** Entries of a stream (or dead-letter stream) by id, decoded. */
  public Map<String, Frame> entries(String name) {
    return redis.lockedGet(() -> {
      MemoryStream s = streams.get(name);
      Map<String, Frame> out = new LinkedHashMap<>();
      if (s != null) {
        s.entries.forEach((id, v) -> out.put(id.toString(), Envelope.decode(v)));
      }
      return out;
    });
  }

  /** Pending entries of a group, oldest first: entry id → delivery count. */
  public Map<String, Long> pending(String stream, String group) {
    return redis.lockedGet(() -> {
      MemoryStream s = streams.get(stream);
      MemoryStream.Group g = s == null ? null : s.groups.get(group);
      Map<String, Long> out = new LinkedHashMap<>();
      if (g != null) {
        g.pel.forEach((id, p) -> out.put(id.toString(), p.count));
      }
      return out;
    });
  }

  /**
   * The figures of {@code RedisBroker.backlog} for a subscription of this stream, as {@code
   * RedisBacklogs} reads them from Redis: XLEN; for a group its lag (entries after the group's last
   * delivered id: Redis 7's entries-read count when nothing was deleted), pending entries, this
   * consumer's pending entries, and XLEN of the dead-letter stream.
   */
  public dev.brook.redis.Backlog backlog(StreamDestination stream, String subscriptionId) {
    if (stream.partitionCount() > 1) {
      dev.brook.redis.Backlog sum = null;
      for (int i = 0; i < stream.partitionCount(); i++) {
        sum = dev.brook.redis.internal.Backlogs.sum(sum, backlog(stream.partition(i), subscriptionId), stream.key());
      }
      return sum;
    }
    return redis.lockedGet(() -> {
      MemoryStream s = streams.get(stream.name());
      long length = s == null ? 0 : s.entries.size();
      if (stream.groupName() == null) {
        return new dev.brook.redis.Backlog(subscriptionId, stream.key(), length, -1, -1, -1, -1, -1);
      }
      MemoryStream.Group g = s == null ? null : s.groups.get(stream.groupName());
      long lag = -1;
      long pending = 0;
      long mine = 0;
      if (g != null) {
        lag = s.entries.tailMap(g.lastDelivered, false).size();
        pending = g.pel.size();
        String consumer = MemoryRedis.consumerName(stream.consumerName(), stream.key(), subscriptionId);
        for (MemoryStream.Pending p : g.pel.values()) {
          if (p.consumer.equals(consumer)) {
            mine++;
          }
        }
      }
      MemoryStream dead = streams.get(stream.deadLetterKey());
      return new dev.brook.redis.Backlog(subscriptionId, stream.key(), length, lag, pending, mine, -1,
          dead == null ? 0 : dead.entries.size());
    });
  }

  /** A stream exists from its first XADD or group on. */
  @Override
  public boolean holds(String key) {
    MemoryStream s = streams.get(key);
    return s != null && s.exists;
  }

  @Override
  public void pump() {
    for (MemoryStream s : List.copyOf(streams.values())) {
      s.dispatchAll();
    }
  }

  @Override
  public void clockMoved() {
    delayed.clockMoved();
    for (MemoryStream s : List.copyOf(streams.values())) {
      s.reclaim();
    }
  }

  /** Under the lock. */
  MemoryStream stream(String name) {
    return streams.computeIfAbsent(name, n -> new MemoryStream(this, n));
  }

  private void settle(Item item, MemoryInbound.Outcome outcome, String reason) {
    redis.locked(() -> {
      Reader r = item.reader;
      StreamDestination d = r.stream;
      if (!d.atLeastOnce()) {
        return; // no group, or NOACK: nothing pending to settle
      }
      MemoryStream s = stream(d.name());
      switch (outcome) {
        case ACK -> {
          MemoryStream.Group g = s.groups.get(d.groupName());
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
          r.retries.put(item.id, redis.now() + item.nackDelayMillis(Backoffs.STREAM_NACK.createDelay(item.count).toMillis()));
        }
        case REJECT -> s.deadLetter(item, reason);
        case RELEASE -> {
          // The attempt is undone (XCLAIM RETRYCOUNT n-1 IDLE minIdle) if the entry is still this
          // consumer's at that count; idle at once, so any live consumer may take it over.
          r.held.remove(item.id);
          MemoryStream.Group g = s.groups.get(d.groupName());
          MemoryStream.Pending p = g == null ? null : g.pel.get(item.id);
          if (p != null && p.consumer.equals(r.name) && p.count == item.count) {
            p.count--;
            p.deliveredAt = redis.now() - d.minIdleTime().toMillis();
          }
        }
      }
    });
  }

  /** A subscription's reader of a stream: a group consumer, or a reader without a group. */
  static final class Reader {
    final StreamDestination stream;
    /** Its consumer name in the group. */
    final String name;
    final Transport.Sink sink;
    MemoryStream.Id position = MemoryStream.Id.ZERO;
    /** Nacked entries waiting for their back-off: id → when (manual clock) this consumer claims them again. */
    final Map<MemoryStream.Id, Long> retries = new HashMap<>();
    /** Group mode: entries handed to the subscription and not yet settled or given back. */
    final Set<MemoryStream.Id> held = new HashSet<>();
    /** Why entries were last nacked by this consumer (as StreamConsumer keeps it, per consumer). */
    final Map<MemoryStream.Id, String> lastErrors = new HashMap<>();

    /** For the missing-group ERROR of declare(false). */
    final String subscriptionId;

    Reader(StreamDestination stream, String name, Transport.Sink sink, String subscriptionId) {
      this.stream = stream;
      this.name = name;
      this.sink = sink;
      this.subscriptionId = subscriptionId;
    }
  }

  /** An entry handed to a reader, with the attempt it is (its delivery count in the group); as {@link StreamInbound}. */
  final class Item extends MemoryInbound {
    final Reader reader;
    final MemoryStream.Id id;
    final long count;

    Item(Reader reader, MemoryStream.Id id, byte[] raw, long count) {
      super(redis, true, raw);
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
      return reader.stream.atLeastOnce();
    }

    @Override
    public long deliveryCount() {
      return count;
    }

    @Override
    public void delete() {
      redis.locked(() -> stream(reader.stream.name()).entries.remove(id));
    }

    @Override
    protected void settle(Outcome outcome, String reason) {
      StreamModel.this.settle(this, outcome, reason);
    }
  }
}
