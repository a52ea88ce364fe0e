package dev.brook;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.function.BiFunction;

/**
 * Turns exceptions of handlers into replies or settlements, by exception type, so handlers need no
 * try/catch for expected failures.
 *
 * <pre>{@code
 * Middleware errors = ExceptionMiddleware.builder()
 *     .reply(IllegalArgumentException.class, (e, ctx) -> new Error("bad request: " + e.getMessage()))
 *     .nack(java.net.SocketTimeoutException.class)     // try again later
 *     .reject(IllegalStateException.class)             // to the dead letter, no ERROR line
 *     .ack(DuplicateOrderException.class)              // done, nothing to do
 *     .build();
 * broker.middleware(errors);
 * }</pre>
 *
 * <ul>
 *   <li>{@code reply}: the function's value is the message's result: published to the
 *       subscription's {@code publishTo} destinations and to the requester ({@code reply_to}); the
 *       message is then acknowledged as handled. A null value publishes nothing.
 *   <li>{@code ack}, {@code nack}, {@code reject}: the message is settled so, whatever the {@link
 *       AckPolicy}, and no ERROR line is logged (the access log shows the outcome); {@code reject}
 *       records the exception as the reason in the dead letter.
 * </ul>
 *
 * <p>The most specific mapping wins: an exception's own class, then its superclasses, so a
 * mapping for {@code RuntimeException} catches what no narrower one does. Unmapped exceptions, and
 * Brook's {@link AckMessage}, {@link NackMessage} and {@link RejectMessage}, pass through unchanged.
 * It handles what runs after it in the chain: register it on the broker to cover every handler and
 * middleware, or on a router or subscription for those. Replies to the broker's requests pass
 * through untouched: a failed request is thrown to its caller as it is. Immutable and thread-safe.
 */
public final class ExceptionMiddleware implements Middleware {

  private enum Action { REPLY, ACK, NACK, REJECT }

  private record Rule(Action action, BiFunction<Throwable, MessageContext, Object> reply) {}

  private final Map<Class<?>, Rule> rules;

  private ExceptionMiddleware(Map<Class<?>, Rule> rules) {
    this.rules = Map.copyOf(rules);
  }

  public static Builder builder() {
    return new Builder();
  }

  @Override
  public Object consume(ConsumeChain chain) throws Exception {
    if (chain.subscription() == null) {
      // The reply to one of the broker's requests: its failure is the requester's, not a message to settle.
      return chain.proceed();
    }
    try {
      return chain.proceed();
    } catch (AckMessage | NackMessage | RejectMessage signal) {
      throw signal;
    } catch (Exception | Error e) {
      Rule rule = ruleFor(e);
      if (rule == null) {
        throw e;
      }
      return switch (rule.action) {
        case REPLY -> rule.reply.apply(e, chain.context());
        case ACK -> throw new AckMessage();
        case NACK -> throw new NackMessage();
        case REJECT -> throw new RejectMessage(e.getClass().getName() + ": " + e.getMessage());
      };
    }
  }

  private Rule ruleFor(Throwable e) {
    for (Class<?> c = e.getClass(); c != null && c != Object.class; c = c.getSuperclass()) {
      Rule r = rules.get(c);
      if (r != null) {
        return r;
      }
    }
    return null;
  }

  /** Collects the mappings; each exception type may be mapped once. */
  public static final class Builder {
    private final Map<Class<?>, Rule> rules = new LinkedHashMap<>();

    private Builder() {}

    private Builder add(Class<? extends Throwable> type, Rule rule) {
      Objects.requireNonNull(type, "exception type");
      Rule previous = rules.putIfAbsent(type, rule);
      if (previous != null) {
        throw new IllegalStateException(type.getName() + " is already mapped to " + previous.action.name().toLowerCase()
            + "; map each exception type once.");
      }
      return this;
    }

    /** The message's result becomes {@code toReply}'s value (published, and sent to a requester). */
    @SuppressWarnings("unchecked")
    public <E extends Throwable> Builder reply(Class<E> type, BiFunction<? super E, MessageContext, ?> toReply) {
      Objects.requireNonNull(toReply, "toReply");
      return add(type, new Rule(Action.REPLY, (e, ctx) -> ((BiFunction<E, MessageContext, ?>) toReply).apply((E) e, ctx)));
    }

    /** Acknowledge: the message is done. */
    @SafeVarargs
    public final Builder ack(Class<? extends Throwable>... types) {
      for (Class<? extends Throwable> t : types) add(t, new Rule(Action.ACK, null));
      return this;
    }

    /** Nack: deliver the message again later (at-least-once destinations). */
    @SafeVarargs
    public final Builder nack(Class<? extends Throwable>... types) {
      for (Class<? extends Throwable> t : types) add(t, new Rule(Action.NACK, null));
      return this;
    }

    /** Reject: to the dead letter where there is one, else dropped. */
    @SafeVarargs
    public final Builder reject(Class<? extends Throwable>... types) {
      for (Class<? extends Throwable> t : types) add(t, new Rule(Action.REJECT, null));
      return this;
    }

    public ExceptionMiddleware build() {
      if (rules.isEmpty()) {
        throw new IllegalStateException("ExceptionMiddleware maps no exception; add reply(...), ack(...), nack(...) or reject(...).");
      }
      return new ExceptionMiddleware(rules);
    }
  }
}
