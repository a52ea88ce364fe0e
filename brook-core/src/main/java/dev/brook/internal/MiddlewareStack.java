package dev.brook.internal;

import dev.brook.Middleware;
import java.util.List;

/**
 * The middlewares of one subscription or publisher: fixed links before ({@code head}, Brook's own),
 * then the broker's (which {@code broker.middleware(...)} may change at any time), then fixed ones
 * after (the router's, then the subscription's). The concatenation is cached and rebuilt only when
 * the broker's array changes, so the per-message cost is one volatile read and one comparison.
 *
 * <p>Thread-safe: a stale snapshot is never wrong, only rebuilt; snapshots are immutable.
 */
final class MiddlewareStack {

  static final Middleware[] NONE = new Middleware[0];

  private record Snapshot(Middleware[] outer, Middleware[] broker, Middleware[] all) {}

  private final Middleware[] head;
  private final Middleware[] tail;
  private volatile Snapshot snapshot;

  MiddlewareStack(Middleware[] head, List<Middleware> tail) {
    this.head = head;
    this.tail = tail.toArray(NONE);
  }

  /** Head, then {@code broker} (the engine's current array), then tail. */
  Middleware[] with(Middleware[] broker) {
    return with(NONE, broker);
  }

  /**
   * {@code outer} (the engine's instrumentation, which wraps even Brook's own links), then head,
   * then {@code broker} (the engine's current array), then tail.
   */
  Middleware[] with(Middleware[] outer, Middleware[] broker) {
    Snapshot s = snapshot;
    if (s != null && s.broker == broker && s.outer == outer) {
      return s.all;
    }
    Middleware[] all = new Middleware[outer.length + head.length + broker.length + tail.length];
    System.arraycopy(outer, 0, all, 0, outer.length);
    System.arraycopy(head, 0, all, outer.length, head.length);
    System.arraycopy(broker, 0, all, outer.length + head.length, broker.length);
    System.arraycopy(tail, 0, all, outer.length + head.length + broker.length, tail.length);
    snapshot = new Snapshot(outer, broker, all);
    return all;
  }

  /** The fixed middlewares after the broker's (router's and subscription's). */
  List<Middleware> tail() {
    return List.of(tail);
  }
}
