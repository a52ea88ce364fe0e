package dev.brook.console;

import dev.brook.redis.internal.DeadLetter;
import dev.brook.redis.internal.Envelope;
import dev.brook.spi.Frame;
import io.lettuce.core.Range;
import io.lettuce.core.StreamMessage;
import io.lettuce.core.api.sync.RedisCommands;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Dead letters read and changed straight in Redis, in the format Brook writes them: a List's at
 * {@code {q}:dlq} (a list of envelopes), a Stream's at {@code {s}:dlq} (a stream whose entries hold
 * the envelope in {@code __data__}); the reason is in the envelope's {@code x-error} header. The one
 * place to switch to {@code broker.deadLetters(destination)} once that API exists. A list's dead
 * letter is named by its index, a stream's by its entry id.
 */
final class DeadLetters {

  static final String DATA = "__data__";

  /** One dead letter: its id, the decoded envelope and the raw value. */
  record Entry(String id, Frame frame, byte[] raw) {}

  private final RedisCommands<byte[], byte[]> redis;

  DeadLetters(RedisCommands<byte[], byte[]> redis) {
    this.redis = redis;
  }

  static String key(String destination) {
    return dev.brook.redis.internal.Keys.derived(destination, "dlq");
  }

  long count(String kind, String destination) {
    byte[] k = bytes(key(destination));
    return "stream".equals(kind) ? redis.xlen(k) : redis.llen(k);
  }

  List<Entry> list(String kind, String destination, int limit) {
    byte[] k = bytes(key(destination));
    List<Entry> out = new ArrayList<>();
    if ("stream".equals(kind)) {
      for (StreamMessage<byte[], byte[]> m : redis.xrange(k, Range.create("-", "+"), io.lettuce.core.Limit.from(limit))) {
        byte[] raw = data(m.getBody());
        out.add(new Entry(m.getId(), Envelope.decode(raw), raw));
      }
    } else {
      List<byte[]> items = redis.lrange(k, 0, limit - 1);
      for (int i = 0; i < items.size(); i++) {
        out.add(new Entry(Integer.toString(i), Envelope.decode(items.get(i)), items.get(i)));
      }
    }
    return out;
  }

  private static byte[] data(Map<byte[], byte[]> body) {
    for (Map.Entry<byte[], byte[]> e : body.entrySet()) {
      if (DATA.equals(new String(e.getKey(), StandardCharsets.UTF_8))) {
        return e.getValue();
      }
    }
    return body.isEmpty() ? new byte[0] : body.values().iterator().next();
  }

  /**
   * Publishes the dead letters back to their destination (without Brook's dead-letter headers) and
   * removes them: the one named by {@code id}, or all (those whose header {@code header} equals
   * {@code value}, when given). Returns how many.
   */
  int replay(String kind, String destination, String id, String header, String value) {
    int n = 0;
    for (Entry e : select(kind, destination, id, header, value)) {
      Map<String, String> headers = new LinkedHashMap<>(e.frame().headers());
      for (String h : List.of(DeadLetter.ERROR, DeadLetter.ORIGINAL, DeadLetter.ORIGINAL_ID, DeadLetter.GROUP,
          DeadLetter.DELIVERIES)) {
        headers.remove(h);
      }
      byte[] again = Envelope.encode(headers, e.frame().payload());
      // Publish first, then remove: a crash between them leaves a duplicate, never a loss.
      if ("stream".equals(kind)) {
        redis.xadd(bytes(destination), Map.of(bytes(DATA), again));
      } else {
        redis.rpush(bytes(destination), again);
      }
      remove(kind, destination, e);
      n++;
    }
    return n;
  }

  /** Deletes one dead letter; false when it is gone. */
  boolean delete(String kind, String destination, String id) {
    List<Entry> found = select(kind, destination, id, null, null);
    found.forEach(e -> remove(kind, destination, e));
    return !found.isEmpty();
  }

  /** Deletes every dead letter of the destination; returns how many there were. */
  long purge(String kind, String destination) {
    long n = count(kind, destination);
    redis.del(bytes(key(destination)));
    return n;
  }

  private List<Entry> select(String kind, String destination, String id, String header, String value) {
    List<Entry> all = list(kind, destination, 100_000);
    List<Entry> out = new ArrayList<>();
    for (Entry e : all) {
      if (id != null && !id.equals(e.id())) {
        continue;
      }
      if (header != null && !header.isEmpty() && !java.util.Objects.equals(e.frame().headers().get(header), value)) {
        continue;
      }
      out.add(e);
    }
    return out;
  }

  private void remove(String kind, String destination, Entry e) {
    byte[] k = bytes(key(destination));
    if ("stream".equals(kind)) {
      redis.xdel(k, e.id());
    } else {
      redis.lrem(k, 1, e.raw());
    }
  }

  private static byte[] bytes(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }
}
