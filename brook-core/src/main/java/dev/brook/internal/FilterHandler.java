package dev.brook.internal;

import com.fasterxml.jackson.core.JsonProcessingException;
import dev.brook.BrookException;
import dev.brook.Handler;
import dev.brook.MessageContext;
import dev.brook.SkipMessage;
import java.lang.reflect.Type;
import java.util.List;
import java.util.function.Predicate;

/**
 * The handler of a subscription with filters: tries each filter in order (its predicate on the
 * context, then decoding into its type) and calls the handler of the first that takes the message.
 * The subscription decodes into {@code byte[]} (no work); each filter decodes the frame itself.
 * Immutable apart from the decoders, resolved once from the engine's codec (a benign race).
 */
final class FilterHandler implements Handler<Object> {

  /** One filter: when it applies, the type it decodes into, its handler. */
  record Filter(Predicate<? super MessageContext> when, Type type, Handler<Object> handler) {}

  private final Filter[] filters;
  private volatile Codec.Decoder[] decoders;

  FilterHandler(List<Filter> filters) {
    this.filters = filters.toArray(new Filter[0]);
  }

  @Override
  public Object handle(Object bytes, MessageContext context) throws Exception {
    DefaultMessageContext ctx = (DefaultMessageContext) context;
    ConsumePipeline p = ctx.pipeline();
    Codec.Decoder[] d = decoders(p);
    BadInput undecodable = null;
    for (int i = 0; i < filters.length; i++) {
      Filter f = filters[i];
      boolean takes;
      try {
        takes = f.when().test(ctx);
      } catch (RuntimeException | Error e) {
        // A failure of the handler, settled by the policy; the note names the filter whose
        // predicate threw (the stack trace alone shows only a lambda).
        e.addSuppressed(new BrookException("thrown by the predicate of filter " + (i + 1) + " of subscription '"
            + p.id + "'"));
        throw e;
      }
      if (!takes) {
        continue;
      }
      Object payload;
      try {
        payload = d[i].decode(ctx.frame());
      } catch (Exception e) {
        if (undecodable == null) {
          String why = e instanceof JsonProcessingException j ? j.getOriginalMessage()
              : e.getMessage() != null ? e.getMessage() : e.toString();
          String type = f.type().getTypeName();
          undecodable = new BadInput("Cannot decode", " into " + type + " (filter " + (i + 1) + "): " + why,
              "cannot decode into " + type + ": " + why, e);
        }
        continue;
      }
      return f.handler().handle(payload, ctx);
    }
    if (undecodable != null) {
      throw undecodable;
    }
    // No filter takes it, and no handler will ever settle it: acknowledged, counted, skipped.
    ctx.ack();
    p.counters.dropped.increment();
    if (ConsumePipeline.LOG.isDebugEnabled()) {
      ConsumePipeline.LOG.debug("Subscription '{}': no filter took message {} from {}; acknowledged, counted in "
          + "metrics().dropped().", p.id, LogText.escape(ctx.messageId()), LogText.escape(ctx.channel()));
    }
    throw new SkipMessage();
  }

  private Codec.Decoder[] decoders(ConsumePipeline p) {
    Codec.Decoder[] d = decoders;
    if (d == null) {
      d = new Codec.Decoder[filters.length];
      for (int i = 0; i < filters.length; i++) {
        d[i] = p.engine.codec().decoderFor(filters[i].type());
      }
      decoders = d;
    }
    return d;
  }
}
