package dev.brook.redis.internal.pubsub;

import dev.brook.redis.ChannelDestination;
import dev.brook.redis.PatternDestination;
import dev.brook.redis.internal.MemoryInbound;
import dev.brook.redis.internal.MemoryRedis;
import dev.brook.redis.internal.RedisKind;
import dev.brook.spi.Frame;
import dev.brook.spi.Transport;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.regex.Pattern;

/**
 * Pub/Sub in memory, for the test broker: as {@link PubSub} serves {@link ChannelKind} and {@link
 * PatternKind}, this model serves {@link #channels()} and {@link #patterns()}. A message goes to
 * every started subscriber whose channel is the one published to or whose glob matches it, in the
 * order they started; there is nothing to settle, and nothing waits (Pub/Sub keeps no keys).
 * Guarded by its {@link MemoryRedis}' lock.
 */
public final class PubSubModel implements MemoryRedis.Model {

  private final MemoryRedis redis;
  /** Started subscribers of channels and patterns, in the order they started. */
  private final List<Reader> readers = new ArrayList<>();
  private final Channels channels = new Channels();
  private final Patterns patterns = new Patterns();

  public PubSubModel(MemoryRedis redis) {
    this.redis = redis;
  }

  public RedisKind<ChannelDestination> channels() {
    return channels;
  }

  public RedisKind<PatternDestination> patterns() {
    return patterns;
  }

  /**
   * A subscriber: of one channel ({@code pattern} null), or of the channels a glob matches. Equal
   * only to itself, so a stop removes this subscriber and no other.
   */
  private static final class Reader {
    final String channel;
    final PatternDestination pattern;
    final Pattern glob;
    final Transport.Sink sink;
    final boolean counted;

    Reader(String channel, PatternDestination pattern, Pattern glob, Transport.Sink sink, boolean counted) {
      this.channel = channel;
      this.pattern = pattern;
      this.glob = glob;
      this.sink = sink;
      this.counted = counted;
    }

    boolean matches(String published) {
      return pattern == null ? channel.equals(published) : glob.matcher(published).matches();
    }
  }

  private Transport.Consumer consumer(Reader r) {
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

  /** PUBLISH channel message by another client: the message as it is (not in Brook's envelope). */
  public long publishRaw(String channel, byte[] message) {
    return redis.lockedGet(() -> {
      long receivers = readers.stream().filter(r -> r.matches(channel)).count();
      publish(channel, message);
      return receivers;
    });
  }

  /** Under the lock: PUBLISH, fan-out to the subscribers of the channel. */
  private void publish(String channel, byte[] wire) {
    for (Reader r : List.copyOf(readers)) {
      if (r.matches(channel)) {
        redis.deliver(r.sink, new Message(r, channel, wire));
      }
    }
  }

  private final class Channels implements RedisKind<ChannelDestination> {
    @Override
    public Class<ChannelDestination> type() {
      return ChannelDestination.class;
    }

    @Override
    public Transport.Consumer consumer(ChannelDestination channel, String subscriptionId, Transport.Sink sink) {
      boolean counted = redis.lockedGet(() -> !redis.isReplyChannel(channel.name()));
      return PubSubModel.this.consumer(new Reader(channel.name(), null, null, sink, counted));
    }

    @Override
    public CompletableFuture<Void> send(ChannelDestination channel, Frame frame) {
      return sendBatch(channel, List.of(frame));
    }

    @Override
    public CompletableFuture<Void> sendBatch(ChannelDestination channel, List<Frame> frames) {
      redis.locked(() -> {
        for (Frame frame : frames) {
          publish(channel.name(), redis.write(channel, frame));
        }
      });
      return CompletableFuture.completedFuture(null);
    }
  }

  private final class Patterns implements RedisKind<PatternDestination> {
    @Override
    public Class<PatternDestination> type() {
      return PatternDestination.class;
    }

    @Override
    public Transport.Consumer consumer(PatternDestination pattern, String subscriptionId, Transport.Sink sink) {
      return PubSubModel.this.consumer(new Reader(null, pattern, Glob.compile(pattern.name()), sink, true));
    }

    @Override
    public CompletableFuture<Void> send(PatternDestination pattern, Frame frame) {
      throw PatternKind.notForPublishing(pattern);
    }

    /** Refused even with no message, as the test broker always refused it. */
    @Override
    public CompletableFuture<Void> sendBatch(PatternDestination pattern, List<Frame> frames) {
      throw PatternKind.notForPublishing(pattern);
    }
  }

  /** A message on a channel; a pattern's subscribers get its named parts. */
  private final class Message extends MemoryInbound {
    private final String channel;
    private final PatternDestination pattern;

    Message(Reader reader, String channel, byte[] raw) {
      super(redis, reader.counted, raw);
      this.channel = channel;
      this.pattern = reader.pattern;
    }

    @Override
    public String channel() {
      return channel;
    }

    @Override
    public String serverId() {
      return null;
    }

    @Override
    public Map<String, String> pathParams() {
      return pattern == null ? Map.of() : pattern.match(channel);
    }
  }
}
