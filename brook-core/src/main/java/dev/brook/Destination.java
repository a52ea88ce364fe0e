package dev.brook;

/**
 * Where messages are read from and published to: a Redis channel, pattern, list or stream (see
 * {@code dev.brook.redis.Redis} for the factories). A destination is an immutable value.
 *
 * <p>{@link #key()} is the destination's identity in text, such as {@code channel:orders} or
 * {@code stream:events/g/c1}; it is the default id of a subscription on it, so registering the
 * same destination twice replaces (or rejects) rather than stacks.
 */
public interface Destination {

  /** The name on the server, such as {@code orders} for {@code channel("orders")}. */
  String name();

  /** The kind and name as one stable text, such as {@code channel:orders}; the default subscription id. */
  String key();

  /**
   * True when Redis keeps each message until a subscriber settles it (reliable Lists, Streams with
   * a consumer group), so ack policies apply; false for at-most-once destinations.
   */
  default boolean atLeastOnce() {
    return false;
  }

  /**
   * After how many deliveries a nacked message goes to the dead letter (or is dropped) instead of
   * coming back, for destinations that count deliveries; 0 for those that do not.
   */
  default int maxDeliveries() {
    return 0;
  }

  /**
   * The named parts of this destination that a handler reads with {@code @Path} or {@code
   * ctx.path(name)} (a pattern's {@code {level}}); empty for most kinds.
   */
  default java.util.List<String> params() {
    return java.util.List.of();
  }

  /**
   * The same destination with another name and every other option kept; routers use it to put
   * their prefix in front of names.
   */
  Destination withName(String name);

  /**
   * The same destination with {@code prefix} in front of its name, as routers declare it. The
   * default is {@code withName(prefix + name())}; a destination whose {@link #name()} is derived
   * from what the user wrote (a pattern's glob from its {@code {name}} template) puts the prefix in
   * front of what the user wrote, so nothing is lost.
   */
  default Destination withPrefix(String prefix) {
    return prefix.isEmpty() ? this : withName(prefix + name());
  }
}
