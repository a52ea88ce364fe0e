package dev.brook;

/**
 * Thrown under {@link DuplicatePolicy#REJECT} when a subscription is registered with an id that
 * is already live. The message names the id and the call site of the live registration.
 */
public final class DuplicateSubscriptionException extends BrookException {

  private final String id;

  public DuplicateSubscriptionException(String id, String firstRegisteredAt) {
    super("A subscription with id '" + id + "' is already live (registered at " + firstRegisteredAt
        + "). Close it first, give the new one another id with .id(...), or use DuplicatePolicy.REPLACE.");
    this.id = id;
  }

  /** The id that was already live. */
  public String id() {
    return id;
  }
}
