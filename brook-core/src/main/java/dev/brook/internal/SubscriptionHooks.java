package dev.brook.internal;

import dev.brook.AckPolicy;
import dev.brook.MessageDecoder;
import dev.brook.MessageParser;

/**
 * What a subscription may take from the router it is declared on, nearest first: the parser and
 * decoder (its own, else the innermost router's that sets one) and the routers' default ack
 * policy (the subscription's own {@code ackPolicy} is kept apart, since only an explicit one warns
 * on a destination with nothing to acknowledge). Null fields are unset; the broker's defaults
 * apply to what is still unset at registration. Immutable.
 */
record SubscriptionHooks(AckPolicy ackPolicy, MessageParser parser, MessageDecoder decoder) {

  static final SubscriptionHooks NONE = new SubscriptionHooks(null, null, null);

  static SubscriptionHooks of(AckPolicy ackPolicy, MessageParser parser, MessageDecoder decoder) {
    return ackPolicy == null && parser == null && decoder == null ? NONE
        : new SubscriptionHooks(ackPolicy, parser, decoder);
  }

  /** These, with what they leave unset taken from {@code outer}. */
  SubscriptionHooks orElse(SubscriptionHooks outer) {
    if (outer == NONE || outer == null) {
      return this;
    }
    return of(ackPolicy != null ? ackPolicy : outer.ackPolicy, parser != null ? parser : outer.parser,
        decoder != null ? decoder : outer.decoder);
  }
}
