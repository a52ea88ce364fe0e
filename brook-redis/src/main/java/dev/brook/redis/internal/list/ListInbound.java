package dev.brook.redis.internal.list;

import dev.brook.spi.Frame;
import dev.brook.spi.Inbound;
import dev.brook.redis.internal.Envelope;
import java.util.Map;

/**
 * An item taken from a List. For a reliable list it sits in this consumer's processing list until
 * settled: ack removes it there; release puts it back at the head of the queue untouched; nack does
 * so after a back-off with one more delivery counted in the item ({@link ListDeliveries}), or
 * dead-letters it once deliveries run out; reject moves it to the dead letter (or drops it).
 */
final class ListInbound implements Inbound {

  private final ListConsumer owner;
  private final byte[] raw;
  private Frame frame;
  private long deliveryCount;
  /**
   * {@code concurrencyPerKey}: the slot this message holds ({@code <max>\n<member>\n<key>}, appended
   * to its settlement so the script releases it), and its key and member for renewals; null when it
   * holds none. Set by the loop thread before the message is handed out.
   */
  byte[] slotSpec;
  byte[] slotKey;
  byte[] slotMember;
  /**
   * {@code rateLimitPerKey}: the key whose token this message took (admitted or promoted), so that a
   * stop gives it back ahead of its key's parked messages; null otherwise. Loop thread, before the
   * message is handed out.
   */
  byte[] rateKey;

  ListInbound(ListConsumer owner, byte[] raw) {
    this.owner = owner;
    this.raw = raw;
  }

  @Override
  public byte[] raw() {
    return raw;
  }

  @Override
  public String channel() {
    return owner.listName();
  }

  @Override
  public String serverId() {
    return null;
  }

  @Override
  public Frame frame() {
    if (frame == null) {
      frame = unreadable() != null ? Frame.EMPTY : Envelope.decode(raw);
    }
    return frame;
  }

  @Override
  public String unreadable() {
    return Envelope.tooLarge(raw.length, owner.maxMessageSize());
  }

  /** What a dead letter keeps: the unwrapped message, or the raw value of one too large to unwrap. */
  Frame deadLetterFrame() {
    return unreadable() != null ? new Frame(Map.of(), raw) : frame();
  }

  /** One more than the deliveries the item's {@code x-deliveries} header counts. */
  @Override
  public long deliveryCount() {
    if (deliveryCount == 0) {
      deliveryCount = ListDeliveries.deliveryCount(frame());
    }
    return deliveryCount;
  }

  @Override
  public Map<String, String> pathParams() {
    return Map.of();
  }

  @Override
  public boolean atLeastOnce() {
    return owner.reliable();
  }

  @Override
  public void ack() {
    owner.ack(this);
  }

  @Override
  public void ackAll(java.util.List<? extends Inbound> batch) {
    owner.ackAll(batch);
  }

  @Override
  public void nack(String reason) {
    owner.nack(this, reason, null);
  }

  @Override
  public void nack(String reason, java.time.Duration delay) {
    owner.nack(this, reason, delay);
  }

  @Override
  public void reject(String reason, Throwable error) {
    owner.reject(this, reason);
  }

  @Override
  public void release() {
    owner.release(this);
  }

  @Override
  public void releaseAll(java.util.List<? extends Inbound> messages) {
    owner.releaseAll(messages);
  }
}
