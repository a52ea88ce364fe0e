package dev.brook;

import java.lang.annotation.Documented;
import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/**
 * Marks a method as a handler; {@link Broker#include(Object)} (or {@link Router#include(Object)})
 * registers one subscription per marked method.
 *
 * <pre>{@code
 * class Orders {
 *   @Subscribe(channel = "orders")
 *   @Publish(channel = "receipts")
 *   Receipt onOrder(@Valid Order order, @Header("tenant") String tenant, Logger log) {
 *     log.info("order {} for {}", order.id(), tenant);   // MDC: destination, message_id
 *     return new Receipt(order.id());
 *   }
 *
 *   @Subscribe(stream = "events", group = "billing", ackPolicy = AckPolicy.NACK_ON_ERROR, concurrency = 4)
 *   void onEvent(Event event, MessageContext ctx) { ... }
 * }
 * }</pre>
 *
 * <p><b>Destination.</b> Exactly one of {@link #channel()}, {@link #pattern()}, {@link #list()} or
 * {@link #stream()}. {@link #group()} is for streams (a consumer group); {@link #consumer()} for
 * streams with a group and for lists. A router prefixes the name.
 *
 * <p><b>Parameters</b>, in any order: at most one payload (any parameter not listed next; decoded
 * into its full generic type, e.g. {@code List<Order>}, and validated when annotated {@code
 * @jakarta.validation.Valid}), {@link MessageContext}, {@link Header @Header}, {@link Path @Path},
 * and an {@code org.slf4j.Logger} (the declaring class's) during whose call the MDC holds {@code
 * destination} and {@code message_id}. Everything is resolved once at registration; a parameter
 * Brook cannot supply fails {@code include} with a message naming it.
 *
 * <p><b>Result.</b> A non-null return value is published to every {@link Publish @Publish}
 * destination and, when the message asks for a reply ({@code reply_to}), to the requester.
 *
 * <p><b>Identity.</b> The id is {@link #id()} or, by default, {@code ClassName#method} (the fully
 * qualified class name as text): including another instance of the same class, even a reloaded
 * one, replaces the subscriptions rather than adding more.
 */
@Documented
@Retention(RetentionPolicy.RUNTIME)
@Target(ElementType.METHOD)
public @interface Subscribe {

  /** A Pub/Sub channel name. */
  String channel() default "";

  /** A Pub/Sub pattern such as {@code logs.{level}}; its {@code {name}} parts are {@link Path @Path} values. */
  String pattern() default "";

  /** A Redis List used as a queue (reliable, at-least-once). */
  String list() default "";

  /** A Redis Stream; with {@link #group()} read as a consumer group. */
  String stream() default "";

  /** The consumer group of a {@link #stream()}. */
  String group() default "";

  /** The consumer name (streams with a group, lists); default: the process's default consumer name. */
  String consumer() default "";

  /** The subscription id; default {@code ClassName#method}. */
  String id() default "";

  /**
   * At most one policy; none means the router's or the broker's default, else {@link
   * AckPolicy#REJECT_ON_ERROR}. Write {@code ackPolicy = AckPolicy.ACK}.
   */
  AckPolicy[] ackPolicy() default {};

  /** Messages handled at once, each on its own virtual thread; default 1, which keeps the order. */
  int concurrency() default 1;

  /**
   * True: the method never answers a message's {@code reply_to} (FastStream's {@code no_reply=True});
   * its result still goes to its {@code @Publish} destinations. See {@link SubscriberBuilder#noReply()}.
   */
  boolean noReply() default false;

  /**
   * At most one {@link MessageParser} class (FastStream's {@code parser=}), made once with its
   * no-argument constructor when the object is included; none means the router's or the broker's.
   */
  Class<? extends MessageParser>[] parser() default {};

  /**
   * At most one {@link MessageDecoder} class (FastStream's {@code decoder=}), made once with its
   * no-argument constructor when the object is included; none means the router's or the broker's.
   */
  Class<? extends MessageDecoder>[] decoder() default {};
}
