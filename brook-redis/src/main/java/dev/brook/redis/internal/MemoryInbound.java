package dev.brook.redis.internal;

import dev.brook.spi.Frame;
import dev.brook.spi.Inbound;
import java.util.Map;

/**
 * A message an in-memory model delivered: the value as Redis would hold it, unwrapped on the
 * worker as on Redis, and reported to its {@link MemoryRedis} once processed. Settlement goes to
 * {@link #settle}, which the at-least-once kinds override; at-most-once messages have nothing to
 * settle.
 */
public abstract class MemoryInbound implements Inbound {

  /** How a subscription settled a delivered message. */
  public enum Outcome { ACK, NACK, REJECT, RELEASE }

  private final MemoryRedis redis;
  private final boolean counted;
  private final byte[] raw;
  private Frame frame;
  private boolean done;

  /** @param counted whether the message counts in flight until processed (replies do not) */
  protected MemoryInbound(MemoryRedis redis, boolean counted, byte[] raw) {
    this.redis = redis;
    this.counted = counted;
    this.raw = raw;
  }

  /** The value as Redis would hold it (the envelope). */
  public final byte[] raw() {
    return raw;
  }

  final boolean counted() {
    return counted;
  }

  @Override
  public Frame frame() {
    if (frame == null) {
      frame = Envelope.decode(raw);
    }
    return frame;
  }

  @Override
  public Map<String, String> pathParams() {
    return Map.of();
  }

  /** Settles the message in its model; nothing to do by default (at-most-once). */
  protected void settle(Outcome outcome, String reason) {}

  @Override
  public final void ack() {
    settle(Outcome.ACK, null);
  }

  @Override
  public final void nack(String reason) {
    settle(Outcome.NACK, reason);
  }

  /** The retry back-off a subscription asked for with its nack, or -1 (see {@link #nackDelayMillis}). */
  private volatile long nackDelayMillis = -1;

  @Override
  public final void nack(String reason, java.time.Duration delay) {
    nackDelayMillis = Math.max(0, delay.toMillis());
    settle(Outcome.NACK, reason);
  }

  /** The back-off of this nack: the subscription's ({@code retry}), else {@code otherwise}. */
  public final long nackDelayMillis(long otherwise) {
    long d = nackDelayMillis;
    return d >= 0 ? d : otherwise;
  }

  @Override
  public final void reject(String reason, Throwable error) {
    settle(Outcome.REJECT, reason);
  }

  @Override
  public final void release() {
    settle(Outcome.RELEASE, null);
  }

  @Override
  public final void processed(Throwable failure) {
    boolean again;
    synchronized (this) {
      if (!counted) {
        return;
      }
      again = done;
      done = true;
    }
    if (again) {
      // A pull subscription said so early (the message waited for a caller); now it is really done,
      // and the room it held lets waiting messages go to their consumers.
      redis.pumpNow();
    } else {
      redis.processed(failure);
    }
  }
}
