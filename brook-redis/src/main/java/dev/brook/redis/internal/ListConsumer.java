package dev.brook.redis.internal;

import dev.brook.internal.Transport;
import dev.brook.redis.ListDestination;
import io.lettuce.core.LMoveArgs;
import io.lettuce.core.ScanArgs;
import io.lettuce.core.ScanCursor;
import io.lettuce.core.ScriptOutputType;
import io.lettuce.core.SetArgs;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.sync.RedisCommands;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reads one List for one subscription, on its own connection and virtual thread ({@code
 * brook-list:<name>}).
 *
 * <p>Reliable mode: each item moves atomically from the queue into this consumer's processing list
 * ({@code LMOVE}/{@code BLMOVE} queue → processing, or a Lua move of up to N when several wait), so
 * an item is always in Redis until it is settled. A heartbeat key with a TTL says the consumer is
 * alive; every TTL the consumer also looks for processing lists whose owner's heartbeat expired and
 * moves their items back to the head of the queue, so a crashed process loses nothing. On start it
 * first hands out what its own processing list still holds (a previous run with the same consumer
 * name). At-most-once mode: LPOP with a count, BLPOP when empty.
 *
 * <p>The loop fetches no more than the subscription has room for, and blocks in Redis (never
 * sleeps) when the list is empty. Settlement runs on the broker's shared command connection.
 *
 * <p>Faults: when the connection drops while Redis moves an item for us (or a settlement command
 * fails), Redis may hold items in our processing list that this consumer never received or still
 * believes settled. After every reconnect of its connection, and after a failed read or settlement,
 * the loop compares the processing list with the items it holds ({@code inFlight}: handed to the
 * subscription and not yet settled) and delivers the difference, so nothing Redis kept waits for a
 * restart of this consumer.
 */
final class ListConsumer implements Transport.Consumer {

  private static final Logger LOG = LoggerFactory.getLogger("dev.brook.redis.List");
  private static final int MAX_FETCH = 100;

  /**
   * Moves up to ARGV[1] items from the queue head to the processing list tail, in order. Three
   * calls for the whole batch: a script looping LMOVE costs Redis about 1 µs of script overhead
   * per item, more than the move itself.
   */
  private static final Script MOVE_N = new Script("""
      local items = redis.call('LRANGE', KEYS[1], 0, tonumber(ARGV[1]) - 1)
      if #items == 0 then return items end
      redis.call('LTRIM', KEYS[1], #items, -1)
      redis.call('RPUSH', KEYS[2], unpack(items))
      return items""");

  /**
   * Removes every ARGV from the processing list. Usually they are exactly its head, in order (a
   * batch settled in the order it was fetched): then one LTRIM does it; otherwise one LREM each.
   */
  private static final Script ACK_ALL = new Script("""
      local n = #ARGV
      local head = redis.call('LRANGE', KEYS[1], 0, n - 1)
      local same = #head == n
      if same then
        for i = 1, n do
          if head[i] ~= ARGV[i] then same = false; break end
        end
      end
      if same then
        redis.call('LTRIM', KEYS[1], n, -1)
      else
        for i = 1, n do redis.call('LREM', KEYS[1], 1, ARGV[i]) end
      end
      return n""");

  /** Back to the queue head, only if it still is in our processing list (not recovered meanwhile). */
  private static final Script REQUEUE = new Script("""
      if redis.call('LREM', KEYS[1], 1, ARGV[1]) > 0 then redis.call('LPUSH', KEYS[2], ARGV[1]) end
      return 1""");

  /** Out of the processing list, into the dead letter. */
  private static final Script DEAD_LETTER = new Script("""
      if redis.call('LREM', KEYS[1], 1, ARGV[1]) > 0 then redis.call('RPUSH', KEYS[2], ARGV[2]) end
      return 1""");

  /** A dead consumer's processing list back to the queue head, keeping its order. */
  private static final Script RECOVER = new Script("""
      local n = 0
      while redis.call('LMOVE', KEYS[1], KEYS[2], 'RIGHT', 'LEFT') do n = n + 1 end
      return n""");

  private final RedisTransport transport;
  private final ListDestination list;
  private final String subscriptionId;
  /** This consumer's name in Redis: its processing list and heartbeat carry it (see ConsumerNames). */
  private final String consumerName;
  private final Transport.Sink sink;
  private final byte[] queueKey;
  private final byte[] processingKey;
  private final byte[] heartbeatKey;
  private final String heartbeatPrefix;
  private final String processingPrefix;
  private final double blockSeconds;

  private volatile boolean running;
  /** Reliable mode: items handed to the subscription whose settlement has not completed in Redis. */
  private final Set<ListInbound> inFlight = ConcurrentHashMap.newKeySet();
  /** Our processing list may hold items we do not: look before the next read. */
  private volatile boolean rescan;
  /** At most 10 WARN lines a minute for dropped items; the rest at DEBUG, with a count. */
  private final dev.brook.internal.WarnLimit dropWarnings =
      dev.brook.internal.WarnLimit.perMinute(dev.brook.internal.WarnLimit.DECODE_WARNINGS_PER_MINUTE);
  private StatefulRedisConnection<byte[], byte[]> connection;
  private Thread loop;
  private Thread heartbeat;
  private boolean failureLogged;

  ListConsumer(RedisTransport transport, ListDestination list, String subscriptionId, Transport.Sink sink,
      Duration commandTimeout) {
    this.transport = transport;
    this.list = list;
    this.subscriptionId = subscriptionId;
    this.sink = sink;
    this.consumerName = transport.consumerNames().name(explicitConsumer(list), list.key(), subscriptionId);
    this.queueKey = bytes(list.name());
    this.processingPrefix = Keys.derived(list.name(), "processing:");
    this.processingKey = bytes(processingPrefix + consumerName);
    this.heartbeatPrefix = Keys.derived(list.name(), "heartbeat:");
    this.heartbeatKey = bytes(heartbeatPrefix + consumerName);
    this.blockSeconds = Math.max(0.1, Math.min(2.0, commandTimeout.toMillis() / 2000.0));
  }

  String listName() {
    return list.name();
  }

  /** The destination's consumer(...) name, or null when it uses the default. */
  static String explicitConsumer(ListDestination list) {
    String name = list.consumerName();
    return name.equals(dev.brook.redis.Redis.defaultConsumerName()) ? null : name;
  }

  boolean reliable() {
    return !list.isAtMostOnce();
  }

  int maxMessageSize() {
    return transport.maxMessageSize();
  }

  @Override
  public void start() {
    if (reliable()) {
      transport.consumerNames().claim(list.key(), consumerName, subscriptionId);
    }
    boolean started = false;
    try {
      connection = transport.dedicatedConnection(() -> rescan = true);
      running = true;
      String type = connection.sync().type(queueKey);
      if (!"list".equals(type) && !"none".equals(type)) {
        throw new dev.brook.BrookException("Cannot consume list '" + list.name() + "': the key holds a " + type
            + ", not a list. Use another list name or delete the key.");
      }
      if (reliable()) {
        beat(connection.sync());
        recoverAbandoned(connection.sync());
        heartbeat = Thread.ofVirtual().name("brook-heartbeat:" + list.name()).start(this::heartbeatLoop);
      }
      loop = Thread.ofVirtual().name("brook-list:" + list.name()).start(this::consumeLoop);
      started = true;
    } catch (io.lettuce.core.RedisCommandExecutionException e) {
      throw new dev.brook.BrookException("Cannot consume list '" + list.name() + "': Redis says " + e.getMessage()
          + ". The subscription was not started.", e);
    } finally {
      if (!started) {
        running = false;
        Thread h = heartbeat;
        if (h != null) {
          h.interrupt();
          heartbeat = null;
        }
        if (connection != null) {
          transport.closeDedicated(connection);
          connection = null;
        }
        if (reliable()) {
          transport.consumerNames().release(list.key(), consumerName, subscriptionId);
        }
      }
    }
  }

  @Override
  public void stop() {
    running = false;
    StatefulRedisConnection<byte[], byte[]> c = connection;
    if (c != null) {
      // Ends a BLMOVE/BLPOP in progress. An item Redis moved just before is in our processing
      // list and comes back through recovery: nothing is lost.
      transport.closeDedicated(c);
    }
    join(loop);
    loop = null;
    connection = null;
  }

  @Override
  public void afterDrain() {
    Thread h = heartbeat;
    if (h != null) {
      h.interrupt();
      join(h);
      heartbeat = null;
      giveBackOrphans();
      try {
        // Gone now: whatever our processing list still holds is recovered by the others at once.
        transport.commands().del(heartbeatKey).get();
      } catch (Exception e) {
        LOG.debug("Could not delete heartbeat {}", new String(heartbeatKey, StandardCharsets.UTF_8), e);
      }
    }
    transport.consumerNames().release(list.key(), consumerName, subscriptionId);
  }

  /**
   * After the drain every message this consumer handed out is settled or given back, so what our
   * processing list still holds was moved by Redis for a read whose reply the stop cut off (closing
   * the connection ends a BLMOVE or a batch move in flight). Those items go back to the head of the
   * queue now, in order, rather than waiting for this consumer's restart or for another consumer's
   * recovery scan (up to a heartbeat TTL later).
   */
  private void giveBackOrphans() {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(2);
    while (!inFlight.isEmpty() && deadline - System.nanoTime() > 0) {
      // Settlements (acks, requeues of released messages) still on their way to Redis: one round
      // trip, once per stop.
      try {
        Thread.sleep(1);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      }
    }
    if (!inFlight.isEmpty()) {
      LOG.debug("{} settlement(s) of {} still pending after the stop; the processing list is left to recovery.",
          inFlight.size(), list.key());
      return;
    }
    try {
      Long moved = RECOVER.call(transport.syncCommands(), ScriptOutputType.INTEGER, new byte[][] {processingKey, queueKey});
      if (moved != null && moved > 0) {
        LOG.info("Gave {} item(s) back to {} that Redis had moved for a read the stop cut off.", moved, list.key());
      }
    } catch (RuntimeException e) {
      LOG.debug("Could not give back the processing list of {}; recovery takes it", list.key(), e);
    }
  }

  private static void join(Thread t) {
    if (t != null && t != Thread.currentThread()) {
      try {
        t.join(Duration.ofSeconds(10));
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }

  private void consumeLoop() {
    RedisCommands<byte[], byte[]> redis = connection.sync();
    if (reliable()) {
      try {
        for (byte[] v : redis.lrange(processingKey, 0, -1)) {
          deliver(v);
        }
      } catch (RuntimeException e) {
        if (running) {
          LOG.warn("Could not read the processing list of {}: {}", list.key(), e.toString());
          rescan = true;
        }
      }
    }
    long backoffMs = 100;
    while (running) {
      try {
        if (!sink.awaitCapacity(1)) {
          break;
        }
        if (rescan && reliable()) {
          rescan = false;
          deliverOrphans(redis);
        }
        int room = Math.max(1, Math.min(MAX_FETCH, sink.room()));
        List<byte[]> items = fetchNow(redis, room);
        if (items.isEmpty()) {
          byte[] one = reliable()
              ? redis.blmove(queueKey, processingKey, LMoveArgs.Builder.leftRight(), blockSeconds)
              : popBlocking(redis);
          if (one != null) {
            deliver(one);
          }
        } else {
          for (byte[] v : items) {
            deliver(v);
          }
        }
        if (failureLogged) {
          failureLogged = false;
          LOG.info("Reading {} works again.", list.key());
        }
        backoffMs = 100;
      } catch (InterruptedException e) {
        break;
      } catch (RuntimeException e) {
        if (!running) {
          break;
        }
        rescan = true; // a move may have happened in Redis without its reply reaching us
        if (!failureLogged) {
          failureLogged = true;
          LOG.warn("Reading {} failed: {}. Retrying with back-off; the subscription keeps running.", list.key(), e.toString());
        } else {
          LOG.debug("Reading {} failed again", list.key(), e);
        }
        try {
          Thread.sleep(backoffMs);
        } catch (InterruptedException ie) {
          break;
        }
        backoffMs = Math.min(5_000, backoffMs * 2);
      }
    }
  }

  private void deliver(byte[] value) {
    ListInbound in = new ListInbound(this, value);
    if (reliable()) {
      inFlight.add(in);
    }
    sink.accept(in);
  }

  /**
   * Delivers what our processing list holds beyond the items in flight: moved by Redis while the
   * reply was lost, or left by a settlement that failed. The in-flight items are counted before the
   * list is read, and an item leaves {@code inFlight} only once its settlement completed in Redis, so
   * an item settled meanwhile is neither in the list nor delivered twice.
   */
  private void deliverOrphans(RedisCommands<byte[], byte[]> redis) {
    Map<ByteBuffer, Integer> held = new HashMap<>();
    for (ListInbound m : inFlight) {
      held.merge(ByteBuffer.wrap(m.raw()), 1, Integer::sum);
    }
    int found = 0;
    for (byte[] v : redis.lrange(processingKey, 0, -1)) {
      ByteBuffer k = ByteBuffer.wrap(v);
      Integer count = held.get(k);
      if (count != null && count > 0) {
        held.put(k, count - 1);
        continue;
      }
      deliver(v);
      found++;
    }
    if (found > 0) {
      LOG.warn("Found {} item(s) of {} in the processing list of '{}' that this consumer did not hold (Redis moved them "
          + "while a reply was lost, or a settlement failed); delivering them again.", found, list.key(), consumerName);
    }
  }

  private List<byte[]> fetchNow(RedisCommands<byte[], byte[]> redis, int n) {
    if (reliable()) {
      if (n == 1) {
        byte[] v = redis.lmove(queueKey, processingKey, LMoveArgs.Builder.leftRight());
        return v == null ? List.of() : List.of(v);
      }
      List<byte[]> moved = MOVE_N.call(redis, ScriptOutputType.MULTI, new byte[][] {queueKey, processingKey}, bytes(Integer.toString(n)));
      return moved == null ? List.of() : moved;
    }
    List<byte[]> popped = redis.lpop(queueKey, n);
    return popped == null ? List.of() : popped;
  }

  private byte[] popBlocking(RedisCommands<byte[], byte[]> redis) {
    var kv = redis.blpop(blockSeconds, queueKey);
    return kv == null || !kv.hasValue() ? null : kv.getValue();
  }

  // ---- heartbeat and recovery ---------------------------------------------------------------

  private void beat(RedisCommands<byte[], byte[]> redis) {
    redis.set(heartbeatKey, bytes(Long.toString(System.currentTimeMillis())), SetArgs.Builder.px(list.heartbeatTtl().toMillis()));
  }

  private void heartbeatLoop() {
    long every = Math.max(100, list.heartbeatTtl().toMillis() / 3);
    int beats = 0;
    while (running) {
      try {
        Thread.sleep(every);
      } catch (InterruptedException e) {
        return;
      }
      try {
        var redis = transport.commands();
        redis.set(heartbeatKey, bytes(Long.toString(System.currentTimeMillis())), SetArgs.Builder.px(list.heartbeatTtl().toMillis())).get();
        if (++beats % 3 == 0) {
          recoverAbandoned(transport.syncCommands());
        }
      } catch (InterruptedException e) {
        return;
      } catch (Exception e) {
        LOG.debug("Heartbeat for {} failed", list.key(), e);
      }
    }
  }

  /** Moves back the items of every processing list whose owner's heartbeat has expired. */
  private void recoverAbandoned(RedisCommands<byte[], byte[]> redis) {
    String me = consumerName;
    ScanCursor cursor = ScanCursor.INITIAL;
    ScanArgs match = ScanArgs.Builder.matches(globEscape(processingPrefix) + "*").limit(500);
    do {
      var page = redis.scan(cursor, match);
      for (byte[] key : page.getKeys()) {
        String name = new String(key, StandardCharsets.UTF_8);
        String owner = name.substring(processingPrefix.length());
        if (owner.equals(me) || redis.exists(bytes(heartbeatPrefix + owner)) > 0) {
          continue;
        }
        Long moved = RECOVER.call(redis, ScriptOutputType.INTEGER, new byte[][] {key, queueKey});
        if (moved != null && moved > 0) {
          LOG.warn("Recovered {} item(s) of {} from consumer '{}', whose heartbeat expired; they are queued again.",
              moved, list.key(), dev.brook.internal.LogText.escape(owner));
        }
      }
      cursor = page;
    } while (!cursor.isFinished());
  }

  private static String globEscape(String s) {
    StringBuilder b = new StringBuilder(s.length() + 4);
    for (char c : s.toCharArray()) {
      if (c == '*' || c == '?' || c == '[' || c == ']' || c == '\\') {
        b.append('\\');
      }
      b.append(c);
    }
    return b.toString();
  }

  // ---- settlement (any thread; on the shared connection) ------------------------------------

  void ack(ListInbound m) {
    if (reliable()) {
      transport.commands().lrem(processingKey, 1, m.raw()).whenComplete((n, e) -> settled(m, "ack", e));
    }
  }

  /** The settlement of {@code m} completed in Redis (or failed: then the rescan finds it). */
  private void settled(ListInbound m, String what, Throwable e) {
    inFlight.remove(m);
    if (e != null) {
      rescan = true;
      logFailure(what, e);
    }
  }

  /** One command for a whole batch. */
  void ackAll(List<? extends dev.brook.internal.Inbound> batch) {
    if (!reliable() || batch.isEmpty()) {
      return;
    }
    if (batch.size() == 1) {
      ack((ListInbound) batch.get(0));
      return;
    }
    byte[][] values = new byte[batch.size()][];
    for (int i = 0; i < values.length; i++) {
      values[i] = ((ListInbound) batch.get(i)).raw();
    }
    ACK_ALL.<Long>call(transport.commands(), ScriptOutputType.INTEGER, new byte[][] {processingKey}, values)
        .whenComplete((n, e) -> {
          for (dev.brook.internal.Inbound m : batch) {
            settled((ListInbound) m, "acknowledge", e);
          }
        });
  }

  void requeue(ListInbound m) {
    if (reliable()) {
      REQUEUE.<Long>call(transport.commands(), ScriptOutputType.INTEGER, new byte[][] {processingKey, queueKey}, m.raw())
          .whenComplete((n, e) -> settled(m, "requeue", e));
    }
  }

  void reject(ListInbound m, String reason) {
    if (!reliable()) {
      return;
    }
    String dlq = list.deadLetterKey();
    if (dlq != null) {
      byte[] dead = DeadLetter.envelope(m.deadLetterFrame(), Map.of(DeadLetter.ERROR, reason, DeadLetter.ORIGINAL, list.name()));
      DEAD_LETTER.<Long>call(transport.commands(), ScriptOutputType.INTEGER, new byte[][] {processingKey, bytes(dlq)}, m.raw(), dead)
          .whenComplete((n, e) -> settled(m, "dead-letter", e));
    } else {
      transport.commands().lrem(processingKey, 1, m.raw()).whenComplete((n, e) -> settled(m, "drop", e));
      long suppressed = dropWarnings.acquire();
      if (suppressed > 0) {
        LOG.warn("Dropped {} more rejected items of {} in the last minute (logged at DEBUG only).", suppressed, list.key());
      }
      if (suppressed >= 0) {
        LOG.warn("Dropped a rejected item of {} ({}); configure list(\"{}\").deadLetter() to keep such items.",
            list.key(), dev.brook.internal.LogText.escape(reason), list.name());
      } else {
        LOG.debug("Dropped a rejected item of {} ({})", list.key(), dev.brook.internal.LogText.escape(reason));
      }
    }
  }

  private void logFailure(String what, Throwable e) {
    if (e != null) {
      LOG.warn("Could not {} an item of {}: {}. It stays in the processing list of '{}' and is delivered again (by this "
          + "consumer once its connection is back, else by another after this one stops).",
          what, list.key(), e.toString(), consumerName);
    }
  }

  static byte[] bytes(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }
}
