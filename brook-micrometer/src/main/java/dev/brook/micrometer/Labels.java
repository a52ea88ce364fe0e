package dev.brook.micrometer;

import dev.brook.AckMessage;
import dev.brook.Destination;
import dev.brook.NackMessage;
import dev.brook.RejectMessage;
import dev.brook.SkipMessage;
import dev.brook.StopConsume;
import dev.brook.Subscription;
import dev.brook.redis.PatternDestination;
import dev.brook.redis.StreamDestination;

/** The label values both namings share: bounded by construction (templates, class names, fixed words). */
final class Labels {

  /** Micrometer's word for "no value" (as in {@code http.server.requests}'s {@code exception="none"}). */
  static final String NONE = "none";
  /** A request's reply: its channel is the requester's own, so its name would be unbounded. */
  static final String TEMPORARY = "(temporary)";

  /** The reply_to of the request this worker is handling: how a publish knows it is the reply. */
  private static final ThreadLocal<String> REPLYING_TO = new ThreadLocal<>();

  private Labels() {}

  /** The declared destination: for a pattern its template, never the concrete channel. */
  static String destination(Subscription s) {
    return s.destination() instanceof PatternDestination p ? p.template() : s.destination().name();
  }

  static String group(Subscription s) {
    return s.destination() instanceof StreamDestination d && d.groupName() != null ? d.groupName() : NONE;
  }

  static void handling(String replyTo) {
    if (replyTo != null) {
      REPLYING_TO.set(replyTo);
    }
  }

  /** A publish's destination label; a reply to the request being handled on this thread is {@link #TEMPORARY}. */
  static String sentTo(Destination d) {
    String replyTo = REPLYING_TO.get();
    if (replyTo != null && replyTo.equals(d.name())) {
      REPLYING_TO.remove();
      return TEMPORARY;
    }
    return d.name();
  }

  /** Signals that end a message as its handler meant: not failures. */
  static boolean success(Throwable t) {
    return t == null || t instanceof AckMessage || t instanceof SkipMessage || t instanceof StopConsume;
  }

  /**
   * The failure's class, for {@code error.type}: the first public class of its hierarchy, so that Brook's
   * internal decode failure reads as {@code dev.brook.RejectMessage} (what it is: a rejection).
   */
  static Class<?> errorClass(Throwable t) {
    Class<?> c = t.getClass();
    while (c.getPackageName().startsWith("dev.brook.") && c.getPackageName().contains(".internal")
        && c.getSuperclass() != null) {
      c = c.getSuperclass();
    }
    return c;
  }

  /** FastStream's processing status: acked, nacked, rejected, skipped or error. */
  static String status(Throwable t) {
    if (t == null || t instanceof AckMessage || t instanceof StopConsume) {
      return "acked";
    } else if (t instanceof NackMessage) {
      return "nacked";
    } else if (t instanceof RejectMessage) {
      return "rejected";
    } else if (t instanceof SkipMessage) {
      return "skipped";
    }
    return "error";
  }

  /** Whether FastStream would count it in {@code ..._exceptions_total}: not its control signals. */
  static boolean countsAsException(Throwable t) {
    if (t == null || t instanceof AckMessage || t instanceof NackMessage || t instanceof SkipMessage
        || t instanceof StopConsume) {
      return false;
    }
    // A handler's RejectMessage is a signal; Brook's own (an undecodable message) is a failure, as
    // FastStream's validation error is.
    return !(t instanceof RejectMessage) || errorClass(t) != t.getClass();
  }
}
