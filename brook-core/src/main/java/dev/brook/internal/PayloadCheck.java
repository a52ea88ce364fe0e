package dev.brook.internal;

/** Validates a decoded payload before the handler sees it; thread-safe. */
@FunctionalInterface
interface PayloadCheck {

  /** The violations in one line (e.g. {@code item must not be blank; id must be greater than 0}), or null when valid. */
  String violations(Object payload);
}
