package dev.brook.redis.internal.list;

import dev.brook.redis.ListDestination;
import dev.brook.redis.internal.RedisContext;
import dev.brook.redis.internal.RedisKind;
import dev.brook.redis.internal.Durability;
import dev.brook.redis.internal.RedisProducer;
import dev.brook.spi.Frame;
import dev.brook.spi.Transport;
import io.lettuce.core.codec.ByteArrayCodec;
import io.lettuce.core.output.IntegerOutput;
import io.lettuce.core.protocol.AsyncCommand;
import io.lettuce.core.protocol.Command;
import io.lettuce.core.protocol.CommandArgs;
import io.lettuce.core.protocol.CommandType;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * Lists: RPUSH to publish (one RPUSH for a batch), a {@link ListConsumer} per subscription to read
 * (reliable: BLMOVE into a processing list; at-most-once: BLPOP).
 */
public final class ListKind implements RedisKind<ListDestination> {

  private final RedisContext context;
  private final RedisProducer producer;

  /** The sharded channels, on which consumers hear of a new earliest delayed message ({@link dev.brook.redis.internal.Delayed#wakeOn}). */
  private final dev.brook.redis.internal.RedisKind<dev.brook.redis.ShardChannelDestination> shards;
  /** This transport's consumers by destination, woken by its own delayed publishes. */
  private final dev.brook.redis.internal.Delayed.Local local;

  public ListKind(RedisContext context, dev.brook.redis.internal.RedisKind<dev.brook.redis.ShardChannelDestination> shards) {
    this.context = context;
    this.shards = shards;
    this.local = new dev.brook.redis.internal.Delayed.Local();
    this.producer = context.producer();
  }

  @Override
  public Class<ListDestination> type() {
    return ListDestination.class;
  }

  @Override
  public Transport.Consumer consumer(ListDestination list, String subscriptionId, Transport.Sink sink) {
    return new ListConsumer(context, list, subscriptionId, sink, shards, local);
  }

  @Override
  public CompletableFuture<Void> send(ListDestination list, Frame frame) {
    Durability durability = durability(list);
    if (durability != null) {
      return producer.sendDurable(new RedisProducer.DurableWrite(list, key(list), List.of(command(list, frame)), durability));
    }
    return producer.published(list, producer.send(rpush(list, frame)));
  }

  /** A delayed or deduplicated publish: one script ({@link dev.brook.redis.internal.Delayed}); no WAIT. */
  @Override
  public CompletableFuture<dev.brook.PublishResult> send(ListDestination list, Frame frame, dev.brook.PublishOptions options) {
    if (options.isEmpty()) {
      return send(list, frame).thenApply(v -> dev.brook.PublishResult.PUBLISHED);
    }
    return dev.brook.redis.internal.Delayed.publish(producer, local, list, list.name(), 'l', 0, producer.encode(list, frame), options);
  }

  /** What a publish waits for: null, unless the list or the broker asks for replicas ({@code waitForReplicas}). */
  @Override
  public Durability durability(ListDestination list) {
    return producer.durability(list.replicasToWait(), list.replicaWaitTimeout());
  }

  /** An RPUSH of one message, for a pipeline. */
  @Override
  public AsyncCommand<byte[], byte[], ?> command(ListDestination list, Frame frame) {
    return producer.prepared(rpush(list, frame));
  }

  private Command<byte[], byte[], Long> rpush(ListDestination list, Frame frame) {
    CommandArgs<byte[], byte[]> args = new CommandArgs<>(ByteArrayCodec.INSTANCE).addKey(key(list))
        .addValue(producer.encode(list, frame));
    return new Command<>(CommandType.RPUSH, new IntegerOutput<>(ByteArrayCodec.INSTANCE), args);
  }

  /** One RPUSH of all the messages, for a pipeline. */
  @Override
  public List<AsyncCommand<byte[], byte[], ?>> commands(ListDestination list, List<Frame> frames) {
    CommandArgs<byte[], byte[]> args = new CommandArgs<>(ByteArrayCodec.INSTANCE).addKey(key(list));
    for (Frame frame : frames) {
      args.addValue(producer.encode(list, frame));
    }
    return List.of(producer.prepared(new Command<>(CommandType.RPUSH, new IntegerOutput<>(ByteArrayCodec.INSTANCE), args)));
  }

  /** One RPUSH for the whole batch. */
  @Override
  public CompletableFuture<Void> sendBatch(ListDestination list, List<Frame> frames) {
    Durability durability = durability(list);
    if (durability != null) {
      return producer.sendDurable(new RedisProducer.DurableWrite(list, key(list), commands(list, frames), durability));
    }
    byte[][] values = new byte[frames.size()][];
    for (int i = 0; i < values.length; i++) {
      values[i] = producer.encode(list, frames.get(i));
    }
    return producer.published(list, producer.commands().rpush(key(list), values));
  }

  private static byte[] key(ListDestination list) {
    return list.name().getBytes(StandardCharsets.UTF_8);
  }
}
