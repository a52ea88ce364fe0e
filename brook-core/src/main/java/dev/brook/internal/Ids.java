package dev.brook.internal;

import java.util.UUID;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Random version-4 UUIDs for correlation and message ids. They identify messages, they are not
 * secrets, so they come from {@link ThreadLocalRandom} rather than {@code UUID.randomUUID()}'s
 * SecureRandom, which costs microseconds and contends across threads on the publish path.
 */
public final class Ids {

  private Ids() {}

  public static String uuid() {
    ThreadLocalRandom r = ThreadLocalRandom.current();
    long msb = (r.nextLong() & ~0xF000L) | 0x4000L;
    long lsb = (r.nextLong() & ~(0x3L << 62)) | (0x2L << 62);
    return new UUID(msb, lsb).toString();
  }
}
