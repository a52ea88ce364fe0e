package dev.brook.cli.internal;

import java.lang.reflect.Method;
import java.lang.reflect.Proxy;
import java.util.concurrent.CountDownLatch;

/**
 * Waits for Ctrl-C or SIGTERM, for commands that serve until stopped ({@code brook docs serve}).
 * The handlers go through {@code sun.misc.Signal} (module jdk.unsupported), reached by reflection as
 * {@code App} does, so the command can clean up and exit 0; without it, a shutdown hook ends the wait
 * and the JVM exits as it does for a signal.
 */
final class Signals {

  private Signals() {}

  static void awaitTermination() throws InterruptedException {
    CountDownLatch stop = new CountDownLatch(1);
    try {
      Class<?> signalClass = Class.forName("sun.misc.Signal");
      Class<?> handlerClass = Class.forName("sun.misc.SignalHandler");
      Object handler = Proxy.newProxyInstance(Signals.class.getClassLoader(), new Class<?>[] {handlerClass},
          (proxy, method, args) -> switch (method.getName()) {
            case "handle" -> {
              stop.countDown();
              yield null;
            }
            case "hashCode" -> System.identityHashCode(proxy);
            case "equals" -> proxy == args[0];
            default -> "brook signal handler";
          });
      Method handle = signalClass.getMethod("handle", signalClass, handlerClass);
      for (String name : new String[] {"INT", "TERM"}) {
        handle.invoke(null, signalClass.getConstructor(String.class).newInstance(name), handler);
      }
    } catch (ReflectiveOperationException | RuntimeException | LinkageError e) {
      Runtime.getRuntime().addShutdownHook(new Thread(stop::countDown, "brook-cli-shutdown"));
    }
    stop.await();
  }
}
