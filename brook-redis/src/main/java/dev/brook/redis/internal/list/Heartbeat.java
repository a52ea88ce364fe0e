package dev.brook.redis.internal.list;

import dev.brook.internal.WarnLimit;
import dev.brook.redis.ListDestination;
import dev.brook.redis.internal.RedisConnections;
import dev.brook.redis.internal.Timing;
import io.lettuce.core.SetArgs;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The heartbeat of one reliable List consumer: a key with a TTL ({@code {list}:heartbeat:<consumer>})
 * that says the consumer is alive, renewed every third of the TTL by the transport's platform timer
 * thread (CPU-bound handlers on the virtual-thread carriers cannot starve it) with an asynchronous
 * SET on the command connection. While it exists, other consumers leave this consumer's processing
 * list alone; once it is gone they move its items back to the queue. A failed renewal is a WARN (at
 * most 10 a minute), its return an INFO.
 */
final class Heartbeat {

  private static final Logger LOG = LoggerFactory.getLogger("dev.brook.redis.List");

  private final RedisConnections connections;
  private final Timing timing;
  private final ListDestination list;
  private final String consumerName;
  private final byte[] key;
  private final WarnLimit warnings = WarnLimit.perMinute(WarnLimit.DECODE_WARNINGS_PER_MINUTE);
  private volatile boolean failing;
  /** Guards {@code beating}, so no renewal is sent after {@link #stop}. */
  private final Object lock = new Object();
  private boolean beating;
  private ScheduledFuture<?> schedule;
  /** Runs with each renewal (the consumer's key slots), or null. Must not block. */
  private final Runnable alsoRenew;

  Heartbeat(RedisConnections connections, Timing timing, ListDestination list, String consumerName, byte[] key,
      Runnable alsoRenew) {
    this.alsoRenew = alsoRenew;
    this.connections = connections;
    this.timing = timing;
    this.list = list;
    this.consumerName = consumerName;
    this.key = key;
  }

  /** Sets the key now (on the consumer's connection, synchronously) and starts the renewals. */
  void start(io.lettuce.core.cluster.api.sync.RedisClusterCommands<byte[], byte[]> redis) {
    redis.set(key, value(), SetArgs.Builder.px(list.heartbeatTtl().toMillis()));
    long every = Math.max(100, list.heartbeatTtl().toMillis() / 3);
    synchronized (lock) {
      beating = true;
    }
    schedule = connections.timer().scheduleAtFixedRate(this::beat, every, every, TimeUnit.MILLISECONDS);
  }

  private byte[] value() {
    return Long.toString(timing.currentTimeMillis()).getBytes(StandardCharsets.UTF_8);
  }

  /** On the transport's timer thread: must not block, must not throw (that would end the schedule). */
  private void beat() {
    try {
      synchronized (lock) {
        if (!beating) {
          return;
        }
        connections.commands().set(key, value(), SetArgs.Builder.px(list.heartbeatTtl().toMillis()))
            .whenComplete((ok, e) -> beaten(e));
        if (alsoRenew != null) {
          alsoRenew.run();
        }
      }
    } catch (RuntimeException e) {
      beaten(e);
    }
  }

  private void beaten(Throwable e) {
    if (e == null) {
      if (failing) {
        failing = false;
        LOG.info("The heartbeat of consumer '{}' on {} is renewed again.", consumerName, list.key());
      }
      return;
    }
    failing = true;
    connections.failed(e);
    long suppressed = warnings.acquire();
    if (suppressed > 0) {
      LOG.warn("{} more heartbeats of consumer '{}' on {} failed in the last minute (logged at DEBUG only).",
          suppressed, consumerName, list.key());
    }
    if (suppressed >= 0) {
      LOG.warn("Could not renew the heartbeat of consumer '{}' on {}: {}. Should it lapse for the heartbeat TTL of {}, "
          + "other consumers take back the items this one holds, and they may be handled twice.", consumerName,
          list.key(), e.toString(), list.heartbeatTtl());
    } else {
      LOG.debug("Heartbeat of '{}' on {} failed again", consumerName, list.key(), e);
    }
  }

  /** Ends the renewals; with {@code delete}, then deletes the key (after the last renewal was sent). */
  void stop(boolean delete) {
    synchronized (lock) {
      beating = false;
    }
    ScheduledFuture<?> s = schedule;
    schedule = null;
    if (s != null) {
      s.cancel(false);
    }
    if (delete) {
      try {
        connections.commands().del(key).get(5, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      } catch (Exception e) {
        LOG.debug("Could not delete heartbeat {}", new String(key, StandardCharsets.UTF_8), e);
      }
    }
  }
}
