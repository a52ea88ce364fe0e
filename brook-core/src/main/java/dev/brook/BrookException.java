package dev.brook;

/**
 * The base of Brook's own exceptions. Its message names the rule, the object and the fix.
 */
public class BrookException extends RuntimeException {

  public BrookException(String message) {
    super(message);
  }

  public BrookException(String message, Throwable cause) {
    super(message, cause);
  }
}
