package dev.brook;

/**
 * Thrown by a handler to stop its own subscription, as FastStream's {@code StopConsume}: the
 * current message is settled as if the handler had returned {@code null} (acknowledged unless the
 * policy is {@link AckPolicy#MANUAL}), then the subscription stops as {@link Subscription#stop()}
 * does — handlers of the same subscription still running (concurrency above 1) finish, buffered
 * messages go back to Redis in their order — and ends in {@link Subscription.State#STOPPED}. The
 * stop runs on the handler's own worker thread after its message is settled and never waits for
 * that handler. A subscription stopped this way stays stopped when the broker starts again; start
 * it with {@link Subscription#start()}.
 *
 * <p>A control-flow signal, not an error: nothing is logged as a failure, nothing is published.
 * Has no stack trace, so throwing it is cheap.
 */
public class StopConsume extends RuntimeException {

  public StopConsume() {
    super("stop consume", null, false, false);
  }
}
