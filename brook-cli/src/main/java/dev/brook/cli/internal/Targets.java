package dev.brook.cli.internal;

import dev.brook.App;
import dev.brook.Broker;
import java.io.File;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.net.MalformedURLException;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Finds the service a command names. {@code com.acme.Orders} is the factory {@code
 * com.acme.Orders#app}; {@code com.acme.Orders#build} names another one. A factory is a public
 * static method with no parameters or one {@code String} (the Redis URL) that returns an {@link App}
 * or a {@link Broker}. For {@code brook run}, a class without a factory may have a {@code main}
 * method instead.
 */
final class Targets {

  static final String DEFAULT_FACTORY = "app";
  static final String DEFAULT_URL = "redis://127.0.0.1:6379";
  static final String URL_PROPERTY = "brook.redis.url";
  static final String URL_ENV = "BROOK_REDIS_URL";

  private Targets() {}

  /** A class loader that sees the service's classes: the given class path on top of the CLI's. */
  static ClassLoader loader(String classpath) {
    ClassLoader parent = Targets.class.getClassLoader();
    if (classpath == null || classpath.isBlank()) {
      return parent;
    }
    List<URL> urls = new ArrayList<>();
    for (String entry : classpath.split(File.pathSeparator)) {
      if (entry.isBlank()) {
        continue;
      }
      Path path = Path.of(entry);
      if (!Files.exists(path)) {
        throw new IllegalArgumentException("The class path entry " + entry + " does not exist; pass jars and class "
            + "directories separated by '" + File.pathSeparator + "'.");
      }
      try {
        urls.add(path.toUri().toURL());
      } catch (MalformedURLException e) {
        throw new IllegalArgumentException("The class path entry " + entry + " is not a usable path: " + e.getMessage(), e);
      }
    }
    return new URLClassLoader("brook-service", urls.toArray(URL[]::new), parent);
  }

  /** A service class and, when found, its factory method. */
  record Target(String text, Class<?> type, Method factory, Method main) {

    /** Calls the factory; a factory that returns a broker gets an App around it. */
    App app(String url) {
      Object made;
      try {
        made = factory.getParameterCount() == 1 ? factory.invoke(null, url) : factory.invoke(null);
      } catch (InvocationTargetException e) {
        Throwable cause = e.getCause();
        throw new IllegalStateException(text + " failed: " + BrookCommand.message(cause), cause);
      } catch (IllegalAccessException e) {
        throw new IllegalStateException(text + " is not accessible: " + e.getMessage()
            + ". Make the method and its class public.", e);
      }
      if (made == null) {
        throw new IllegalStateException(text + " returned null; it must return an App or a Broker.");
      }
      return made instanceof App app ? app : App.create((Broker) made);
    }
  }

  /**
   * Resolves {@code Class} or {@code Class#method}.
   *
   * @param allowMain whether a class with a {@code main} method and no factory is acceptable
   */
  static Target resolve(String text, ClassLoader loader, boolean allowMain) {
    int hash = text.indexOf('#');
    String className = hash >= 0 ? text.substring(0, hash) : text;
    String methodName = hash >= 0 ? text.substring(hash + 1) : DEFAULT_FACTORY;
    Class<?> type;
    try {
      type = Class.forName(className, true, loader);
    } catch (ClassNotFoundException e) {
      throw new IllegalArgumentException("Class " + className + " not found. Pass the service's jars or class directories "
          + "with --classpath, and the class's full name (e.g. com.acme.Orders).", e);
    } catch (LinkageError e) {
      throw new IllegalArgumentException("Class " + className + " cannot be loaded: " + e + ". Check that --classpath "
          + "holds everything the service needs.", e);
    }
    Method factory = factory(type, methodName);
    if (factory != null) {
      return new Target(type.getName() + "#" + factory.getName(), type, factory, null);
    }
    if (hash >= 0) {
      throw new IllegalArgumentException(type.getName() + " has no factory method " + methodName + ": write "
          + "'public static App " + methodName + "()' or '" + methodName + "(String redisUrl)' returning an App or a Broker.");
    }
    Method main = allowMain ? main(type) : null;
    if (main != null) {
      return new Target(type.getName() + "#main", type, null, main);
    }
    throw new IllegalArgumentException(type.getName() + " has no App factory: add 'public static App app()' (or "
        + "app(String redisUrl)) returning the service's App or Broker, or name another method as "
        + type.getName() + "#method" + (allowMain ? ", or give the class a main method." : "."));
  }

  private static Method factory(Class<?> type, String name) {
    Method found = null;
    for (Method m : type.getMethods()) {
      if (!m.getName().equals(name) || !Modifier.isStatic(m.getModifiers())) {
        continue;
      }
      if (!App.class.isAssignableFrom(m.getReturnType()) && !Broker.class.isAssignableFrom(m.getReturnType())) {
        continue;
      }
      boolean noArgs = m.getParameterCount() == 0;
      boolean url = m.getParameterCount() == 1 && m.getParameterTypes()[0] == String.class;
      if (url || (noArgs && found == null)) {
        found = m;
      }
    }
    return found;
  }

  private static Method main(Class<?> type) {
    try {
      Method m = type.getMethod("main", String[].class);
      return Modifier.isStatic(m.getModifiers()) ? m : null;
    } catch (NoSuchMethodException e) {
      return null;
    }
  }

  /** The URL a factory gets: {@code --url}, else {@code BROOK_REDIS_URL}, else the local default. */
  static String url(String option) {
    if (option != null && !option.isBlank()) {
      return option;
    }
    String env = System.getenv(URL_ENV);
    return env != null && !env.isBlank() ? env : DEFAULT_URL;
  }
}
