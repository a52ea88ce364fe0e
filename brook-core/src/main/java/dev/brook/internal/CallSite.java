package dev.brook.internal;

import java.security.CodeSource;
import java.util.Objects;
import java.util.Set;

/**
 * Finds the user's line that called into Brook, for messages such as "registered at
 * Orders.java:42". Frames from Brook's own jars are skipped by their code source, so a user's
 * class in a {@code dev.brook...} package (an example, a test) still counts as the user's.
 */
public final class CallSite {

  private static final StackWalker WALKER = StackWalker.getInstance(StackWalker.Option.RETAIN_CLASS_REFERENCE);

  private CallSite() {}

  /** The first frame whose class is not loaded from the code source of any of the given classes. */
  public static String find(Class<?>... frameworkClasses) {
    Set<Object> ours = new java.util.HashSet<>();
    for (Class<?> c : frameworkClasses) {
      ours.add(location(c));
    }
    ours.add(location(CallSite.class));
    return WALKER.walk(frames -> frames
        .filter(f -> !ours.contains(location(f.getDeclaringClass())))
        .filter(f -> !f.getClassName().startsWith("java.") && !f.getClassName().startsWith("jdk."))
        .findFirst()
        .map(f -> f.getClassName() + "." + f.getMethodName() + "(" + f.getFileName() + ":" + f.getLineNumber() + ")")
        .orElse("unknown"));
  }

  /**
   * The call site without JShell's snippet numbering ({@code REPL.$JShell$12} and {@code
   * REPL.$JShell$15} are the same cell run twice), so a re-run is recognised as the same place.
   */
  public static String withoutSnippet(String callSite) {
    return SNIPPET.matcher(callSite).replaceAll("\\$JShell\\$");
  }

  private static final java.util.regex.Pattern SNIPPET = java.util.regex.Pattern.compile("\\$JShell\\$\\d+");

  private static Object location(Class<?> c) {
    CodeSource source = c.getProtectionDomain().getCodeSource();
    return Objects.requireNonNullElse(source == null ? null : source.getLocation(), "bootstrap");
  }
}
