package dev.brook.redis.internal.list;

import dev.brook.spi.Frame;
import dev.brook.redis.ListDestination;
import dev.brook.redis.internal.Backoffs;
import dev.brook.redis.internal.Envelope;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * How a reliable List counts deliveries, which Redis does not do for lists: a nacked item goes back
 * to the queue re-encoded with {@link ListDestination#DELIVERIES_HEADER} (deliveries so far), after
 * a back-off that doubles with each delivery. Shared by {@code ListConsumer} and the in-memory test
 * transport, so both count, wait and word the dead letter alike.
 */
public final class ListDeliveries {

  private ListDeliveries() {}

  /** The error of the last failed delivery of a retried item. */
  public static final String LAST_ERROR_HEADER = "x-last-error";

  /** This delivery's number: one more than the item's header says (1 without the header, or an unreadable one). */
  public static long deliveryCount(Frame frame) {
    String v = frame.header(ListDestination.DELIVERIES_HEADER);
    if (v == null) {
      return 1;
    }
    try {
      long n = Long.parseLong(v.trim());
      return n < 0 || n == Long.MAX_VALUE ? 1 : n + 1;
    } catch (NumberFormatException e) {
      return 1;
    }
  }

  /** How long an item nacked on its {@code delivery}-th delivery waits before it goes back: 100 ms doubling, at most 10 s. */
  public static long backoffMillis(long delivery) {
    return Backoffs.LIST_NACK.createDelay(delivery).toMillis();
  }

  /** The value that goes back to the queue after the {@code deliveries}-th delivery was nacked. */
  public static byte[] requeued(Frame frame, long deliveries) {
    return requeued(frame, deliveries, null);
  }

  /** {@link #requeued(Frame, long)} with the error of the failed delivery in {@code x-last-error} (when not null). */
  public static byte[] requeued(Frame frame, long deliveries, String lastError) {
    Map<String, String> headers = new LinkedHashMap<>(frame.headers());
    headers.put(ListDestination.DELIVERIES_HEADER, Long.toString(deliveries));
    if (lastError != null) {
      headers.put(LAST_ERROR_HEADER, lastError.length() > 1000 ? lastError.substring(0, 1000) : lastError);
    }
    return Envelope.encode(headers, frame.payload());
  }

  /**
   * {@link #requeued(Frame, long, String)}, but no larger than {@code maxSize} when the frame itself
   * fits: Brook's own headers must not turn a readable message into one "too large" to read at its
   * next delivery (a dead letter for no fault of the message). The error is shortened (by at least
   * the excess: each char is at least one byte), then left out; null when even the delivery count
   * alone does not fit, which the caller dead-letters with the reason.
   */
  public static byte[] requeuedWithin(Frame frame, long deliveries, String lastError, int maxSize) {
    byte[] again = requeued(frame, deliveries, lastError);
    if (again.length <= maxSize) {
      return again;
    }
    String error = lastError != null && lastError.length() > 1000 ? lastError.substring(0, 1000) : lastError;
    if (error != null && error.length() > again.length - maxSize) {
      again = requeued(frame, deliveries, error.substring(0, error.length() - (again.length - maxSize)));
      if (again.length <= maxSize) {
        return again;
      }
    }
    Map<String, String> headers = new LinkedHashMap<>(frame.headers());
    headers.remove(LAST_ERROR_HEADER);
    again = requeued(new Frame(headers, frame.payload()), deliveries, null);
    return again.length <= maxSize ? again : null;
  }

  /** The frame a dead letter keeps: without the running count (it carries {@code x-delivery-count}). */
  public static Frame withoutCount(Frame frame) {
    if (frame.header(ListDestination.DELIVERIES_HEADER) == null) {
      return frame;
    }
    Map<String, String> headers = new LinkedHashMap<>(frame.headers());
    headers.remove(ListDestination.DELIVERIES_HEADER);
    return new Frame(headers, frame.payload());
  }

  /** The {@code x-error} of an item whose last allowed delivery was nacked. */
  public static String exhausted(long deliveries, int maxDeliveries, String lastError) {
    return "nacked " + deliveries + (deliveries == 1 ? " time" : " times") + " (maxDeliveries " + maxDeliveries + ")"
        + (lastError != null ? "; last error: " + lastError : "");
  }
}
