package dev.brook.internal;

import dev.brook.MessageContext;
import dev.brook.Middleware;
import dev.brook.Subscription;

/**
 * One position in the consume chain, as {@link PublishStep} is in the publish scope (OkHttp's
 * {@code RealInterceptorChain}): an index into the subscription's immutable array of links —
 * Brook's own ({@link ConsumeLinks}), then the broker's, the router's and the subscription's
 * middlewares. {@link #proceed(Object)} hands the link at {@code index} a new step for {@code
 * index + 1}, and past the last link calls the handler. Immutable, so a link may proceed twice (a
 * retry) and sees its own payload again afterwards.
 *
 * <p>One step per link and message: a small object that lives as long as the link's call
 * (docs/benchmarks.md, "consume chain", has its cost). Threads: the message's worker, or whichever
 * thread a middleware proceeds on while its call waits.
 */
final class ConsumeStep implements Middleware.ConsumeChain {

  private final Middleware[] links;
  private final int index;
  private final DefaultMessageContext message;
  private final Object payload;

  private ConsumeStep(Middleware[] links, int index, DefaultMessageContext message, Object payload) {
    this.links = links;
    this.index = index;
    this.message = message;
    this.payload = payload;
  }

  /** Runs {@code message} through {@code links}, then the handler, starting with {@code payload}. */
  static Object run(Middleware[] links, DefaultMessageContext message, Object payload) throws Exception {
    if (links.length == 0) {
      return message.handle(payload);
    }
    return links[0].consume(new ConsumeStep(links, 1, message, payload));
  }

  /** The message this chain runs for: what Brook's own links read and settle. */
  DefaultMessageContext message() {
    return message;
  }

  @Override
  public Object payload() {
    return payload;
  }

  @Override
  public MessageContext context() {
    return message;
  }

  @Override
  public Subscription subscription() {
    return message.subscription();
  }

  @Override
  public Object proceed() throws Exception {
    return proceed(payload);
  }

  @Override
  public Object proceed(Object next) throws Exception {
    if (index >= links.length) {
      return message.handle(next);
    }
    return links[index].consume(new ConsumeStep(links, index + 1, message, next));
  }
}
