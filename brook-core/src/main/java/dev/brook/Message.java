package dev.brook;

/**
 * One message with its payload decoded: what a pull subscription hands out and what a request gets
 * back when the caller wants the whole reply. Its {@link MessageContext} side gives the headers, ids
 * and origin, and — for a pulled message of an at-least-once destination — its settlement
 * ({@code ack}, {@code nack}, {@code reject}; each at most once, no-ops where there is nothing to
 * settle).
 *
 * <p>Unlike a handler's context a {@code Message} may be kept after the call that returned it; it is
 * safe to read from any thread.
 *
 * @param <T> the payload's type
 */
public interface Message<T> extends MessageContext {

  /** The payload, decoded into the type asked for. */
  T payload();
}
