package dev.brook.redis.internal;

import dev.brook.BrookException;
import dev.brook.Destination;
import dev.brook.spi.Frame;
import io.lettuce.core.RedisCommandTimeoutException;
import io.lettuce.core.RedisException;
import io.lettuce.core.api.StatefulConnection;
import io.lettuce.core.cluster.api.async.RedisClusterAsyncCommands;
import io.lettuce.core.protocol.RedisCommand;
import java.io.IOException;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;

/**
 * What every destination kind's publishing shares: the envelope with its size check, the command
 * connection to send on, and the failure of a publish as a {@link BrookException} that says what
 * happened to the message and what to do. The kinds choose the command (PUBLISH, RPUSH, XADD).
 *
 * <p>Faults: a publish that does not get through within {@code commandTimeout}, finds the request
 * queue full, or loses its connection fails with an error naming the destination, the server and
 * the fix; nothing is dropped silently, and a timed-out command is never sent later.
 */
public final class RedisProducer {

  private final RedisConnections connections;
  private final TransportOptions options;

  public RedisProducer(RedisConnections connections) {
    this.connections = connections;
    this.options = connections.options();
  }

  /** Whether the transport talks to a Redis Cluster. */
  public boolean cluster() {
    return connections.isCluster();
  }

  /** The command connection's async API; publishing never blocks a caller's thread on Redis. */
  public RedisClusterAsyncCommands<byte[], byte[]> commands() {
    return connections.commands();
  }

  /**
   * Sends hand-built commands in order on the command connection, in writes of at most half the
   * request queue: a batch or pipeline larger than {@code requestQueueSize} would otherwise be
   * refused whole by Lettuce's queue. The next write goes out when the last command of the previous
   * one completed (whatever its outcome: a pipeline is not a transaction), so order is kept and the
   * queue never holds more than one write of ours. A write the connection refuses fails its commands
   * and those not sent yet, each completing with the error.
   */
  public void dispatch(List<? extends RedisCommand<byte[], byte[], ?>> commands) {
    int chunk = Math.max(1, Math.min(1_000, options.requestQueueSize() / 2));
    dispatchFrom(commands, 0, chunk);
  }

  private void dispatchFrom(List<? extends RedisCommand<byte[], byte[], ?>> commands, int from, int chunk) {
    int to = Math.min(commands.size(), from + chunk);
    if (from >= to) {
      return;
    }
    List<? extends RedisCommand<byte[], byte[], ?>> write = commands.subList(from, to);
    try {
      connections.commandConnection().dispatch(write);
    } catch (RuntimeException e) {
      for (RedisCommand<byte[], byte[], ?> c : commands.subList(from, commands.size())) {
        c.completeExceptionally(e);
      }
      return;
    }
    if (to < commands.size()) {
      RedisCommand<byte[], byte[], ?> last = write.get(write.size() - 1);
      if (last instanceof CompletionStage<?> done) {
        done.whenComplete((ok, error) -> dispatchFrom(commands, to, chunk));
      } else {
        dispatchFrom(commands, to, chunk); // not observable: send the rest now
      }
    }
  }

  /** The command connection itself, for a kind that dispatches hand-built commands in one write. */
  public StatefulConnection<byte[], byte[]> connection() {
    return connections.commandConnection();
  }

  /** The envelope, refused when a subscriber would refuse it for its size. */
  public byte[] encode(Destination destination, Frame frame) {
    byte[] value = Envelope.encode(frame.headers(), frame.payload());
    if (value.length > options.maxMessageSize()) {
      throw new BrookException("Cannot publish to " + destination.key() + ": the message is " + value.length
          + " bytes, over the maxMessageSize of " + options.maxMessageSize() + " bytes, so Brook's subscribers would reject it. "
          + "Send large data by reference (a key or a URL), or raise RedisBroker.builder().maxMessageSize(...) on every broker that reads it.");
    }
    return value;
  }

  /** Completes when Redis has the message, or fails with a BrookException that says why and what to do. */
  public CompletableFuture<Void> published(Destination destination, CompletionStage<?> sent) {
    return sent.toCompletableFuture().handle((ok, error) -> {
      if (error != null) {
        throw failure(destination, error);
      }
      return null;
    });
  }

  /** A failed publish in words: whether Redis may have the message, and what to do. */
  public RuntimeException failure(Destination destination, Throwable error) {
    Throwable e = RedisErrors.unwrap(error);
    Throwable kind = RedisErrors.translate(e);
    StatefulConnection<byte[], byte[]> c = connections.commandConnection();
    boolean down = c == null || !c.isOpen();
    String masked = connections.masked();
    if (e instanceof RedisCommandTimeoutException) {
      return new BrookException("Could not publish to " + destination.key() + ": " + masked + " did not answer within the "
          + "commandTimeout of " + describe(options.commandTimeout()) + (down
              ? "; the connection is down and Brook keeps reconnecting. The message was not stored unless Redis took it "
                  + "just before the connection dropped. Check that Redis is running there and publish it again"
              : ". Redis may still store the message. Check the load on Redis")
          + "; RedisBroker.builder().commandTimeout(...) sets how long a publish waits.", e);
    }
    if (kind instanceof RedisErrors.QueueFull) {
      return new BrookException("Could not publish to " + destination.key() + ": " + options.requestQueueSize()
          + " commands already wait for " + masked + " (requestQueueSize)" + (down ? " while the connection is down" : "")
          + ". The message was not sent. Wait for earlier publishes to complete before sending more, or raise "
          + "RedisBroker.builder().requestQueueSize(...).", e);
    }
    if (!connections.isCluster() && String.valueOf(e.getMessage()).startsWith("MOVED ")) {
      return new BrookException("Could not publish to " + destination.key() + ": " + masked + " is a node of a Redis "
          + "Cluster and another node serves that key (" + e.getMessage() + "). Use a redis-cluster://host:port,... URL "
          + "for a cluster.", e);
    }
    if (e instanceof IOException || kind instanceof RedisErrors.ConnectionClosed
        || e instanceof RedisException && e.getCause() instanceof IOException) {
      Throwable why = e instanceof RedisException && e.getCause() != null ? e.getCause() : e;
      return new BrookException("Could not publish to " + destination.key() + ": the connection to " + masked
          + " dropped while the message was on its way (" + why + "). Redis may or may not have stored it: "
          + "publish it again once Redis answers (a retry may store it twice).", e);
    }
    return e instanceof RuntimeException r ? r : new CompletionException(e);
  }

  private static String describe(Duration d) {
    long ms = d.toMillis();
    return ms % 1000 == 0 ? ms / 1000 + " s" : ms + " ms";
  }
}
