package dev.brook;

import java.util.concurrent.CompletableFuture;

/**
 * Code that runs around every message a subscription handles (the consume scope) and every
 * message Brook sends (the publish scope), in the style of OkHttp's interceptors and FastStream's
 * middlewares. Override either method, or both; the defaults just proceed.
 *
 * <pre>{@code
 * Middleware timing = new Middleware() {
 *   @Override
 *   public Object consume(ConsumeChain chain) throws Exception {
 *     long start = System.nanoTime();
 *     try {
 *       return chain.proceed();                       // the next middleware, at the end the handler
 *     } finally {
 *       metrics.record(chain.context().destination(), System.nanoTime() - start);
 *     }
 *   }
 *
 *   @Override
 *   public CompletableFuture<Void> publish(PublishChain chain) {
 *     return chain.proceed(chain.command().withHeader("x-sent-by", "billing"));
 *   }
 * };
 * }</pre>
 *
 * <p><b>Where they run.</b> Middlewares are registered on the broker ({@code
 * RedisBroker.builder().middleware(...)} or {@code broker.middleware(...)}), on a {@link Router}
 * and on one subscription ({@link SubscriberBuilder#middleware}). For a message the order is
 * always broker → router (outer router first) → subscription → handler; each sees the result or
 * the exception of everything after it. Publishing a handler's result goes through the same list
 * in the same order; {@code broker.publish} and broker publishers through the broker's
 * middlewares, a router's publishers through the broker's and the router's.
 *
 * <p><b>Replies.</b> The middlewares a request went out through — the broker's, and for a
 * router's publisher the router's too — also run the consume scope on its reply, on the thread that hands it to the
 * caller: {@link ConsumeChain#payload()} is the decoded reply, {@link ConsumeChain#context()} its
 * headers, {@link ConsumeChain#subscription()} null, and what the chain returns is what the caller
 * gets (of the type it asked for); an error reply is thrown by {@code proceed()}.
 *
 * <p><b>What runs before.</b> Brook's own steps are links of the same chain, outside the user's:
 * the access log, settlement (ack, nack, reject by the {@link AckPolicy}), publishing the result,
 * decoding and validation. So {@link ConsumeChain#payload()} is already decoded (and validated);
 * a message that cannot be parsed or decoded still passes the middlewares, with a null payload,
 * and {@code proceed()} throws its failure (a {@link RejectMessage}, which rejects it) instead of
 * calling the handler, so they see it as they see a handler's exception;
 * a value a middleware returns instead of calling {@code proceed()} is published like a handler's
 * result; an exception it throws is settled like a handler's, and it may throw {@link
 * AckMessage}, {@link NackMessage} or {@link RejectMessage}.
 *
 * <p><b>Contract.</b> One middleware object serves every message of every subscription it is
 * registered on, concurrently: keep it thread-safe and stateless or synchronized. {@code consume}
 * runs on the message's worker (a virtual thread; blocking is allowed but delays the message),
 * {@code publish} on the publishing thread: keep it quick, it must not block. {@code proceed} may
 * be called more than once (a retry) and must be called from within the call, not after it returned.
 */
public interface Middleware {

  /**
   * Around one message (or one batch). Return {@code chain.proceed()} to go on; return something
   * else without proceeding to short-circuit (the handler is not called and the value is published
   * as its result; {@code null} publishes nothing); throw to fail the message.
   */
  default Object consume(ConsumeChain chain) throws Exception {
    return chain.proceed();
  }

  /**
   * Around one outgoing message. Call {@code chain.proceed(command)} with the command as it is or
   * changed ({@link PublishCommand#withHeader}, {@link PublishCommand#withPayload}), and return its
   * future; return a failed future (or throw) to stop the message. For {@code publishBatch} each
   * item passes on its own and the future completes when the item joined the batch.
   */
  default CompletableFuture<Void> publish(PublishChain chain) {
    return chain.proceed(chain.command());
  }

  /** One message's way through the consume scope. Valid during the {@code consume} call only. */
  interface ConsumeChain {

    /** The decoded payload (a {@code List} for a batch subscription), as the next link will see it. */
    Object payload();

    /** The message's headers, ids, destination and settlement. */
    MessageContext context();

    /**
     * The subscription handling the message; null when the message is the reply to one of the
     * broker's requests (the middlewares a request went out through run on its reply, as FastStream's do).
     */
    Subscription subscription();

    /** Calls the rest of the chain, at its end the handler, and returns the handler's result. */
    Object proceed() throws Exception;

    /** Calls the rest of the chain with another payload (of the type the handler declares). */
    Object proceed(Object payload) throws Exception;
  }

  /** One outgoing message's way through the publish scope. */
  interface PublishChain {

    /** What is about to be sent. */
    PublishCommand command();

    /** Hands the command to the rest of the chain, at its end the transport. */
    CompletableFuture<Void> proceed(PublishCommand command);
  }
}
