package dev.brook.cli.internal;

/**
 * Whether the JVM should outlive {@code Main.main}: after {@code brook run} called a service's own
 * {@code main} method and it returned normally, threads it started may still be working, so the
 * JVM ends as any Java program does, when they are done. Every other command exits at once.
 */
public final class Exit {

  private static volatile boolean stayAlive;

  private Exit() {}

  public static boolean stayAlive() {
    return stayAlive;
  }

  static void stayAliveAfterMain() {
    stayAlive = true;
  }
}
