package dev.brook;

/**
 * Thrown by {@link Broker#request} (and completes the future of {@link Broker#requestAsync}) when
 * the Brook subscriber that took the request failed on it: its handler threw, the payload could not
 * be decoded or failed validation, or the handler rejected it. The subscriber says so at once in
 * its reply, so the requester does not wait out its timeout.
 *
 * <p>Only Brook subscribers send such replies, and only to requesters that ask for them (Brook's
 * requests carry a header that does): a FastStream subscriber sends nothing when its handler
 * fails, and the request then times out ({@link RequestTimeoutException}). The exception's class
 * and message are the subscriber's, as text; its stack trace is in the subscriber's log, not here.
 */
public final class RemoteHandlerException extends BrookException {

  private final String destination;
  private final String correlationId;
  private final String errorType;
  private final String errorMessage;

  public RemoteHandlerException(String destination, String correlationId, String errorType, String errorMessage) {
    super("The request " + correlationId + " on " + destination + " failed in the subscriber's handler: " + errorType
        + ": " + errorMessage + ". The subscriber's log has the details.");
    this.destination = destination;
    this.correlationId = correlationId;
    this.errorType = errorType;
    this.errorMessage = errorMessage;
  }

  /** The request's destination key, such as {@code channel:orders}. */
  public String destination() {
    return destination;
  }

  /** The request's {@code correlation_id} header. */
  public String correlationId() {
    return correlationId;
  }

  /**
   * The fully qualified class name of the exception the subscriber's handler threw, or {@code
   * dev.brook.RejectMessage} when the request was rejected (by the handler, or because its payload
   * could not be decoded or failed validation).
   */
  public String errorType() {
    return errorType;
  }

  /** The handler's exception message, or the reason of the rejection. */
  public String errorMessage() {
    return errorMessage;
  }
}
