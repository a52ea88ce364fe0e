package dev.brook.internal;

import dev.brook.MessageContext;

/**
 * What an instrumentation link ({@link BrokerEngine#instrument}) reads about a message once Brook's
 * links are done with it; reached through {@code dev.brook.spi.Brokers}. Reads only: nothing here
 * costs a message anything unless instrumentation asks.
 */
public final class Instrumentation {

  private Instrumentation() {}

  /** "ack", "nack", "reject", "release", or null (not settled, or not a subscription's message). */
  public static String settlement(MessageContext ctx) {
    return ctx instanceof DefaultMessageContext c ? c.settlement() : null;
  }

  /** The exception the message failed with (handler, decoding, validation), or null. */
  public static Throwable failure(MessageContext ctx) {
    return ctx instanceof DefaultMessageContext c ? c.failure() : null;
  }
}
