package dev.brook.redis.internal.stream;

import dev.brook.Broker;
import dev.brook.redis.StreamDestination;
import dev.brook.spi.Frame;
import io.lettuce.core.codec.CRC16;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Which partition of a partitioned stream a message goes to: with a key (the header {@link
 * Broker#KEY_HEADER}) {@code crc16(utf8(key)) mod n}, CRC16-XMODEM as Redis Cluster computes key
 * slots (no hash-tag extraction; Python: {@code binascii.crc_hqx(key.encode(), 0) % n}), so it is the
 * same in every process and language; without one the next partition of a counter, round-robin.
 * Stateless apart from the caller's counter; thread-safe.
 */
public final class Partitions {

  private Partitions() {}

  /** The partition of a key among {@code n}. */
  public static int of(String key, int n) {
    return CRC16.crc16(key.getBytes(StandardCharsets.UTF_8)) % n;
  }

  /** The partition of this message: by its key, else the counter's next. */
  static int route(StreamDestination stream, Frame frame, AtomicInteger roundRobin) {
    int n = stream.partitionCount();
    String key = frame.header(Broker.KEY_HEADER);
    return key != null ? of(key, n) : Math.floorMod(roundRobin.getAndIncrement(), n);
  }

  /** The Redis key this message is added to: its partition's, or the stream's own. */
  static String target(StreamDestination stream, Frame frame, AtomicInteger roundRobin) {
    return stream.partitionCount() == 1 ? stream.name() : stream.partitionKey(route(stream, frame, roundRobin));
  }
}
