package dev.brook.redis.internal;

import dev.brook.internal.Transport;
import dev.brook.redis.StreamDestination;
import io.lettuce.core.Consumer;
import io.lettuce.core.Limit;
import io.lettuce.core.Range;
import io.lettuce.core.RedisCommandExecutionException;
import io.lettuce.core.StreamMessage;
import io.lettuce.core.XAddArgs;
import io.lettuce.core.XAutoClaimArgs;
import io.lettuce.core.XGroupCreateArgs;
import io.lettuce.core.XReadArgs;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.sync.RedisCommands;
import io.lettuce.core.models.stream.ClaimedMessages;
import io.lettuce.core.models.stream.PendingMessage;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reads one Stream for one subscription, on its own connection and virtual thread ({@code
 * brook-stream:<name>}).
 *
 * <p>With a group: creates the group when missing (MKSTREAM), hands out its own pending entries
 * first (a restart with the same consumer name), then new ones ({@code >}, blocking). Every half
 * {@code minIdle} (at most every 2 s) it also takes over entries idle longer than {@code minIdle}
 * with XAUTOCLAIM — while it keeps reading new entries — and sends those delivered more than
 * {@code maxDeliveries} times to the dead-letter stream. NOGROUP (the stream was deleted, or Redis
 * restarted without persistence) recreates the group and goes on, with back-off and one WARN per
 * episode.
 *
 * <p>Without a group: XREAD from the latest entry (or {@code startFrom}), at-most-once.
 *
 * <p>The loop fetches no more than the subscription has room for; settlement runs on the broker's
 * shared command connection.
 *
 * <p>Faults: when the connection drops while Redis hands us entries (XREADGROUP ran, its reply was
 * lost), those entries are pending for this consumer without our knowing. After every reconnect of
 * its connection, and after a failed read, the loop reads its own pending entries again from the
 * start and delivers those it does not hold ({@code inFlight}), instead of leaving them to
 * XAUTOCLAIM after {@code minIdle}.
 */
final class StreamConsumer implements Transport.Consumer {

  private static final Logger LOG = LoggerFactory.getLogger("dev.brook.redis.Stream");
  private static final int MAX_FETCH = 100;
  private static final int LAST_ERRORS = 10_000;

  private final RedisTransport transport;
  private final StreamDestination stream;
  private final String subscriptionId;
  /** This consumer's name in the group (see ConsumerNames). */
  private final String consumerName;
  private final Transport.Sink sink;
  private final byte[] key;
  private final byte[] group;
  private final Consumer<byte[]> me;
  private final long blockMillis;
  private final long claimEveryMillis;
  /** Why an entry was last nacked here, for its dead-letter headers (bounded). */
  private final Map<String, String> lastErrors = new ConcurrentHashMap<>();
  /** At most 10 WARN lines a minute for dead letters; the rest at DEBUG, with a count. */
  private final dev.brook.internal.WarnLimit deadLetterWarnings =
      dev.brook.internal.WarnLimit.perMinute(dev.brook.internal.WarnLimit.DECODE_WARNINGS_PER_MINUTE);

  private volatile boolean running;
  /** Group mode: ids handed to the subscription and not yet acknowledged, dead-lettered or given back. */
  private final java.util.Set<String> inFlight = ConcurrentHashMap.newKeySet();
  /** Our pending entries may include some we do not hold: read them again before the next new ones. */
  private volatile boolean rescan;
  /** True until the own pending entries found at start were read (those are expected, not orphans). */
  private boolean firstPendingRead = true;
  private StatefulRedisConnection<byte[], byte[]> connection;
  private Thread loop;
  private boolean failureLogged;

  StreamConsumer(RedisTransport transport, StreamDestination stream, String subscriptionId, Transport.Sink sink,
      Duration commandTimeout) {
    this.transport = transport;
    this.stream = stream;
    this.subscriptionId = subscriptionId;
    this.sink = sink;
    this.key = bytes(stream.name());
    this.group = stream.groupName() == null ? null : bytes(stream.groupName());
    String explicit = stream.consumerName().equals(dev.brook.redis.Redis.defaultConsumerName()) ? null : stream.consumerName();
    this.consumerName = transport.consumerNames().name(explicit, stream.key(), subscriptionId);
    this.me = group == null ? null : Consumer.from(group, bytes(consumerName));
    this.claimEveryMillis = Math.max(50, Math.min(2_000, stream.minIdleTime().toMillis() / 2));
    long block = Math.min(2_000, commandTimeout.toMillis() / 2);
    this.blockMillis = Math.max(10, group == null ? block : Math.min(block, claimEveryMillis));
  }

  String streamName() {
    return stream.name();
  }

  boolean grouped() {
    return group != null;
  }

  int maxMessageSize() {
    return transport.maxMessageSize();
  }

  @Override
  @SuppressWarnings("unchecked") // one StreamOffset through Lettuce's generic varargs
  public void start() {
    if (grouped()) {
      transport.consumerNames().claim(stream.name() + "/" + stream.groupName(), consumerName, subscriptionId);
    }
    boolean started = false;
    try {
      connection = transport.dedicatedConnection(() -> rescan = true);
      running = true;
      String startId = null;
      if (grouped()) {
        ensureGroup(connection.sync(), stream.startId());
      } else {
        startId = initialReadId(connection.sync());
        if (!StreamDestination.LATEST.equals(stream.startId())) {
          // Lets Redis check the id (and the key's type) now rather than in the loop.
          connection.sync().xread(XReadArgs.Builder.count(1), XReadArgs.StreamOffset.from(key, startId));
        }
      }
      String first = startId;
      loop = Thread.ofVirtual().name("brook-stream:" + stream.name()).start(() -> {
        if (grouped()) {
          groupLoop();
        } else {
          readLoop(first);
        }
      });
      started = true;
    } catch (RedisCommandExecutionException e) {
      throw startFailure(e);
    } finally {
      if (!started) {
        running = false;
        if (connection != null) {
          transport.closeDedicated(connection);
          connection = null;
        }
        if (grouped()) {
          transport.consumerNames().release(stream.name() + "/" + stream.groupName(), consumerName, subscriptionId);
        }
      }
    }
  }

  /** A start Redis refused, with the stream, the group, what Redis said and the fix. */
  private dev.brook.BrookException startFailure(RedisCommandExecutionException e) {
    String redisSays = String.valueOf(e.getMessage());
    String what = grouped()
        ? "Cannot create consumer group '" + stream.groupName() + "' on stream '" + stream.name() + "'"
        : "Cannot read stream '" + stream.name() + "'";
    if (redisSays.startsWith("WRONGTYPE")) {
      String type;
      try {
        type = transport.syncCommands().type(key);
      } catch (RuntimeException unknown) {
        type = "another type";
      }
      return new dev.brook.BrookException(what + ": Redis says " + redisSays + ": the key holds a " + type
          + ", not a stream. Use another stream name or delete the key.", e);
    }
    if (redisSays.contains("Invalid stream ID")) {
      return new dev.brook.BrookException(what + " at '" + stream.startId() + "': Redis says " + redisSays
          + ". startFrom takes StreamDestination.LATEST (\"$\"), StreamDestination.BEGINNING (\"0\") or an entry id "
          + "such as \"1700000000000-0\" (milliseconds-sequence).", e);
    }
    return new dev.brook.BrookException(what + ": Redis says " + redisSays + ". The subscription was not started.", e);
  }

  @Override
  public void stop() {
    running = false;
    StatefulRedisConnection<byte[], byte[]> c = connection;
    if (c != null) {
      // Ends an XREADGROUP BLOCK in progress; entries it had read stay pending for redelivery.
      transport.closeDedicated(c);
    }
    if (loop != null && loop != Thread.currentThread()) {
      try {
        loop.join(Duration.ofSeconds(10));
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
    loop = null;
    connection = null;
  }

  @Override
  public void afterDrain() {
    if (grouped()) {
      transport.consumerNames().release(stream.name() + "/" + stream.groupName(), consumerName, subscriptionId);
    }
  }

  private void ensureGroup(RedisCommands<byte[], byte[]> redis, String from) {
    try {
      redis.xgroupCreate(XReadArgs.StreamOffset.from(key, from), group, XGroupCreateArgs.Builder.mkstream());
      LOG.info("Created consumer group '{}' on stream {} at {}.", stream.groupName(), stream.name(), from);
    } catch (RedisCommandExecutionException e) {
      if (!String.valueOf(e.getMessage()).startsWith("BUSYGROUP")) {
        throw e;
      }
    }
  }

  /** With {@code $}, the id of the newest entry now, so nothing added between reads is missed. */
  private String initialReadId(RedisCommands<byte[], byte[]> redis) {
    if (!StreamDestination.LATEST.equals(stream.startId())) {
      return stream.startId();
    }
    List<StreamMessage<byte[], byte[]>> last = redis.xrevrange(key, Range.create("-", "+"), Limit.from(1));
    return last.isEmpty() ? "0-0" : last.get(0).getId();
  }

  // ---- group mode ---------------------------------------------------------------------------

  private void groupLoop() {
    RedisCommands<byte[], byte[]> redis = connection.sync();
    String pendingCursor = "0";
    boolean ownPendingDone = false;
    String claimCursor = "0-0";
    long nextClaim = System.currentTimeMillis() + claimEveryMillis;
    long backoff = 100;
    while (running) {
      try {
        if (!sink.awaitCapacity(1)) {
          break;
        }
        if (rescan) {
          rescan = false;
          pendingCursor = "0";
          ownPendingDone = false;
        }
        int room = Math.max(1, Math.min(MAX_FETCH, sink.room()));
        if (System.currentTimeMillis() >= nextClaim) {
          claimCursor = reclaim(redis, claimCursor, room);
          nextClaim = System.currentTimeMillis() + claimEveryMillis;
          room = Math.max(1, Math.min(MAX_FETCH, sink.room()));
        }
        if (!ownPendingDone) {
          List<StreamMessage<byte[], byte[]>> mine = redis.xreadgroup(me, XReadArgs.Builder.count(room),
              XReadArgs.StreamOffset.from(key, pendingCursor));
          if (mine.isEmpty()) {
            ownPendingDone = true;
            firstPendingRead = false;
          } else {
            pendingCursor = mine.get(mine.size() - 1).getId();
            deliverWithCounts(redis, mine, true);
          }
        } else {
          List<StreamMessage<byte[], byte[]>> fresh = redis.xreadgroup(me, XReadArgs.Builder.count(room).block(blockMillis),
              XReadArgs.StreamOffset.lastConsumed(key));
          for (StreamMessage<byte[], byte[]> m : fresh) {
            deliver(new StreamInbound(this, m.getId(), m.getBody(), 1));
          }
        }
        recovered();
        backoff = 100;
      } catch (InterruptedException e) {
        break;
      } catch (RuntimeException e) {
        if (!running) {
          break;
        }
        rescan = true; // a read may have run in Redis without its reply reaching us
        String error = String.valueOf(e.getMessage());
        // NOGROUP: the group is gone; UNBLOCKED: Redis 7 ends a blocked read when the key is deleted.
        if (error.startsWith("NOGROUP") || error.startsWith("UNBLOCKED")) {
          failed("Consumer group '" + stream.groupName() + "' of stream " + stream.name()
              + " is gone (the stream was deleted, or Redis restarted without persistence); creating it again", e);
          try {
            // The stream is new, so everything in it is new: read it from the start.
            ensureGroup(redis, "0");
            pendingCursor = "0";
            ownPendingDone = false;
            claimCursor = "0-0";
            continue;
          } catch (RuntimeException again) {
            LOG.debug("Recreating group failed", again);
          }
        } else {
          failed("Reading " + stream.key() + " failed", e);
        }
        if (!pause(backoff)) {
          break;
        }
        backoff = Math.min(5_000, backoff * 2);
      }
    }
  }

  /** XAUTOCLAIM one page of idle entries; dead-letter those over maxDeliveries; returns the next cursor. */
  private String reclaim(RedisCommands<byte[], byte[]> redis, String cursor, int count) {
    ClaimedMessages<byte[], byte[]> claimed = redis.xautoclaim(key, new XAutoClaimArgs<byte[]>()
        .consumer(me).minIdleTime(stream.minIdleTime()).startId(cursor).count(count));
    List<StreamMessage<byte[], byte[]>> messages = claimed.getMessages();
    if (!messages.isEmpty()) {
      deliverWithCounts(redis, messages, false);
    }
    return claimed.getId();
  }

  /** Looks up delivery counts (XPENDING) and delivers, or dead-letters entries past the limit. */
  private void deliverWithCounts(RedisCommands<byte[], byte[]> redis, List<StreamMessage<byte[], byte[]>> messages,
      boolean ownPending) {
    Map<String, Long> counts = new HashMap<>();
    String first = messages.get(0).getId();
    String last = messages.get(messages.size() - 1).getId();
    for (PendingMessage p : redis.xpending(key, me, Range.create(first, last), Limit.from(messages.size() * 2L + 10))) {
      counts.put(p.getId(), p.getRedeliveryCount());
    }
    List<String> vanished = new ArrayList<>();
    int orphans = 0;
    for (StreamMessage<byte[], byte[]> m : messages) {
      if (inFlight.contains(m.getId())) {
        continue; // held by the subscription now; its settlement is on the way
      }
      if (m.getBody() == null || m.getBody().isEmpty()) {
        vanished.add(m.getId()); // deleted from the stream while pending: nothing to deliver
        continue;
      }
      long count = counts.getOrDefault(m.getId(), 1L);
      StreamInbound in = new StreamInbound(this, m.getId(), m.getBody(), count);
      if (count > stream.maxDeliveryCount()) {
        String lastError = lastErrors.remove(m.getId());
        deadLetter(in, "delivered " + count + " times, more than maxDeliveries " + stream.maxDeliveryCount()
            + (lastError != null ? "; last error: " + lastError : ""));
      } else {
        deliver(in);
        orphans++;
      }
    }
    if (ownPending && orphans > 0 && !firstPendingRead) {
      LOG.warn("Found {} pending entr{} of {} that this consumer did not hold (Redis handed them out while a reply was "
          + "lost); delivering them again.", orphans, orphans == 1 ? "y" : "ies", stream.key());
    }
    if (!vanished.isEmpty()) {
      redis.xack(key, group, vanished.toArray(String[]::new));
    }
    if (!ownPending && LOG.isDebugEnabled()) {
      LOG.debug("Claimed {} idle entries of {}", messages.size(), stream.key());
    }
  }

  private void deliver(StreamInbound in) {
    if (grouped()) {
      inFlight.add(in.id());
    }
    sink.accept(in);
  }

  // ---- no group -----------------------------------------------------------------------------

  private void readLoop(String from) {
    RedisCommands<byte[], byte[]> redis = connection.sync();
    String lastId = from;
    long backoff = 100;
    while (running) {
      try {
        if (!sink.awaitCapacity(1)) {
          break;
        }
        int room = Math.max(1, Math.min(MAX_FETCH, sink.room()));
        List<StreamMessage<byte[], byte[]>> read = redis.xread(XReadArgs.Builder.count(room).block(blockMillis),
            XReadArgs.StreamOffset.from(key, lastId));
        for (StreamMessage<byte[], byte[]> m : read) {
          sink.accept(new StreamInbound(this, m.getId(), m.getBody(), 1));
          lastId = m.getId();
        }
        recovered();
        backoff = 100;
      } catch (InterruptedException e) {
        break;
      } catch (RuntimeException e) {
        if (!running) {
          break;
        }
        failed("Reading " + stream.key() + " failed", e);
        if (!pause(backoff)) {
          break;
        }
        backoff = Math.min(5_000, backoff * 2);
      }
    }
  }

  private void failed(String what, RuntimeException e) {
    if (!failureLogged) {
      failureLogged = true;
      LOG.warn("{}: {}. Retrying with back-off; the subscription keeps running.", what, e.getMessage());
    } else {
      LOG.debug("{} again", what, e);
    }
  }

  private void recovered() {
    if (failureLogged) {
      failureLogged = false;
      LOG.info("Reading {} works again.", stream.key());
    }
  }

  private boolean pause(long millis) {
    try {
      Thread.sleep(millis);
      return running;
    } catch (InterruptedException e) {
      return false;
    }
  }

  // ---- settlement (any thread; on the shared connection) ------------------------------------

  void ack(List<StreamInbound> entries) {
    if (!grouped() || entries.isEmpty()) {
      return;
    }
    String[] ids = new String[entries.size()];
    for (int i = 0; i < ids.length; i++) {
      ids[i] = entries.get(i).id();
      lastErrors.remove(ids[i]);
    }
    var redis = transport.commands();
    redis.xack(key, group, ids).whenComplete((n, e) -> {
      for (String id : ids) {
        inFlight.remove(id);
      }
      if (e != null) {
        rescan = true;
      }
      logFailure("acknowledge", e);
    });
    if (stream.deletesOnAck()) {
      redis.xdel(key, ids).whenComplete((n, e) -> logFailure("delete", e));
    }
  }

  void nacked(StreamInbound entry, String reason) {
    if (grouped() && reason != null && lastErrors.size() < LAST_ERRORS) {
      lastErrors.put(entry.id(), reason);
    }
    inFlight.remove(entry.id());
  }

  /** Given back unstarted: it stays pending, for the next start or another consumer. */
  void released(StreamInbound entry) {
    inFlight.remove(entry.id());
  }

  void deadLetter(StreamInbound entry, String reason) {
    if (!grouped()) {
      return;
    }
    Map<String, String> extra = new LinkedHashMap<>();
    extra.put(DeadLetter.ERROR, reason);
    extra.put(DeadLetter.ORIGINAL, stream.name());
    extra.put(DeadLetter.ORIGINAL_ID, entry.id());
    extra.put(DeadLetter.GROUP, stream.groupName());
    extra.put(DeadLetter.DELIVERIES, Long.toString(entry.deliveryCount()));
    byte[] value = DeadLetter.envelope(entry.deadLetterFrame(), extra);
    var redis = transport.commands();
    redis.xadd(bytes(stream.deadLetterKey()), new XAddArgs(), Map.of(StreamInbound.DATA_FIELD, value))
        .thenCompose(id -> redis.xack(key, group, entry.id()))
        .whenComplete((n, e) -> {
          inFlight.remove(entry.id());
          if (e != null) {
            rescan = true;
          }
          logFailure("dead-letter", e);
        });
    if (stream.deletesOnAck()) {
      redis.xdel(key, entry.id());
    }
    lastErrors.remove(entry.id());
    long suppressed = deadLetterWarnings.acquire();
    if (suppressed > 0) {
      LOG.warn("{} more entries of {} went to the dead-letter stream {} in the last minute (logged at DEBUG only).",
          suppressed, stream.key(), stream.deadLetterKey());
    }
    if (suppressed >= 0) {
      LOG.warn("Entry {} of {} went to the dead-letter stream {}: {}", entry.id(), stream.key(), stream.deadLetterKey(),
          dev.brook.internal.LogText.escape(reason));
    } else {
      LOG.debug("Entry {} of {} went to the dead-letter stream {}: {}", entry.id(), stream.key(), stream.deadLetterKey(),
          dev.brook.internal.LogText.escape(reason));
    }
  }

  private void logFailure(String what, Throwable e) {
    if (e != null) {
      LOG.warn("Could not {} an entry of {}: {}. It stays pending and is delivered again (by this consumer once its "
          + "connection is back, else by any consumer after minIdle).",
          what, stream.key(), e.toString());
    }
  }

  static byte[] bytes(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }
}
