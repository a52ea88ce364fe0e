package dev.brook.redis.internal;

import io.lettuce.core.Limit;
import io.lettuce.core.Range;
import io.lettuce.core.ScriptOutputType;
import io.lettuce.core.StreamMessage;
import io.lettuce.core.cluster.api.sync.RedisClusterCommands;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Dead letters in Redis: the list {@code {jobs}:dlq} or the stream {@code {events}:dlq}. A replay is
 * one Lua script (the dead letter shares the destination's hash tag), so a message is never both
 * replayed and still dead. Calls on the broker's command connection; thread-safe.
 */
public final class RedisDeadLetterStore implements DeadLetterStore {

  static final String DATA_FIELD = "__data__";

  /** KEYS[1] dlq list, KEYS[2] queue; ARGV[1] stored value, ARGV[2] value to push: 1 when it was still there. */
  private static final Script LIST_REPLAY = new Script("""
      if redis.call('LREM', KEYS[1], 1, ARGV[1]) == 1 then
        redis.call('RPUSH', KEYS[2], ARGV[2])
        return 1
      end
      return 0
      """);

  /** KEYS[1] dlq stream, KEYS[2] stream; ARGV[1] dlq entry id, ARGV[2] envelope: 1 when it was still there. */
  private static final Script STREAM_REPLAY = new Script("""
      if redis.call('XDEL', KEYS[1], ARGV[1]) == 1 then
        redis.call('XADD', KEYS[2], '*', 'DATA', ARGV[2])
        return 1
      end
      return 0
      """.replace("DATA", DATA_FIELD));

  private final RedisClusterCommands<byte[], byte[]> redis;
  private final boolean stream;
  private final byte[] queue;
  private final byte[] dlq;

  public RedisDeadLetterStore(RedisClusterCommands<byte[], byte[]> redis, boolean stream, String queue, String dlq) {
    this.redis = redis;
    this.stream = stream;
    this.queue = queue.getBytes(StandardCharsets.UTF_8);
    this.dlq = dlq.getBytes(StandardCharsets.UTF_8);
  }

  @Override
  public long count() {
    return stream ? redis.xlen(dlq) : redis.llen(dlq);
  }

  @Override
  public List<Stored> read(int max) {
    List<Stored> out = new ArrayList<>();
    if (stream) {
      for (StreamMessage<byte[], byte[]> m : redis.xrange(dlq, Range.create("-", "+"), Limit.from(max))) {
        out.add(new Stored(m.getId(), value(m)));
      }
    } else {
      for (byte[] raw : redis.lrange(dlq, 0, max == Integer.MAX_VALUE ? -1 : max - 1)) {
        out.add(new Stored(null, raw));
      }
    }
    return out;
  }

  @Override
  public Stored find(String streamId) {
    List<StreamMessage<byte[], byte[]>> found = redis.xrange(dlq, Range.create(streamId, streamId));
    return found.isEmpty() ? null : new Stored(streamId, value(found.getFirst()));
  }

  private static byte[] value(StreamMessage<byte[], byte[]> m) {
    for (Map.Entry<byte[], byte[]> f : m.getBody().entrySet()) {
      if (new String(f.getKey(), StandardCharsets.UTF_8).equals(DATA_FIELD)) {
        return f.getValue();
      }
    }
    return new byte[0];
  }

  @Override
  public boolean replay(Stored dead, byte[] revived) {
    Long done = stream
        ? STREAM_REPLAY.call(redis, ScriptOutputType.INTEGER, new byte[][] {dlq, queue},
            dead.streamId().getBytes(StandardCharsets.US_ASCII), revived)
        : LIST_REPLAY.call(redis, ScriptOutputType.INTEGER, new byte[][] {dlq, queue}, dead.raw(), revived);
    return done != null && done == 1L;
  }

  @Override
  public boolean delete(Stored dead) {
    return stream ? redis.xdel(dlq, dead.streamId()) == 1L : redis.lrem(dlq, 1, dead.raw()) == 1L;
  }

  /** KEYS[1] the dead letters: their count and their deletion in one step. */
  private static final Script PURGE = new Script("""
      local t = redis.call('TYPE', KEYS[1])['ok']
      local n = 0
      if t == 'list' then n = redis.call('LLEN', KEYS[1]) elseif t == 'stream' then n = redis.call('XLEN', KEYS[1]) end
      redis.call('DEL', KEYS[1])
      return n
      """);

  @Override
  public long purge() {
    Long n = PURGE.call(redis, ScriptOutputType.INTEGER, new byte[][] {dlq});
    return n == null ? 0 : n;
  }
}
