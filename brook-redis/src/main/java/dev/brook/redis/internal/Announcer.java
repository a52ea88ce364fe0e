package dev.brook.redis.internal;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.brook.Broker;
import dev.brook.Destination;
import dev.brook.Subscription;
import dev.brook.SubscriptionMetrics;
import dev.brook.internal.LogText;
import dev.brook.internal.WarnLimit;
import dev.brook.redis.StreamDestination;
import io.lettuce.core.Range;
import io.lettuce.core.SetArgs;
import java.lang.ref.WeakReference;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A broker's announcement in Redis, read by the Brook console: a JSON value at {@code
 * brook:broker:{<id>}} with a TTL of {@link #TTL_MS}, renewed every {@link #ANNOUNCE_MS} by the
 * transport's {@code brook-timer} thread (no thread of its own), indexed in the sorted set {@code
 * brook:brokers} scored by its expiry (so a reader finds every broker with one ZRANGEBYSCORE, also
 * on a cluster, where a SCAN would need every master; expired members are pruned by every renewal
 * and by readers). Each key has its own hash tag, so on a cluster announcements spread over the
 * slots. Close deletes both; a killed process's key expires within {@link #TTL_MS}.
 *
 * <p>Every {@link #TICK_MS} the same timer pops the broker's control list {@code
 * brook:control:{<id>}} (commands {@code pause <subscription id>} / {@code resume <subscription
 * id>}, written by the console) and stops or starts that subscription on a short virtual thread
 * {@code brook-control}, since a stop drains and must not block the timer; commands run one at a
 * time in the order written, and {@link #close()} waits for the one in hand. A paused subscription
 * is a stopped one, its id kept; the announcement marks it {@code paused}.
 */
public final class Announcer {

  public static final String INDEX = "brook:brokers";
  public static final long TICK_MS = 500;
  public static final long ANNOUNCE_MS = 2000;
  public static final long TTL_MS = 6000;
  private static final Logger LOG = LoggerFactory.getLogger("dev.brook.redis.Announcer");
  private static final ObjectMapper JSON = new ObjectMapper();

  private final RedisConnections connections;
  private final String id = UUID.randomUUID().toString();
  private final String app;
  private final String version;
  private final long startedAt = System.currentTimeMillis();
  private final WarnLimit warnings = WarnLimit.perMinute(WarnLimit.DECODE_WARNINGS_PER_MINUTE);
  private final Set<String> paused = ConcurrentHashMap.newKeySet();
  /** Console commands popped and not yet obeyed, in the order written. */
  private final java.util.Queue<String> control = new java.util.concurrent.ConcurrentLinkedQueue<>();
  /** The thread obeying {@link #control}, or null; guarded by this. */
  private Thread controlThread;
  /** The broker, weakly: the cleaner must still find an abandoned broker unreachable. */
  private volatile WeakReference<Broker> broker = new WeakReference<>(null);
  private ScheduledFuture<?> schedule;
  private boolean closed;
  private long lastAnnounce;

  public Announcer(RedisConnections connections, String app) {
    this.connections = connections;
    this.app = app;
    String v = Announcer.class.getPackage().getImplementationVersion();
    this.version = v != null ? v : "dev";
  }

  /** The key of a broker's announcement. */
  public static String key(String id) {
    return "brook:broker:{" + id + "}";
  }

  /** The key of a broker's control list. */
  public static String controlKey(String id) {
    return "brook:control:{" + id + "}";
  }

  public String id() {
    return id;
  }

  public void broker(Broker b) {
    this.broker = new WeakReference<>(b);
  }

  /** Starts the renewals (once; after close, never). */
  public synchronized void start() {
    if (schedule != null || closed) {
      return;
    }
    schedule = connections.timer().scheduleWithFixedDelay(this::tick, 0, TICK_MS, TimeUnit.MILLISECONDS);
  }

  /** On the timer: must not block and must not throw (that would end the schedule). */
  private void tick() {
    try {
      Broker b = broker.get();
      if (b == null || connections.reconnecting()) {
        // While Redis is away, commands would only pile up in the request queue that publishes share.
        return;
      }
      long now = System.currentTimeMillis();
      var redis = connections.commands();
      redis.lpop(bytes(controlKey(id)), 100).whenComplete((commands, error) -> {
        if (error != null) {
          warn(error);
        } else if (commands != null && !commands.isEmpty()) {
          obey(commands);
        }
      });
      if (now - lastAnnounce >= ANNOUNCE_MS) {
        lastAnnounce = now;
        announce(b, now);
      }
    } catch (RuntimeException e) {
      warn(e);
    }
  }

  /** Writes the announcement now (also after a pause or resume, so the console sees it at once). */
  private void announce(Broker b, long now) {
    byte[] value = describe(b, now);
    synchronized (this) {
      if (closed) {
        return;
      }
      var redis = connections.commands();
      redis.set(bytes(key(id)), value, SetArgs.Builder.px(TTL_MS)).exceptionally(this::warn);
      redis.zadd(bytes(INDEX), (double) (now + TTL_MS), bytes(id)).exceptionally(this::warn);
      redis.zremrangebyscore(bytes(INDEX), Range.create(Double.NEGATIVE_INFINITY, (double) now)).exceptionally(this::warn);
    }
  }

  /**
   * Runs the popped commands on the control thread, one after the other in the order the console
   * wrote them: a stop drains and must not block the timer, and a "resume" must not overtake the
   * "pause" before it (two threads could). One short virtual thread {@code brook-control} at a time,
   * started when commands arrive and ended when none are left; {@link #close()} waits for it.
   */
  private void obey(List<byte[]> commands) {
    synchronized (this) {
      if (closed) {
        return; // after close, nothing runs
      }
      // Added under the lock: the control thread, finding the queue empty, clears it and ends under
      // this lock too; added outside it, a command could land between its empty poll and the clear
      // and be dropped, with no thread left to run it.
      for (byte[] raw : commands) {
        control.add(new String(raw, StandardCharsets.UTF_8));
      }
      if (controlThread != null && controlThread.isAlive()) {
        return; // the running one takes them
      }
      controlThread = Thread.ofVirtual().name("brook-control").start(this::runControl);
    }
  }

  private void runControl() {
    while (true) {
      String command;
      synchronized (this) {
        command = closed ? null : control.poll();
        if (command == null) {
          controlThread = null; // under the lock: obey() starts another for commands added after this
          control.clear();
          return;
        }
      }
      obey(command);
    }
  }

  private void obey(String command) {
    Broker b = broker.get();
    if (b == null) {
      return;
    }
    int space = command.indexOf(' ');
    String verb = space < 0 ? command : command.substring(0, space);
    String sub = space < 0 ? "" : command.substring(space + 1);
    Subscription s = b.subscription(sub);
    if (s == null) {
      LOG.warn("Console command '{}' names no subscription of broker {}; ignored.", LogText.escape(command), id);
      return;
    }
    try {
      switch (verb) {
        case "pause" -> {
          paused.add(sub);
          s.stop();
          LOG.info("Subscription '{}' paused from the console.", LogText.escape(sub));
        }
        case "resume" -> {
          paused.remove(sub);
          s.start();
          LOG.info("Subscription '{}' resumed from the console.", LogText.escape(sub));
        }
        default -> LOG.warn("Unknown console command '{}' for broker {}; ignored.", LogText.escape(command), id);
      }
    } catch (RuntimeException e) {
      LOG.warn("Console command '{}' failed on subscription '{}': {}", LogText.escape(command), LogText.escape(sub),
          LogText.escape(e.toString()));
    }
    try {
      announce(b, System.currentTimeMillis());
    } catch (RuntimeException e) {
      warn(e);
    }
  }

  private byte[] describe(Broker b, long now) {
    ObjectNode root = JSON.createObjectNode();
    root.put("id", id);
    root.put("app", app);
    root.put("host", host());
    root.put("pid", ProcessHandle.current().pid());
    root.put("version", version);
    root.put("startedAt", startedAt);
    root.put("announcedAt", now);
    ArrayNode subs = root.putArray("subscriptions");
    for (Subscription s : b.subscriptions()) {
      ObjectNode n = subs.addObject();
      Destination d = s.destination();
      n.put("id", s.id());
      n.put("destination", d.name());
      n.put("kind", kind(d));
      if (d instanceof StreamDestination stream) {
        n.put("group", stream.groupName());
        if (stream.maxLength() > 0) {
          n.put("maxLen", stream.maxLength()); // the console trims as the consumers do when it promotes a job
        }
        if (stream.partitionCount() > 1) {
          n.put("partitions", stream.partitionCount()); // the console reads each partition's stream {name:i}
        }
      }
      Subscription.State state = s.state();
      n.put("state", state.name());
      n.put("paused", state == Subscription.State.STOPPED && paused.contains(s.id()));
      SubscriptionMetrics m = s.metrics();
      n.put("received", m.received());
      n.put("handled", m.handled());
      n.put("failed", m.failed());
      n.put("rejected", m.rejected());
    }
    try {
      return JSON.writeValueAsBytes(root);
    } catch (Exception e) {
      throw new IllegalStateException("Cannot write the announcement of broker " + id, e);
    }
  }

  private static String kind(Destination d) {
    String name = d.getClass().getSimpleName();
    return name.endsWith("Destination") ? name.substring(0, name.length() - "Destination".length()).toLowerCase(java.util.Locale.ROOT) : name;
  }

  private static String host() {
    try {
      return java.net.InetAddress.getLocalHost().getHostName();
    } catch (Exception e) {
      return "unknown";
    }
  }

  /** Stops the renewals and deletes the announcement (waiting at most a second; it expires anyway). */
  public void close() {
    boolean wasStarted;
    Thread running;
    synchronized (this) {
      if (closed) {
        return;
      }
      closed = true;
      wasStarted = schedule != null;
      if (schedule != null) {
        schedule.cancel(false);
      }
      running = controlThread;
    }
    if (running != null) {
      // It obeys no further command once closed; let the one in hand (a stop drains) finish.
      try {
        if (!running.join(java.time.Duration.ofSeconds(10))) {
          LOG.warn("A console command on broker {} was still running 10 s into close; the broker closes anyway.", id);
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
    if (!wasStarted || connections.isClosed()) {
      return;
    }
    try {
      var redis = connections.commands();
      CompletableFuture<?> del = redis.del(bytes(key(id)), bytes(controlKey(id))).toCompletableFuture();
      CompletableFuture<?> rem = redis.zrem(bytes(INDEX), bytes(id)).toCompletableFuture();
      CompletableFuture.allOf(del, rem).get(1, TimeUnit.SECONDS);
    } catch (Exception e) {
      LOG.debug("Could not delete the announcement of broker {}; it expires within {} ms: {}", id, TTL_MS, e.toString());
    }
  }

  private <T> T warn(Throwable error) {
    if (warnings.acquire() >= 0) {
      LOG.warn("Cannot renew the announcement of broker {} (the console may miss it): {}", id, error.toString());
    }
    return null;
  }

  private static byte[] bytes(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }
}
