package dev.brook.internal;

import dev.brook.AckMessage;
import dev.brook.Backoff;
import dev.brook.Middleware;
import dev.brook.NackMessage;
import dev.brook.RejectMessage;
import dev.brook.SkipMessage;
import dev.brook.StopConsume;

/**
 * {@code retry(backoff)}: around the handler (outside a {@link HandlerTimeout}), a failure nacks the
 * message with the back-off of its attempt ({@link DefaultMessageContext#retry}) and goes on to
 * {@code Settle}, which logs and counts it as any failure and finds the message settled. Signals
 * (ack, nack, reject, skip, stop) and bad input pass untouched; so does an interrupt of a stop,
 * which gives the message back.
 */
final class RetryLink implements Middleware {

  private final Backoff backoff;

  RetryLink(Backoff backoff) {
    this.backoff = backoff;
  }

  @Override
  public Object consume(ConsumeChain chain) throws Exception {
    try {
      return chain.proceed();
    } catch (AckMessage | NackMessage | RejectMessage | SkipMessage | StopConsume signal) {
      throw signal;
    } catch (Exception | Error e) {
      if (chain.context() instanceof DefaultMessageContext ctx) {
        ctx.retry(e, backoff);
      }
      throw e;
    }
  }
}
