package dev.brook.redis.internal.jobs;

import dev.brook.redis.internal.Script;
import dev.brook.spi.Frame;
import io.lettuce.core.ScriptOutputType;
import io.lettuce.core.cluster.api.sync.RedisClusterCommands;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Set;
import java.util.function.Function;

/**
 * Idempotent subscriptions ({@code .idempotent(ttl)}), the read side shared by Lists and Streams:
 * which messages of a read carry a {@code message_id} their destination's done set ({@code
 * {jobs}:done}, id → expiry in ms on Redis' clock) holds unexpired. Recording an id happens in each
 * kind's settle script, with the ack. Stateless; called on the consume loop's thread.
 */
public final class Idempotency {

  /** The header idempotency goes by. */
  public static final String MESSAGE_ID = "message_id";

  /** KEYS[1] the done set; ARGV the ids. Returns 1/0 per id: completed within its window or not. */
  static final Script DONE = new Script("""
      local t = redis.call('TIME')
      local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
      local out = {}
      for i = 1, #ARGV do
        local e = redis.call('ZSCORE', KEYS[1], ARGV[i])
        out[i] = (e and tonumber(e) > now) and 1 or 0
      end
      return out""");

  private Idempotency() {}

  /**
   * The messages, by identity, whose id was completed within the window: one script call, none
   * when no message has an id.
   */
  public static <T> Set<T> completed(RedisClusterCommands<byte[], byte[]> redis, byte[] doneKey, List<T> messages,
      Function<T, Frame> frame) {
    List<T> withId = new ArrayList<>();
    List<byte[]> ids = new ArrayList<>();
    for (T m : messages) {
      String id = frame.apply(m).headers().get(MESSAGE_ID);
      if (id != null) {
        withId.add(m);
        ids.add(id.getBytes(StandardCharsets.UTF_8));
      }
    }
    Set<T> done = Collections.newSetFromMap(new IdentityHashMap<>());
    if (ids.isEmpty()) {
      return done;
    }
    List<Long> answers = DONE.call(redis, ScriptOutputType.MULTI, new byte[][] {doneKey}, ids.toArray(new byte[0][]));
    for (int i = 0; i < withId.size(); i++) {
      if (answers.get(i) == 1L) {
        done.add(withId.get(i));
      }
    }
    return done;
  }
}
