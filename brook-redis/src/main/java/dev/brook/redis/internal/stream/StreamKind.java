package dev.brook.redis.internal.stream;

import dev.brook.redis.StreamDestination;
import dev.brook.redis.internal.RedisContext;
import dev.brook.redis.internal.RedisKind;
import dev.brook.redis.internal.Durability;
import dev.brook.redis.internal.RedisProducer;
import dev.brook.spi.Frame;
import dev.brook.spi.Transport;
import io.lettuce.core.codec.ByteArrayCodec;
import io.lettuce.core.output.VoidOutput;
import io.lettuce.core.protocol.AsyncCommand;
import io.lettuce.core.protocol.Command;
import io.lettuce.core.protocol.CommandArgs;
import io.lettuce.core.protocol.CommandType;
import io.lettuce.core.protocol.RedisCommand;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * Streams: XADD to publish (the envelope in field {@code __data__}, trimmed with {@code MAXLEN ~}
 * when the destination sets maxLen), a {@link StreamConsumer} per subscription to read (with a
 * group: XREADGROUP and settlement; without: XREAD).
 */
public final class StreamKind implements RedisKind<StreamDestination> {

  private final RedisContext context;
  private final RedisProducer producer;
  /** The next partition of a message without a key (partitioned streams only). */
  private final java.util.concurrent.atomic.AtomicInteger roundRobin = new java.util.concurrent.atomic.AtomicInteger();

  /** The sharded channels, on which consumers hear of a new earliest delayed message ({@link dev.brook.redis.internal.Delayed#wakeOn}). */
  private final dev.brook.redis.internal.RedisKind<dev.brook.redis.ShardChannelDestination> shards;
  /** This transport's consumers by destination, woken by its own delayed publishes. */
  private final dev.brook.redis.internal.Delayed.Local local;

  public StreamKind(RedisContext context, dev.brook.redis.internal.RedisKind<dev.brook.redis.ShardChannelDestination> shards) {
    this.context = context;
    this.shards = shards;
    this.local = new dev.brook.redis.internal.Delayed.Local();
    this.producer = context.producer();
  }

  @Override
  public Class<StreamDestination> type() {
    return StreamDestination.class;
  }

  @Override
  public Transport.Consumer consumer(StreamDestination stream, String subscriptionId, Transport.Sink sink) {
    if (stream.partitionCount() > 1) {
      return stream.groupName() == null ? PartitionedConsumer.readers(context, stream, subscriptionId, sink)
          : new PartitionedConsumer(context, stream, subscriptionId, sink);
    }
    return new StreamConsumer(context, stream, subscriptionId, sink, null, shards, local);
  }

  @Override
  public CompletableFuture<Void> send(StreamDestination stream, Frame frame) {
    Durability durability = durability(stream);
    if (durability != null) {
      return allOf(producer.sendDurable(durableWrites(stream, List.of(frame), durability)));
    }
    return producer.published(stream, producer.send(xadd(stream, frame, key(stream, frame))));
  }

  /** A delayed or deduplicated publish: one script ({@link dev.brook.redis.internal.Delayed}); no WAIT. */
  @Override
  public CompletableFuture<dev.brook.PublishResult> send(StreamDestination stream, Frame frame,
      dev.brook.PublishOptions options) {
    if (options.isEmpty()) {
      return send(stream, frame).thenApply(v -> dev.brook.PublishResult.PUBLISHED);
    }
    // On a partitioned stream the message waits in its partition's delayed set, which that partition's
    // consumer promotes (each partition is a stream of its own).
    String target = stream.partitionCount() > 1 ? Partitions.target(stream, frame, roundRobin) : stream.name();
    return dev.brook.redis.internal.Delayed.publish(producer, local, stream, target, 's', stream.maxLength(),
        producer.encode(stream, frame), options);
  }

  /**
   * Few writes for the whole batch: the XADDs are built by hand and dispatched together ({@link
   * RedisProducer#dispatch}, in writes the request queue can take), rather than sent (and flushed)
   * one by one through the command API.
   */
  @Override
  public CompletableFuture<Void> sendBatch(StreamDestination stream, List<Frame> frames) {
    Durability durability = durability(stream);
    if (durability != null) {
      return allOf(producer.sendDurable(durableWrites(stream, frames, durability)));
    }
    List<RedisCommand<byte[], byte[], ?>> commands = new ArrayList<>(frames.size());
    CompletableFuture<?>[] futures = new CompletableFuture<?>[frames.size()];
    for (int i = 0; i < futures.length; i++) {
      AsyncCommand<byte[], byte[], ?> command = command(stream, frames.get(i));
      commands.add(command);
      futures[i] = command;
    }
    producer.dispatch(commands);
    return producer.published(stream, CompletableFuture.allOf(futures));
  }

  /** What a publish waits for: null, unless the stream or the broker asks for replicas ({@code waitForReplicas}). */
  @Override
  public Durability durability(StreamDestination stream) {
    return producer.durability(stream.replicasToWait(), stream.replicaWaitTimeout());
  }

  /**
   * One write of all on the stream's key; for a partitioned stream one per message, on its
   * partition's key, so each goes to (and WAITs on) its partition's node.
   */
  @Override
  public List<RedisProducer.DurableWrite> durableWrites(StreamDestination stream, List<Frame> frames,
      Durability durability) {
    if (stream.partitionCount() == 1) {
      return List.of(new RedisProducer.DurableWrite(stream, key(stream, null), commands(stream, frames), durability));
    }
    List<RedisProducer.DurableWrite> writes = new ArrayList<>(frames.size());
    for (Frame frame : frames) {
      byte[] key = key(stream, frame);
      writes.add(new RedisProducer.DurableWrite(stream, key, List.of(command(stream, frame, key)), durability));
    }
    return writes;
  }

  private static CompletableFuture<Void> allOf(List<CompletableFuture<Void>> futures) {
    return futures.size() == 1 ? futures.get(0) : CompletableFuture.allOf(futures.toArray(CompletableFuture<?>[]::new));
  }

  /** An XADD of one message, built by hand: for a batch and for a pipeline. */
  @Override
  public AsyncCommand<byte[], byte[], ?> command(StreamDestination stream, Frame frame) {
    return command(stream, frame, key(stream, frame));
  }

  private AsyncCommand<byte[], byte[], ?> command(StreamDestination stream, Frame frame, byte[] key) {
    return producer.prepared(xadd(stream, frame, key));
  }

  /** Its reply, the new entry's id, is not decoded: no publish reports it (a String per message saved). */
  private Command<byte[], byte[], Void> xadd(StreamDestination stream, Frame frame, byte[] key) {
    CommandArgs<byte[], byte[]> args = new CommandArgs<>(ByteArrayCodec.INSTANCE).addKey(key);
    if (stream.maxLength() > 0) {
      args.add("MAXLEN").add("~").add(stream.maxLength());
    }
    args.add("*").add(StreamInbound.DATA_FIELD).addValue(producer.encode(stream, frame));
    return new Command<>(CommandType.XADD, new VoidOutput<>(ByteArrayCodec.INSTANCE), args);
  }

  /** The stream's key, or for a partitioned stream the key of the message's partition ({@link Partitions}). */
  private byte[] key(StreamDestination stream, Frame frame) {
    return (frame == null ? stream.name() : Partitions.target(stream, frame, roundRobin)).getBytes(StandardCharsets.UTF_8);
  }
}
