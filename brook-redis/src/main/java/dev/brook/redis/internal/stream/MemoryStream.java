package dev.brook.redis.internal.stream;

import dev.brook.redis.StreamDestination;
import dev.brook.redis.internal.DeadLetter;
import dev.brook.redis.internal.MemoryRedis;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * One stream key of the {@link StreamModel}: its entries, its groups (each with its pending-entries
 * list and consumers) and its readers without a group. Under the {@link MemoryRedis}' lock.
 */
final class MemoryStream {

  /** A stream entry id: milliseconds of the manual clock and a sequence. */
  record Id(long ms, long seq) implements Comparable<Id> {
    static final Id ZERO = new Id(0, 0);

    static Id parse(String id) {
      int dash = id.indexOf('-');
      return dash < 0 ? new Id(Long.parseLong(id), 0)
          : new Id(Long.parseLong(id.substring(0, dash)), Long.parseLong(id.substring(dash + 1)));
    }

    @Override
    public int compareTo(Id o) {
      return ms != o.ms ? Long.compare(ms, o.ms) : Long.compare(seq, o.seq);
    }

    @Override
    public String toString() {
      return ms + "-" + seq;
    }
  }

  /** A pending entry: whose it is, its delivery count, and when it was last delivered (manual clock). */
  static final class Pending {
    String consumer;
    long count;
    long deliveredAt;

    Pending(String consumer, long deliveredAt) {
      this.consumer = consumer;
      this.count = 1;
      this.deliveredAt = deliveredAt;
    }
  }

  static final class Group {
    final String name;
    Id lastDelivered;
    final TreeMap<Id, Pending> pel = new TreeMap<>();
    final List<StreamModel.Reader> consumers = new ArrayList<>();
    int next;

    Group(String name, Id lastDelivered) {
      this.name = name;
      this.lastDelivered = lastDelivered;
    }

    /** The next consumer, round robin, that has room; null when none has. */
    StreamModel.Reader nextWithRoom() {
      for (int tries = 0; tries < consumers.size(); tries++) {
        StreamModel.Reader r = consumers.get(Math.floorMod(next++, consumers.size()));
        if (r.sink.room() > 0) {
          return r;
        }
      }
      return null;
    }
  }

  private final StreamModel model;
  private final MemoryRedis redis;
  final String name;
  final TreeMap<Id, byte[]> entries = new TreeMap<>();
  final Map<String, Group> groups = new HashMap<>();
  private final List<StreamModel.Reader> readers = new ArrayList<>();
  /** Group consumers with declare(false) whose group does not exist yet: they join when it is created. */
  private final List<StreamModel.Reader> awaitingGroup = new ArrayList<>();
  private Id last = Id.ZERO;
  /** Whether the key exists in Redis: since the first XADD or XGROUP CREATE ... MKSTREAM. */
  boolean exists;

  MemoryStream(StreamModel model, String name) {
    this.model = model;
    this.redis = model.redis;
    this.name = name;
  }

  /** XADD (MAXLEN n): the id from the manual clock, trimmed to n entries. */
  Id add(byte[] wire, long maxLen) {
    long now = redis.now();
    Id id = now > last.ms ? new Id(now, 0) : new Id(last.ms, last.seq + 1);
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
    for (StreamModel.Reader r : List.copyOf(readers)) {
      readOn(r);
    }
    for (Group g : List.copyOf(groups.values())) {
      dispatch(g);
    }
  }

  /** XREAD from the reader's position, as much as it has room for. */
  private void readOn(StreamModel.Reader r) {
    for (Map.Entry<Id, byte[]> e : entries.tailMap(r.position, false).entrySet()) {
      if (r.sink.room() <= 0) {
        return;
      }
      r.position = e.getKey();
      redis.deliver(r.sink, model.new Item(r, e.getKey(), e.getValue(), 1));
    }
  }

  void start(StreamModel.Reader r) {
    StreamDestination d = r.stream;
    StreamConsumer.warnGroupOnly(d, r.subscriptionId);
    if (d.groupName() != null || StreamDestination.LATEST.equals(d.startId())) {
      redis.checkType(name, model); // XGROUP CREATE, or XREVRANGE for the newest id, on a list
    }
    if (d.groupName() == null) {
      r.position = StreamDestination.LATEST.equals(d.startId()) ? last : Id.parse(d.startId());
      readers.add(r);
      readOn(r);
      return;
    }
    Group g = groups.get(d.groupName());
    if (g == null && !d.declares()) {
      // declare(false) creates nothing: as StreamConsumer, report the missing group and wait for an
      // operator to create it (createGroup, XGROUP CREATE on Redis); the consumer joins it then.
      reportMissingGroup(r);
      awaitingGroup.add(r);
      return;
    }
    // XGROUP CREATE ... MKSTREAM, unless the group exists (BUSYGROUP): then its position stays.
    if (g == null) {
      g = new Group(d.groupName(), StreamDestination.LATEST.equals(d.startId()) ? last : Id.parse(d.startId()));
      groups.put(g.name, g);
    }
    exists = true;
    g.consumers.add(r);
    // Own pending entries first (a restart, or a replacement with the same name), claimed one by one
    // as StreamConsumer claims them: each is the next attempt.
    for (Map.Entry<Id, Pending> e : List.copyOf(g.pel.entrySet())) {
      if (e.getValue().consumer.equals(r.name)) {
        claim(g, r, e.getKey());
      }
    }
    dispatch(g);
  }

  private static void reportMissingGroup(StreamModel.Reader r) {
    org.slf4j.LoggerFactory.getLogger("dev.brook.redis.Stream").error(StreamConsumer.missingGroup(r.stream, r.subscriptionId));
  }

  /**
   * XGROUP CREATE name group from [MKSTREAM], by a test as an operator would: declare(false)
   * consumers waiting for this group join it and read from {@code from}.
   */
  void createGroup(String group, String from, boolean mkstream) {
    if (!exists && !mkstream) {
      throw new IllegalStateException("ERR The XGROUP subcommand requires the key to exist. Note that for CREATE you "
          + "may want to use the MKSTREAM option to create an empty stream automatically.");
    }
    if (groups.containsKey(group)) {
      throw new IllegalStateException("BUSYGROUP Consumer Group name already exists");
    }
    Group g = new Group(group, StreamDestination.LATEST.equals(from) ? last : Id.parse(from));
    groups.put(group, g);
    exists = true;
    for (StreamModel.Reader waiting : List.copyOf(awaitingGroup)) {
      if (waiting.stream.groupName().equals(group)) {
        awaitingGroup.remove(waiting);
        g.consumers.add(waiting);
      }
    }
    dispatch(g);
  }

  /**
   * DEL: the entries and groups are gone. As StreamConsumer on NOGROUP, a consumer that declares
   * its group creates it again from the start (MKSTREAM); a declare(false) one reports the missing
   * group and waits for it. What its handlers still hold settles on nothing.
   */
  void delete() {
    entries.clear();
    exists = false;
    List<Group> gone = List.copyOf(groups.values());
    groups.clear();
    for (Group g : gone) {
      for (StreamModel.Reader r : g.consumers) {
        r.held.clear();
        r.retries.clear();
        r.lastErrors.clear();
        if (r.stream.declares()) {
          groups.computeIfAbsent(g.name, n -> new Group(n, Id.ZERO)).consumers.add(r);
          exists = true;
        } else {
          reportMissingGroup(r);
          awaitingGroup.add(r);
        }
      }
    }
  }

  void stop(StreamModel.Reader r) {
    readers.remove(r);
    awaitingGroup.remove(r);
    if (r.stream.groupName() != null) {
      Group g = groups.get(r.stream.groupName());
      if (g != null) {
        g.consumers.remove(r);
      }
    }
  }

  /** XREADGROUP ... >: new entries to the group's consumers with room, round robin. */
  private void dispatch(Group g) {
    for (Map.Entry<Id, byte[]> e : entries.tailMap(g.lastDelivered, false).entrySet()) {
      StreamModel.Reader r = g.nextWithRoom();
      if (r == null) {
        return;
      }
      g.lastDelivered = e.getKey();
      if (!r.stream.noAcks()) { // NOACK: never pending
        g.pel.put(e.getKey(), new Pending(r.name, redis.now()));
        r.held.add(e.getKey());
      }
      redis.deliver(r.sink, model.new Item(r, e.getKey(), e.getValue(), 1));
    }
  }

  /**
   * When the clock moves: nacked entries whose back-off passed are claimed again by their consumer,
   * then the group's live consumers take over entries idle at least their minIdle that they do not
   * hold (a consumer never claims what its own handler still has, so its count is not raised).
   */
  void reclaim() {
    long now = redis.now();
    for (Group g : List.copyOf(groups.values())) {
      for (StreamModel.Reader r : List.copyOf(g.consumers)) {
        for (Map.Entry<Id, Long> e : List.copyOf(r.retries.entrySet())) {
          if (e.getValue() <= now) {
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
      for (Map.Entry<Id, Pending> e : List.copyOf(g.pel.entrySet())) {
        StreamModel.Reader r = g.consumers.get(Math.floorMod(g.next++, g.consumers.size()));
        Pending p = e.getValue();
        if (now - p.deliveredAt < r.stream.minIdleTime().toMillis() || r.held.contains(e.getKey())
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
  private void claim(Group g, StreamModel.Reader r, Id id) {
    Pending p = g.pel.get(id);
    byte[] wire = entries.get(id);
    if (wire == null) {
      g.pel.remove(id); // deleted while pending: acknowledged, nothing to deliver
      return;
    }
    if (p.count >= r.stream.maxDeliveryCount()) {
      String lastError = r.lastErrors.get(id);
      deadLetter(model.new Item(r, id, wire, p.count), "delivered " + p.count
          + (p.count == 1 ? " time" : " times") + " without being settled (maxDeliveries " + r.stream.maxDeliveryCount()
          + ")" + (lastError != null ? "; last error: " + lastError : ""));
      return;
    }
    p.consumer = r.name;
    p.count++;
    p.deliveredAt = redis.now();
    r.held.add(id);
    redis.deliver(r.sink, model.new Item(r, id, wire, p.count));
  }

  /**
   * XACK, and XADD {stream}:dlq with the reason if it was still pending (and XDEL with
   * deleteOnAck), in one step as Brook's script does.
   */
  void deadLetter(StreamModel.Item item, String reason) {
    StreamModel.Reader r = item.reader;
    Group g = groups.get(r.stream.groupName());
    r.held.remove(item.id);
    r.lastErrors.remove(item.id);
    if (g == null || g.pel.remove(item.id) == null) {
      return; // settled meanwhile (by another consumer that took it over)
    }
    Map<String, String> extra = new LinkedHashMap<>();
    extra.put(DeadLetter.ERROR, reason);
    extra.put(DeadLetter.ORIGINAL, name);
    extra.put(DeadLetter.ORIGINAL_ID, item.id.toString());
    extra.put(DeadLetter.GROUP, r.stream.groupName());
    extra.put(DeadLetter.DELIVERIES, Long.toString(item.count));
    model.stream(r.stream.deadLetterKey()).add(DeadLetter.envelope(item.frame(), extra), 0);
    if (r.stream.deletesOnAck()) {
      entries.remove(item.id);
    }
  }
}
