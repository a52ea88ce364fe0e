package dev.brook.redis.internal.stream;

import dev.brook.redis.StreamDestination;
import dev.brook.redis.internal.RedisContext;
import dev.brook.redis.internal.RedisKind;
import dev.brook.redis.internal.Durability;
import dev.brook.redis.internal.RedisProducer;
import dev.brook.spi.Frame;
import dev.brook.spi.Transport;
import io.lettuce.core.XAddArgs;
import io.lettuce.core.codec.ByteArrayCodec;
import io.lettuce.core.output.StatusOutput;
import io.lettuce.core.protocol.AsyncCommand;
import io.lettuce.core.protocol.Command;
import io.lettuce.core.protocol.CommandArgs;
import io.lettuce.core.protocol.CommandType;
import io.lettuce.core.protocol.RedisCommand;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;

/**
 * Streams: XADD to publish (the envelope in field {@code __data__}, trimmed with {@code MAXLEN ~}
 * when the destination sets maxLen), a {@link StreamConsumer} per subscription to read (with a
 * group: XREADGROUP and settlement; without: XREAD).
 */
public final class StreamKind implements RedisKind<StreamDestination> {

  private final RedisContext context;
  private final RedisProducer producer;

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
    return new StreamConsumer(context, stream, subscriptionId, sink, shards, local);
  }

  @Override
  public CompletableFuture<Void> send(StreamDestination stream, Frame frame) {
    Durability durability = durability(stream);
    if (durability != null) {
      return producer.sendDurable(new RedisProducer.DurableWrite(stream, key(stream), List.of(command(stream, frame)),
          durability));
    }
    byte[] value = producer.encode(stream, frame);
    XAddArgs args = new XAddArgs();
    if (stream.maxLength() > 0) {
      args.maxlen(stream.maxLength()).approximateTrimming();
    }
    return producer.published(stream, producer.commands().xadd(key(stream), args, Map.of(StreamInbound.DATA_FIELD, value)));
  }

  /** A delayed or deduplicated publish: one script ({@link dev.brook.redis.internal.Delayed}); no WAIT. */
  @Override
  public CompletableFuture<dev.brook.PublishResult> send(StreamDestination stream, Frame frame,
      dev.brook.PublishOptions options) {
    if (options.isEmpty()) {
      return send(stream, frame).thenApply(v -> dev.brook.PublishResult.PUBLISHED);
    }
    return dev.brook.redis.internal.Delayed.publish(producer, local, stream, stream.name(), 's', stream.maxLength(),
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
      return producer.sendDurable(new RedisProducer.DurableWrite(stream, key(stream), commands(stream, frames), durability));
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

  /** An XADD of one message, built by hand: for a batch and for a pipeline. */
  @Override
  public AsyncCommand<byte[], byte[], ?> command(StreamDestination stream, Frame frame) {
    CommandArgs<byte[], byte[]> args = new CommandArgs<>(ByteArrayCodec.INSTANCE).addKey(key(stream));
    if (stream.maxLength() > 0) {
      args.add("MAXLEN").add("~").add(stream.maxLength());
    }
    args.add("*").add(StreamInbound.DATA_FIELD).addValue(producer.encode(stream, frame));
    return new AsyncCommand<>(new Command<>(CommandType.XADD, new StatusOutput<>(ByteArrayCodec.INSTANCE), args));
  }

  private static byte[] key(StreamDestination stream) {
    return stream.name().getBytes(StandardCharsets.UTF_8);
  }
}
