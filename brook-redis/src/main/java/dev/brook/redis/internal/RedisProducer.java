package dev.brook.redis.internal;

import dev.brook.BrookException;
import dev.brook.Destination;
import dev.brook.spi.Frame;
import io.lettuce.core.RedisCommandTimeoutException;
import io.lettuce.core.RedisException;
import io.lettuce.core.api.StatefulConnection;
import io.lettuce.core.cluster.api.async.RedisClusterAsyncCommands;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.async.RedisAsyncCommands;
import io.lettuce.core.codec.ByteArrayCodec;
import io.lettuce.core.output.IntegerOutput;
import io.lettuce.core.protocol.AsyncCommand;
import io.lettuce.core.protocol.Command;
import io.lettuce.core.protocol.CommandArgs;
import io.lettuce.core.protocol.CommandType;
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

  /** Whether the transport is a cluster: publishes are then tracked for failovers ({@link RedisConnections#trackPublish}). */
  private final boolean cluster;

  public RedisProducer(RedisConnections connections) {
    this.connections = connections;
    this.cluster = connections.isCluster();
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
    dispatch(connections.commandConnection(), commands);
  }

  /** {@link #dispatch(List)} on another connection (a durable publish's). */
  private void dispatch(StatefulConnection<byte[], byte[]> connection,
      List<? extends RedisCommand<byte[], byte[], ?>> commands) {
    int chunk = Math.max(1, Math.min(1_000, options.requestQueueSize() / 2));
    dispatchFrom(connection, commands, 0, chunk);
  }

  private void dispatchFrom(StatefulConnection<byte[], byte[]> connection,
      List<? extends RedisCommand<byte[], byte[], ?>> commands, int from, int chunk) {
    int to = Math.min(commands.size(), from + chunk);
    if (from >= to) {
      return;
    }
    List<? extends RedisCommand<byte[], byte[], ?>> write = commands.subList(from, to);
    try {
      PublishDeadlines deadlines = connections.publishDeadlines();
      for (RedisCommand<byte[], byte[], ?> c : write) {
        if (c instanceof PublishDeadlines.Tracked<?> tracked) {
          deadlines.start(tracked); // its timeout counts from its own write, not from the batch's first
        }
      }
      connection.dispatch(write);
    } catch (RuntimeException e) {
      for (RedisCommand<byte[], byte[], ?> c : commands.subList(from, commands.size())) {
        c.completeExceptionally(e);
      }
      return;
    }
    if (to < commands.size()) {
      RedisCommand<byte[], byte[], ?> last = write.get(write.size() - 1);
      if (last instanceof CompletionStage<?> done) {
        done.whenComplete((ok, error) -> dispatchFrom(connection, commands, to, chunk));
      } else {
        dispatchFrom(connection, commands, to, chunk); // not observable: send the rest now
      }
    }
  }

  /**
   * What a publish to a List or Stream waits for: the destination's own setting ({@code replicas}
   * -1: none, so the broker's default), or null when it waits for nothing — the usual case, which
   * costs one comparison.
   */
  public Durability durability(int replicas, Duration timeout) {
    Durability d = replicas < 0 ? options.durability() : replicas == 0 ? Durability.NONE : new Durability(replicas, timeout);
    return d.waits() ? d : null;
  }

  /**
   * One durable publish: hand-built {@code writes} (an RPUSH, XADDs) that must all be on {@code
   * replicas} replicas before the future completes.
   *
   * @param key the key written, which chooses the connection ({@link RedisConnections#durableConnection})
   */
  public record DurableWrite(Destination destination, byte[] key, List<? extends AsyncCommand<byte[], byte[], ?>> writes,
      Durability durability) {}

  /** {@link #sendDurable(List)} for one write. */
  public CompletableFuture<Void> sendDurable(DurableWrite write) {
    return sendDurable(List.of(write)).get(0);
  }

  /**
   * Sends the writes, in order, on the connection for their key, followed by one {@code WAIT} per
   * connection for the most replicas and the longest timeout asked there (WAIT covers every earlier
   * write of its connection: one round trip to the replicas for a whole batch or pipeline). Each
   * write's future completes when Redis answered its commands and, if it asks for replicas, WAIT
   * reported at least as many; fewer fail it with a {@link dev.brook.redis.NotReplicatedException}.
   * Writes without durability (a pipeline's other messages) complete at their reply. One future per
   * write, in order.
   */
  public List<CompletableFuture<Void>> sendDurable(List<DurableWrite> writes) {
    java.util.Map<StatefulRedisConnection<byte[], byte[]>, List<RedisCommand<byte[], byte[], ?>>> byConnection =
        new java.util.LinkedHashMap<>();
    java.util.Map<StatefulRedisConnection<byte[], byte[]>, Durability> waitFor = new java.util.HashMap<>();
    List<StatefulRedisConnection<byte[], byte[]>> connectionOf = new java.util.ArrayList<>(writes.size());
    for (DurableWrite w : writes) {
      StatefulRedisConnection<byte[], byte[]> c = connections.durableConnection(w.key());
      connectionOf.add(c);
      byConnection.computeIfAbsent(c, x -> new java.util.ArrayList<>()).addAll(w.writes());
      if (w.durability().waits()) {
        checkTimeout(w.destination(), w.durability());
        waitFor.merge(c, w.durability(), (a, b) -> new Durability(Math.max(a.replicas(), b.replicas()),
            a.timeout().compareTo(b.timeout()) >= 0 ? a.timeout() : b.timeout()));
      }
    }
    java.util.Map<StatefulRedisConnection<byte[], byte[]>, AsyncCommand<byte[], byte[], Long>> waits = new java.util.HashMap<>();
    waitFor.forEach((c, d) -> {
      AsyncCommand<byte[], byte[], Long> wait = waitCommand(d);
      waits.put(c, wait);
      byConnection.get(c).add(wait);
    });
    List<CompletableFuture<Void>> results = new java.util.ArrayList<>(writes.size());
    for (int i = 0; i < writes.size(); i++) {
      DurableWrite w = writes.get(i);
      StatefulRedisConnection<byte[], byte[]> c = connectionOf.get(i);
      results.add(outcome(w, c, CompletableFuture.allOf(w.writes().toArray(CompletableFuture<?>[]::new)), waits.get(c), 0));
    }
    byConnection.forEach(this::dispatch);
    return results;
  }

  private static AsyncCommand<byte[], byte[], Long> waitCommand(Durability d) {
    return new AsyncCommand<>(new Command<>(CommandType.WAIT, new IntegerOutput<>(ByteArrayCodec.INSTANCE),
        new CommandArgs<>(ByteArrayCodec.INSTANCE).add(d.replicas()).add(d.timeout().toMillis())));
  }

  /** How often one durable write follows MOVED/ASK before it fails with the last redirect. */
  private static final int MAX_REDIRECTS = 5;

  /**
   * A durable write's future: when Redis answered its commands (then WAIT counted its replicas, if
   * it asks for any). On a cluster a write answered {@code MOVED} or {@code ASK} was not stored
   * (the node no longer serves, or is handing over, its slot): it is sent again, with its WAIT, to
   * the node Redis named ({@code ASKING} first for ASK), at most {@link #MAX_REDIRECTS} times; the
   * MOVED also makes Lettuce refresh its topology ({@link RedisConnections#failed}), so the next
   * writes go to the new owner directly. Lettuce's own redirects cannot serve here: the write and its
   * WAIT must reach the same node on one connection.
   */
  private CompletableFuture<Void> outcome(DurableWrite w, StatefulRedisConnection<byte[], byte[]> c,
      CompletableFuture<Void> raw, AsyncCommand<byte[], byte[], Long> wait, int redirects) {
    return raw.handle((ok, e) -> e).thenCompose(e -> {
      Redirect to = e == null || redirects >= MAX_REDIRECTS || !connections.isCluster() ? null : Redirect.of(e);
      if (to != null) {
        connections.failed(c, e);
        // Asynchronously: this runs on a Lettuce I/O thread, which must not wait for a connect.
        return connections.durableNodeConnection(to.host(), to.port())
            .handle((node, unreachable) -> {
              if (node == null) {
                e.addSuppressed(unreachable); // the node named cannot be used: fail with the redirect
                return finished(w, c, e, wait);
              }
              return resend(w, node, to.ask(), redirects + 1);
            }).thenCompose(f -> f);
      }
      return finished(w, c, e, wait);
    });
  }

  /** The write's outcome once no redirect is followed: the publish error, or WAIT's count. */
  private CompletableFuture<Void> finished(DurableWrite w, StatefulRedisConnection<byte[], byte[]> c, Throwable e,
      AsyncCommand<byte[], byte[], Long> wait) {
    {
      CompletableFuture<Void> written = published(w.destination(),
          e == null ? CompletableFuture.completedFuture(null) : CompletableFuture.failedFuture(e))
          .whenComplete((x, error) -> connections.failed(c, error));
      return w.durability().waits() ? replicated(w, written, wait) : written;
    }
  }

  /** Sends copies of {@code w}'s commands and its WAIT to the node a redirect named. */
  private CompletableFuture<Void> resend(DurableWrite w, StatefulRedisConnection<byte[], byte[]> node, boolean ask,
      int redirects) {
    List<AsyncCommand<byte[], byte[], ?>> copies = new java.util.ArrayList<>(w.writes().size());
    for (AsyncCommand<byte[], byte[], ?> c : w.writes()) {
      // Only success or failure matters to a durable write, so any reply fits ArrayOutput.
      copies.add(new AsyncCommand<>(new Command<>(c.getType(), new io.lettuce.core.output.ArrayOutput<>(ByteArrayCodec.INSTANCE),
          c.getArgs())));
    }
    List<RedisCommand<byte[], byte[], ?>> send = new java.util.ArrayList<>(copies.size() + 2);
    if (ask) {
      send.add(new AsyncCommand<>(new Command<>(CommandType.ASKING, new io.lettuce.core.output.StatusOutput<>(ByteArrayCodec.INSTANCE))));
    }
    send.addAll(copies);
    AsyncCommand<byte[], byte[], Long> wait = w.durability().waits() ? waitCommand(w.durability()) : null;
    if (wait != null) {
      send.add(wait);
    }
    DurableWrite again = new DurableWrite(w.destination(), w.key(), copies, w.durability());
    CompletableFuture<Void> result = outcome(again, node, CompletableFuture.allOf(copies.toArray(CompletableFuture<?>[]::new)),
        wait, redirects);
    dispatch(node, send);
    return result;
  }

  /** A {@code MOVED slot host:port} or {@code ASK slot host:port} reply found in an error's chain. */
  record Redirect(boolean ask, String host, int port) {
    static Redirect of(Throwable error) {
      for (Throwable t = error; t != null; t = t.getCause() == t ? null : t.getCause()) {
        String text = String.valueOf(t.getMessage());
        boolean ask = text.startsWith("ASK ");
        if (!ask && !text.startsWith("MOVED ")) {
          continue;
        }
        String[] parts = text.trim().split(" ");
        int colon = parts.length < 3 ? -1 : parts[2].lastIndexOf(':');
        if (colon > 0) {
          try {
            return new Redirect(ask, parts[2].substring(0, colon), Integer.parseInt(parts[2].substring(colon + 1)));
          } catch (NumberFormatException notARedirect) {
            return null;
          }
        }
      }
      return null;
    }
  }

  /** The write's future once WAIT has counted its replicas. */
  private CompletableFuture<Void> replicated(DurableWrite w, CompletableFuture<Void> written,
      AsyncCommand<byte[], byte[], Long> wait) {
    return written.thenCompose(ok -> wait.handle((acknowledged, error) -> {
      String key = w.destination().key();
      int required = w.durability().replicas();
      if (error != null) {
        throw new BrookException("Published to " + key + ", but could not learn whether " + required + " replica(s) have "
            + "it: WAIT failed (" + RedisErrors.unwrap(error) + "). Redis has the message; it is lost only if the primary "
            + "fails before replicating it. Publishing it again may store it twice.", RedisErrors.unwrap(error));
      }
      if (acknowledged < required) {
        throw new dev.brook.redis.NotReplicatedException("Published to " + key + ", but only " + acknowledged + " of the "
            + required + " replica(s) required acknowledged it within " + describe(w.durability().timeout())
            + " (WAIT). The message is in Redis on " + connections.masked() + " and may still reach the replicas, or be "
            + "lost if the primary fails first; publishing it again may store it twice. Check the replicas (INFO "
            + "replication), or lower waitForReplicas.", (int) (long) acknowledged, required);
      }
      return null;
    }));
  }

  private void checkTimeout(Destination destination, Durability d) {
    if (d.timeout().compareTo(options.commandTimeout()) >= 0) {
      throw new BrookException("Cannot publish to " + destination.key() + ": its waitForReplicas timeout of "
          + describe(d.timeout()) + " is not shorter than the broker's commandTimeout of " + describe(options.commandTimeout())
          + ", so the client would give up on WAIT before Redis answers. Shorten the timeout, or raise "
          + "RedisBroker.builder().commandTimeout(...).");
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

  /**
   * {@code command} ready to dispatch on the command connection, its {@code commandTimeout} kept by
   * one periodic sweep instead of a Lettuce timer per command ({@link PublishDeadlines}): for the
   * publish of a single message, which is sent once per message. Call right before dispatching.
   */
  public <T> AsyncCommand<byte[], byte[], T> tracked(RedisCommand<byte[], byte[], T> command) {
    return connections.publishDeadlines().track(command);
  }

  /**
   * {@code command} for a batch or a pipeline sent by {@link #dispatch}: its {@code commandTimeout}
   * is kept by the sweep from the moment its own write goes out ({@link PublishDeadlines#prepare}),
   * with no Lettuce timer per command.
   */
  public <T> AsyncCommand<byte[], byte[], T> prepared(RedisCommand<byte[], byte[], T> command) {
    return PublishDeadlines.prepare(command);
  }

  /**
   * Sends one hand-built publish command on the command connection, {@link #tracked}; a command the
   * connection refuses completes with the refusal. The returned future is the command itself.
   */
  public <T> CompletableFuture<T> send(RedisCommand<byte[], byte[], T> command) {
    AsyncCommand<byte[], byte[], T> sent = tracked(command);
    try {
      connection().dispatch(sent);
    } catch (RuntimeException refused) {
      sent.completeExceptionally(refused);
    }
    return sent;
  }

  /** Completes when Redis has the message, or fails with a BrookException that says why and what to do. */
  public CompletableFuture<Void> published(Destination destination, CompletionStage<?> sent) {
    CompletableFuture<?> f = sent.toCompletableFuture();
    if (cluster && (destination instanceof dev.brook.redis.ListDestination
        || destination instanceof dev.brook.redis.StreamDestination
        || destination instanceof dev.brook.redis.ShardChannelDestination)) {
      // Routed by the slot of its name: a failover of that slot's master cancels it ({@link #failure}).
      connections.trackPublish(((dev.brook.redis.RedisDestination) destination).name()
          .getBytes(java.nio.charset.StandardCharsets.UTF_8), f);
    }
    return f.handle((ok, error) -> {
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
    if (e instanceof java.util.concurrent.CancellationException && connections.isCluster()) {
      return new BrookException("Could not publish to " + destination.key() + ": the master of its hash slot on " + masked
          + " failed while the message was on its way, and a replica took its place. Redis may or may not have stored "
          + "it (on the failed master, replicated or not): publish it again, which goes to the new master (a retry may "
          + "store it twice).", e);
    }
    if (kind instanceof RedisErrors.ReadOnly) {
      connections.failed(kind);
      return new BrookException("Could not publish to " + destination.key() + ": the connection to " + masked
          + " reached a replica (" + e.getMessage() + "), so the message was not stored. " + (connections.sentinel()
              ? "A failover is going on: Brook reconnects to the primary the sentinels name; publish it again."
              : "Point the URL at the primary, or use a redis-sentinel:// URL so that Brook follows failovers."), e);
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
