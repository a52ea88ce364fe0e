package dev.brook.redis.internal.shard;

import dev.brook.redis.ShardChannelDestination;
import dev.brook.redis.internal.MemoryInbound;
import dev.brook.redis.internal.MemoryRedis;
import dev.brook.redis.internal.RedisKind;
import dev.brook.spi.Frame;
import dev.brook.spi.Transport;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * Sharded Pub/Sub in memory, for the test broker, as {@link ShardChannelKind} and {@link ShardHub}
 * behave on Redis: a message goes to every started subscriber of the shard channel published to, in
 * the order they started; nothing is kept for absent subscribers and nothing waits. Shard channels
 * are a namespace of their own, as in Redis: an SPUBLISH never reaches a SUBSCRIBE of the same name,
 * nor a PUBLISH an SSUBSCRIBE. There are no slots or nodes in memory. Guarded by its {@link
 * MemoryRedis}' lock.
 */
public final class ShardChannelModel implements MemoryRedis.Model, RedisKind<ShardChannelDestination> {

  private final MemoryRedis redis;
  /** Started subscribers, in the order they started. */
  private final List<Reader> readers = new ArrayList<>();

  public ShardChannelModel(MemoryRedis redis) {
    this.redis = redis;
  }

  /** A subscriber of one shard channel; equal only to itself, so a stop removes this one and no other. */
  private static final class Reader {
    final String channel;
    final Transport.Sink sink;

    Reader(String channel, Transport.Sink sink) {
      this.channel = channel;
      this.sink = sink;
    }
  }

  @Override
  public Class<ShardChannelDestination> type() {
    return ShardChannelDestination.class;
  }

  @Override
  public Transport.Consumer consumer(ShardChannelDestination channel, String subscriptionId, Transport.Sink sink) {
    Reader r = new Reader(channel.name(), sink);
    return new Transport.Consumer() {
      @Override
      public void start() {
        redis.locked(() -> readers.add(r));
      }

      @Override
      public void stop() {
        redis.locked(() -> readers.remove(r));
      }
    };
  }

  @Override
  public CompletableFuture<Void> send(ShardChannelDestination channel, Frame frame) {
    return sendBatch(channel, List.of(frame));
  }

  @Override
  public CompletableFuture<Void> sendBatch(ShardChannelDestination channel, List<Frame> frames) {
    redis.locked(() -> {
      for (Frame frame : frames) {
        publish(channel.name(), redis.write(channel, frame));
      }
    });
    return CompletableFuture.completedFuture(null);
  }

  /** SPUBLISH channel message by another client: the message as it is (not in Brook's envelope); the receivers. */
  public long publishRaw(String channel, byte[] message) {
    return redis.lockedGet(() -> {
      long receivers = readers.stream().filter(r -> r.channel.equals(channel)).count();
      publish(channel, message);
      return receivers;
    });
  }

  /** Under the lock: fan-out to the subscribers of the channel. */
  private void publish(String channel, byte[] wire) {
    for (Reader r : List.copyOf(readers)) {
      if (r.channel.equals(channel)) {
        redis.deliver(r.sink, new Message(channel, wire));
      }
    }
  }

  /** A message on a shard channel. */
  private final class Message extends MemoryInbound {
    private final String channel;

    Message(String channel, byte[] raw) {
      super(redis, true, raw);
      this.channel = channel;
    }

    @Override
    public String channel() {
      return channel;
    }

    @Override
    public String serverId() {
      return null;
    }
  }
}
