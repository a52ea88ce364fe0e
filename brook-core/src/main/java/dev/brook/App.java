package dev.brook;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs a service: hooks, then the broker, until SIGINT/SIGTERM or {@link #stop()}, then a
 * graceful shutdown.
 *
 * <pre>{@code
 * App.create(broker)
 *     .onStartup(() -> log.info("connecting"))
 *     .afterStartup(() -> broker.publish("ready", channel("status")))
 *     .onShutdown(() -> log.info("stopping"))
 *     .run();
 * }</pre>
 *
 * <p>Order: {@code onStartup} hooks, {@code broker.start()}, {@code afterStartup} hooks; on
 * shutdown {@code onShutdown} hooks, {@code broker.close()} (which drains handlers within the
 * broker's graceful timeout), {@code afterShutdown} hooks. Hooks run in the order added, on the
 * thread that runs or stops the app. The app closes the broker it was given: it owns it from
 * {@link #run()} on. An app runs once.
 */
public final class App {

  private static final Logger LOG = LoggerFactory.getLogger(App.class);

  /** A hook: may throw; a startup hook's exception aborts the start, a shutdown hook's is logged. */
  @FunctionalInterface
  public interface Hook {
    void run() throws Exception;
  }

  private final Broker broker;
  private final List<Hook> onStartup = new ArrayList<>();
  private final List<Hook> afterStartup = new ArrayList<>();
  private final List<Hook> onShutdown = new ArrayList<>();
  private final List<Hook> afterShutdown = new ArrayList<>();
  private final CountDownLatch stopRequested = new CountDownLatch(1);
  private final CountDownLatch stopped = new CountDownLatch(1);
  private final AtomicBoolean ran = new AtomicBoolean();
  private final AtomicBoolean shutDown = new AtomicBoolean();

  private App(Broker broker) {
    this.broker = Objects.requireNonNull(broker, "broker");
  }

  public static App create(Broker broker) {
    return new App(broker);
  }

  public Broker broker() {
    return broker;
  }

  public App onStartup(Hook hook) {
    onStartup.add(Objects.requireNonNull(hook));
    return this;
  }

  public App afterStartup(Hook hook) {
    afterStartup.add(Objects.requireNonNull(hook));
    return this;
  }

  public App onShutdown(Hook hook) {
    onShutdown.add(Objects.requireNonNull(hook));
    return this;
  }

  public App afterShutdown(Hook hook) {
    afterShutdown.add(Objects.requireNonNull(hook));
    return this;
  }

  /**
   * Starts the app and blocks until SIGINT/SIGTERM or {@link #stop()}, then shuts down gracefully
   * and returns.
   *
   * @throws BrookException when a startup hook or the broker's start fails (the broker is closed then)
   */
  public void run() {
    if (!ran.compareAndSet(false, true)) {
      throw new IllegalStateException("This App has run already; create a new one.");
    }
    // SIGINT/SIGTERM ask for a graceful stop and the process exits 0 once run() returns; the
    // shutdown hook covers the other ways a JVM ends (System.exit, SIGHUP) by waiting for it.
    Signals signals = Signals.install(this::stop);
    Thread hook = new Thread(() -> {
      stopRequested.countDown();
      awaitStopped();
    }, "brook-app-shutdown");
    Runtime.getRuntime().addShutdownHook(hook);
    try {
      try {
        runHooks(onStartup, "onStartup", true);
        broker.start();
        runHooks(afterStartup, "afterStartup", true);
      } catch (RuntimeException e) {
        shutdown();
        throw e;
      }
      LOG.info("Started; stop with Ctrl-C or SIGTERM.");
      try {
        stopRequested.await();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      shutdown();
    } finally {
      signals.restore();
      try {
        Runtime.getRuntime().removeShutdownHook(hook);
      } catch (IllegalStateException shuttingDown) {
        // The JVM is exiting through the hook itself; nothing to remove.
      }
    }
  }

  /** Asks a running app to shut down; returns at once. {@link #run()} returns when the shutdown is over. */
  public void stop() {
    stopRequested.countDown();
  }

  /** Blocks until a started app has shut down. */
  public void awaitStopped() {
    try {
      stopped.await();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private void shutdown() {
    if (!shutDown.compareAndSet(false, true)) {
      return;
    }
    try {
      runHooks(onShutdown, "onShutdown", false);
      try {
        broker.close();
      } catch (RuntimeException e) {
        LOG.error("Closing the broker failed.", e);
      }
      runHooks(afterShutdown, "afterShutdown", false);
      LOG.info("Stopped.");
    } finally {
      stopped.countDown();
    }
  }

  private static void runHooks(List<Hook> hooks, String phase, boolean rethrow) {
    for (Hook h : hooks) {
      try {
        h.run();
      } catch (Exception e) {
        if (rethrow) {
          throw e instanceof RuntimeException r ? r : new BrookException("An " + phase + " hook failed: " + e.getMessage(), e);
        }
        LOG.error("An {} hook failed; the shutdown goes on.", phase, e);
      }
    }
  }

  /**
   * SIGINT and SIGTERM handlers through {@code sun.misc.Signal} (module jdk.unsupported), reached by
   * reflection so the build needs no internal API; where it is missing, the shutdown hook alone
   * handles signals (and the exit code is then 130/143 instead of 0).
   */
  private static final class Signals {
    private final List<Object[]> previous = new ArrayList<>();

    static Signals install(Runnable onSignal) {
      Signals s = new Signals();
      try {
        Class<?> signalClass = Class.forName("sun.misc.Signal");
        Class<?> handlerClass = Class.forName("sun.misc.SignalHandler");
        Object handler = java.lang.reflect.Proxy.newProxyInstance(App.class.getClassLoader(), new Class<?>[] {handlerClass},
            (proxy, method, args) -> {
              if (method.getName().equals("handle")) {
                LOG.info("Received {}; shutting down gracefully.", args[0]);
                onSignal.run();
                return null;
              }
              return switch (method.getName()) {
                case "hashCode" -> System.identityHashCode(proxy);
                case "equals" -> proxy == args[0];
                default -> "App signal handler";
              };
            });
        var handle = signalClass.getMethod("handle", signalClass, handlerClass);
        for (String name : new String[] {"INT", "TERM"}) {
          Object signal = signalClass.getConstructor(String.class).newInstance(name);
          Object old = handle.invoke(null, signal, handler);
          s.previous.add(new Object[] {signal, old});
        }
        s.handle = handle;
      } catch (ReflectiveOperationException | RuntimeException | LinkageError e) {
        LOG.debug("No signal handlers ({}); relying on the shutdown hook.", e.toString());
      }
      return s;
    }

    private java.lang.reflect.Method handle;

    void restore() {
      for (Object[] p : previous) {
        try {
          handle.invoke(null, p[0], p[1]);
        } catch (ReflectiveOperationException | RuntimeException e) {
          LOG.debug("Could not restore the handler of {}", p[0], e);
        }
      }
    }
  }
}
