package dev.brook;

/**
 * What a broker does when a subscription is registered with an id that is already live. Either
 * way a broker never holds two live subscriptions with one id, so re-running registration code
 * (a JShell snippet, a notebook cell, a hot-reload loop) never stacks handlers.
 */
public enum DuplicatePolicy {

  /**
   * The default: the live subscription is stopped, drained and released, then the new one takes
   * its place and runs the new handler. One WARN line names the id.
   */
  REPLACE,

  /**
   * Registration throws {@link DuplicateSubscriptionException} naming the id and where the live
   * subscription was registered; the live one is untouched.
   */
  REJECT
}
