package dev.brook.redis.internal;

import dev.brook.Destination;
import dev.brook.spi.Frame;
import dev.brook.spi.Transport;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;

/**
 * Finds a destination's {@link RedisKind} by its class. A destination of a class no kind serves (one
 * from another broker) is refused with an error naming it and the destinations this broker takes.
 */
public final class RedisKinds {

  private final Map<Class<?>, RedisKind<?>> byType = new HashMap<>();

  public RedisKinds(List<RedisKind<?>> kinds) {
    for (RedisKind<?> kind : kinds) {
      if (byType.putIfAbsent(kind.type(), kind) != null) {
        throw new IllegalArgumentException("Two kinds serve " + kind.type().getName());
      }
    }
  }

  public Transport.Consumer consumer(Destination destination, String subscriptionId, Transport.Sink sink) {
    return consumer(of(destination, "subscribe to"), destination, subscriptionId, sink);
  }

  public CompletableFuture<Void> send(Destination destination, Frame frame) {
    return send(of(destination, "publish to"), destination, frame);
  }

  public CompletableFuture<dev.brook.PublishResult> send(Destination destination, Frame frame,
      dev.brook.PublishOptions options) {
    return send(of(destination, "publish to"), destination, frame, options);
  }

  private static <D extends Destination> CompletableFuture<dev.brook.PublishResult> send(RedisKind<D> kind,
      Destination destination, Frame frame, dev.brook.PublishOptions options) {
    return kind.send(kind.type().cast(destination), frame, options);
  }

  public CompletableFuture<Void> sendBatch(Destination destination, List<Frame> frames) {
    return sendBatch(of(destination, "publish to"), destination, frames);
  }

  /** The hand-built commands publishing these messages to one destination, or null when its kind has none (see {@link RedisKind#commands}). */
  public List<io.lettuce.core.protocol.AsyncCommand<byte[], byte[], ?>> commands(Destination destination,
      List<Frame> frames) {
    return commands(of(destination, "publish to"), destination, frames);
  }

  private static <D extends Destination> List<io.lettuce.core.protocol.AsyncCommand<byte[], byte[], ?>> commands(
      RedisKind<D> kind, Destination destination, List<Frame> frames) {
    return kind.commands(kind.type().cast(destination), frames);
  }

  /** What a publish to the destination waits for, or null (see {@link RedisKind#durability}). */
  public Durability durability(Destination destination) {
    return durability(of(destination, "publish to"), destination);
  }

  private static <D extends Destination> Durability durability(RedisKind<D> kind, Destination destination) {
    return kind.durability(kind.type().cast(destination));
  }

  /** The kind of this destination; public destination classes are final, so its class is the key. */
  public RedisKind<?> of(Destination destination, String action) {
    RedisKind<?> kind = byType.get(destination.getClass());
    if (kind == null) {
      throw new IllegalArgumentException("RedisBroker cannot " + action + " " + destination.key() + " ("
          + destination.getClass().getName() + "). Use a destination from dev.brook.redis.Redis: channel, shardChannel, pattern, list or stream.");
    }
    return kind;
  }

  private static <D extends Destination> Transport.Consumer consumer(RedisKind<D> kind, Destination destination,
      String subscriptionId, Transport.Sink sink) {
    return kind.consumer(kind.type().cast(destination), subscriptionId, sink);
  }

  private static <D extends Destination> CompletableFuture<Void> send(RedisKind<D> kind, Destination destination,
      Frame frame) {
    return kind.send(kind.type().cast(destination), frame);
  }

  private static <D extends Destination> CompletableFuture<Void> sendBatch(RedisKind<D> kind, Destination destination,
      List<Frame> frames) {
    return kind.sendBatch(kind.type().cast(destination), frames);
  }
}
