package dev.brook.internal;

import dev.brook.Message;
import dev.brook.PullSubscription;
import java.time.Duration;
import java.util.Objects;
import java.util.Spliterator;
import java.util.Spliterators;
import java.util.stream.Stream;
import java.util.stream.StreamSupport;

/**
 * A subscription whose handler is a {@link PullHandoff}: the same state machine, plus the calls
 * that take its messages. Its mailbox holds one message for at-least-once destinations, so Redis
 * keeps the backlog; its hand-off is woken before a stop drains (a message nobody took goes back)
 * and reset before a start.
 */
final class DefaultPullSubscription<T> extends DefaultSubscription implements PullSubscription<T> {

  private final PullHandoff handoff;

  DefaultPullSubscription(BrokerEngine engine, SubscriptionSpec spec, String registeredAt, Codec.Decoder decoder,
      PullHandoff handoff) {
    super(engine, spec, registeredAt, decoder);
    this.handoff = handoff;
    handoff.bind(this, super.mailboxCapacity());
  }

  @Override
  public Message<T> get(Duration timeout) {
    Objects.requireNonNull(timeout, "timeout");
    return handoff.get(timeout);
  }

  @Override
  public Iterable<Message<T>> messages(Duration idleTimeout) {
    return handoff.messages(idleTimeout);
  }

  @Override
  public Stream<Message<T>> stream(Duration idleTimeout) {
    return StreamSupport.stream(Spliterators.spliteratorUnknownSize(messages(idleTimeout).iterator(),
        Spliterator.ORDERED | Spliterator.NONNULL), false);
  }

  @Override
  int mailboxCapacity() {
    return destination().atLeastOnce() ? 1 : super.mailboxCapacity();
  }

  @Override
  void configure(Mailbox box) {
    if (destination().atLeastOnce()) {
      box.holdRoomWhileProcessing(); // the next message is fetched only when the caller is done with this one
    }
  }

  @Override
  void startInternal() {
    handoff.starting();
    super.startInternal();
  }

  @Override
  void beforeDrain() {
    handoff.stopping();
  }

  @Override
  void close(long deadlineNanos) {
    try {
      super.close(deadlineNanos);
    } finally {
      handoff.wake();
    }
  }

  @Override
  public String toString() {
    return "Pull" + super.toString();
  }

  /** Its handler (and so its consume loop) waits for callers of get/messages: waiting long is normal, not stuck. */
  @Override
  boolean mayLookStuck() {
    return false;
  }
}
