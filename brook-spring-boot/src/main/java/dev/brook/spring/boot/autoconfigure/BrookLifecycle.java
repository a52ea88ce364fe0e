package dev.brook.spring.boot.autoconfigure;

import dev.brook.Broker;
import org.springframework.context.SmartLifecycle;

/**
 * Starts Brook's subscriptions when the application context has started, and stops them first when
 * it stops: {@link #PHASE} is above the web server's graceful shutdown ({@code DEFAULT_PHASE - 1024})
 * and its start ({@code DEFAULT_PHASE - 2048}), so subscriptions start after the web server and
 * stop before it drains its requests (which may still publish: stopping keeps the connections; the
 * broker bean's close releases them when the context is destroyed).
 *
 * <p>{@link #stop()} returns when the handlers in flight have finished or the broker's graceful
 * timeout has passed, which the auto-configuration keeps within {@code
 * spring.lifecycle.timeout-per-shutdown-phase}. Thread-safe.
 */
public final class BrookLifecycle implements SmartLifecycle {

  /** The lifecycle phase: after the web server on start, before its graceful shutdown on stop. */
  public static final int PHASE = SmartLifecycle.DEFAULT_PHASE - 512;

  private final Broker broker;
  private volatile boolean running;

  public BrookLifecycle(Broker broker) {
    this.broker = broker;
  }

  @Override
  public synchronized void start() {
    broker.start();
    running = true;
  }

  @Override
  public synchronized void stop() {
    running = false;
    broker.stop();
  }

  @Override
  public boolean isRunning() {
    return running;
  }

  @Override
  public int getPhase() {
    return PHASE;
  }
}
