package dev.brook.asyncapi.internal;

import dev.brook.Subscription;
import java.lang.reflect.Method;
import java.lang.reflect.ParameterizedType;
import java.lang.reflect.Type;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * What a subscription's handler returns, where that can be known. {@code Subscription} exposes the
 * payload type but not the handler's result type, and a lambda's result is {@code Object} after
 * erasure; an annotated handler method, though, declares it. A subscription registered from a
 * {@code @Subscribe} method keeps the default id {@code ClassName#method}, so the method, and its
 * generic return type, can be found from the id. Anything else is {@link Result#UNKNOWN}.
 */
final class ResultTypes {

  private static final Pattern METHOD_ID = Pattern.compile("([\\p{L}_$][\\p{L}\\p{N}_$.]*)#([\\p{L}_$][\\p{L}\\p{N}_$]*)");
  private static final String SUBSCRIBE = "dev.brook.Subscribe";

  private ResultTypes() {}

  /**
   * @param known whether the handler's result type is known
   * @param type the declared result type, or null for {@code void} (the handler never replies)
   */
  record Result(boolean known, Type type) {
    static final Result UNKNOWN = new Result(false, null);

    boolean replies() {
      return known && type != null;
    }
  }

  static Result of(Subscription subscription) {
    Matcher m = METHOD_ID.matcher(subscription.id());
    if (!m.matches()) {
      return Result.UNKNOWN;
    }
    Class<?> owner = load(m.group(1), subscription.payloadType());
    if (owner == null) {
      return Result.UNKNOWN;
    }
    List<Method> candidates = new ArrayList<>();
    for (Class<?> c = owner; c != null && c != Object.class; c = c.getSuperclass()) {
      for (Method method : c.getDeclaredMethods()) {
        if (method.getName().equals(m.group(2)) && annotatedSubscribe(method)) {
          candidates.add(method);
        }
      }
      if (!candidates.isEmpty()) {
        break;
      }
    }
    if (candidates.size() != 1) {
      return Result.UNKNOWN;
    }
    Type returned = candidates.get(0).getGenericReturnType();
    if (returned == dev.brook.Response.class) {
      return Result.UNKNOWN; // a Response's payload can be anything
    }
    return new Result(true, returned == void.class || returned == Void.class ? null : wrap(returned));
  }

  private static boolean annotatedSubscribe(Method method) {
    for (var annotation : method.getAnnotations()) {
      if (annotation.annotationType().getName().equals(SUBSCRIBE)) {
        return true;
      }
    }
    return false;
  }

  private static Type wrap(Type type) {
    if (type instanceof Class<?> c && c.isPrimitive()) {
      return java.lang.invoke.MethodType.methodType(c).wrap().returnType();
    }
    return type;
  }

  /** The class by name, from the loaders that can see the user's classes: the payload's, the thread's, ours. */
  private static Class<?> load(String name, Type payloadType) {
    Set<ClassLoader> loaders = new LinkedHashSet<>();
    Class<?> payload = payloadType instanceof Class<?> c ? c
        : payloadType instanceof ParameterizedType p && p.getRawType() instanceof Class<?> raw ? raw : null;
    if (payload != null && payload.getClassLoader() != null) {
      loaders.add(payload.getClassLoader());
    }
    if (Thread.currentThread().getContextClassLoader() != null) {
      loaders.add(Thread.currentThread().getContextClassLoader());
    }
    loaders.add(ResultTypes.class.getClassLoader());
    for (ClassLoader loader : loaders) {
      try {
        return Class.forName(name, false, loader);
      } catch (ClassNotFoundException | LinkageError e) {
        // try the next loader
      }
    }
    return null;
  }
}
