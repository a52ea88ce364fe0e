package dev.brook.cli;

import java.lang.reflect.InvocationTargetException;

/**
 * The {@code Main-Class} of {@code brook.jar}: checks that the JVM is Java 21 or newer, then hands
 * over to {@link Main}. Compiled for Java 8 (its own source root, {@code --release 8}) so that an
 * older JVM can load it and say in one line which Java it found and which it needs, instead of
 * failing with {@code UnsupportedClassVersionError} on the first class compiled for 21. It uses only
 * Java 8 API, and names {@code Main} by reflection so that loading it loads nothing newer.
 */
public final class Launcher {

  /** The Java release brook.jar is compiled for. */
  static final int REQUIRED = 21;

  private Launcher() {}

  public static void main(String[] args) throws Throwable {
    int found = feature(System.getProperty("java.specification.version"));
    if (found < REQUIRED) {
      System.err.println("brook needs Java " + REQUIRED + " or newer, but this is Java "
          + System.getProperty("java.version") + " (" + System.getProperty("java.home") + "): run it with a JDK "
          + REQUIRED + "+, e.g. by setting JAVA_HOME or putting its bin directory first on the PATH.");
      System.exit(1);
      return;
    }
    try {
      Class.forName("dev.brook.cli.Main").getMethod("main", String[].class).invoke(null, (Object) args);
    } catch (InvocationTargetException e) {
      throw e.getCause(); // as if Main had been the Main-Class
    }
  }

  /**
   * The feature release in {@code java.specification.version}: {@code 1.8} is 8, {@code 17} is 17;
   * 0 when it cannot be read, which counts as too old.
   */
  static int feature(String specificationVersion) {
    if (specificationVersion == null) {
      return 0;
    }
    String v = specificationVersion.startsWith("1.") ? specificationVersion.substring(2) : specificationVersion;
    int dot = v.indexOf('.');
    try {
      return Integer.parseInt(dot < 0 ? v : v.substring(0, dot));
    } catch (NumberFormatException e) {
      return 0;
    }
  }
}
