package dev.brook.internal;

import dev.brook.spi.Transport;
import dev.brook.AckPolicy;
import dev.brook.BrookException;
import dev.brook.Destination;
import dev.brook.Handler;
import dev.brook.Header;
import dev.brook.MessageContext;
import dev.brook.MessageDecoder;
import dev.brook.MessageParser;
import dev.brook.Middleware;
import dev.brook.Path;
import dev.brook.Publish;
import dev.brook.Subscribe;
import java.lang.annotation.Annotation;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.lang.reflect.Parameter;
import java.lang.reflect.Type;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.MDC;

/**
 * Turns the {@link Subscribe @Subscribe} methods of an object into subscription specs.
 *
 * <p>All reflection happens here, once per method at include time: the destination, the id, the
 * parameter resolvers and a {@link MethodHandle} bound to the object. Per message the handler
 * resolves each argument with a plain call and invokes the handle: no reflection, one argument
 * array.
 */
final class HandlerMethods {

  /** MDC keys set while a handler that takes a {@link Logger} runs. */
  static final String MDC_DESTINATION = "destination";
  static final String MDC_MESSAGE_ID = "message_id";


  private HandlerMethods() {}

  /** One annotated method of one object at one router position; equal when all four are the same. */
  private record Origin(Object target, Method method, String prefix, List<Middleware> middlewares) {
    @Override
    public boolean equals(Object o) {
      if (!(o instanceof Origin other) || other.target != target || !other.method.equals(method)
          || !other.prefix.equals(prefix) || other.middlewares.size() != middlewares.size()) {
        return false;
      }
      for (int i = 0; i < middlewares.size(); i++) {
        if (other.middlewares.get(i) != middlewares.get(i)) return false;
      }
      return true;
    }

    @Override
    public int hashCode() {
      return System.identityHashCode(target) * 31 + method.hashCode();
    }
  }

  /** Resolves one argument for one message. */
  @FunctionalInterface
  private interface Arg {
    Object resolve(Object payload, MessageContext ctx);
  }

  /**
   * The specs of every annotated method, sorted by method name (the JVM gives no declaration order).
   *
   * @throws BrookException naming the method and the fix for the first method that cannot be a handler
   */
  static List<SubscriptionSpec> specs(BrokerEngine engine, Object target, String prefix, List<Middleware> routerMiddlewares) {
    if (target instanceof Class<?> c) {
      throw new IllegalArgumentException("include needs an object, got the class " + c.getName()
          + ". Pass an instance, e.g. new " + c.getSimpleName() + "().");
    }
    Class<?> type = userClass(target.getClass());
    List<Method> methods = annotated(type);
    if (methods.isEmpty()) {
      throw new BrookException(type.getName() + " has no method annotated @Subscribe, so there is nothing to include. "
          + "Annotate its handler methods, e.g. @Subscribe(channel = \"orders\").");
    }
    Map<String, Method> byId = new HashMap<>();
    List<SubscriptionSpec> specs = new ArrayList<>(methods.size());
    for (Method m : methods) {
      SubscriptionSpec spec = spec(engine, target, m, prefix, routerMiddlewares);
      Method clash = byId.putIfAbsent(spec.effectiveId(), m);
      if (clash != null) {
        throw new BrookException("Two @Subscribe methods of " + type.getName() + " get the id '" + spec.effectiveId()
            + "' (" + signature(clash) + " and " + signature(m) + "). Rename one, or give each its own id with @Subscribe(id = ...).");
      }
      specs.add(spec);
    }
    return specs;
  }

  /** Annotated methods of the class and its superclasses; an override counts once (the subclass's). */
  private static List<Method> annotated(Class<?> type) {
    List<Method> found = new ArrayList<>();
    Set<String> seen = new HashSet<>();
    for (Class<?> c = type; c != null && c != Object.class; c = c.getSuperclass()) {
      for (Method m : c.getDeclaredMethods()) {
        if (m.isBridge() || m.isSynthetic()) continue;
        String key = m.getName() + java.util.Arrays.toString(m.getParameterTypes());
        if (!seen.add(key)) continue;
        if (m.isAnnotationPresent(Subscribe.class)) {
          found.add(m);
        }
      }
    }
    found.sort(Comparator.comparing(Method::getName).thenComparing(m -> java.util.Arrays.toString(m.getParameterTypes())));
    return found;
  }

  static String signature(Method m) {
    return m.getDeclaringClass().getName() + "#" + m.getName();
  }

  private static SubscriptionSpec spec(BrokerEngine engine, Object target, Method m, String prefix,
      List<Middleware> routerMiddlewares) {
    String where = signature(m);
    Subscribe s = m.getAnnotation(Subscribe.class);
    Transport transport = engine.transport();

    // destination: what the annotation names; the transport knows its kinds and their rules
    Destination destination = destination(transport, where, "@Subscribe", attributes(
        "channel", s.channel(), "pattern", s.pattern(), "list", s.list(), "stream", s.stream(),
        "group", s.group(), "consumer", s.consumer()), prefix);

    // options
    if (s.ackPolicy().length > 1) {
      throw new BrookException("@Subscribe on " + where + " sets " + s.ackPolicy().length + " ack policies; set at most one.");
    }
    AckPolicy ackPolicy = s.ackPolicy().length == 1 ? s.ackPolicy()[0] : null;
    MessageParser parser = hook(where, "parser", MessageParser.class, s.parser());
    MessageDecoder decoder = hook(where, "decoder", MessageDecoder.class, s.decoder());
    if (s.concurrency() < 1) {
      throw new BrookException("@Subscribe on " + where + " sets concurrency = " + s.concurrency() + "; it must be at least 1.");
    }
    List<Destination> publishTo = new ArrayList<>();
    for (Publish p : m.getAnnotationsByType(Publish.class)) {
      publishTo.add(destination(transport, where, "@Publish",
          attributes("channel", p.channel(), "list", p.list(), "stream", p.stream()), prefix));
    }

    // parameters
    Set<String> pathParts = new HashSet<>(destination.params());
    Parameter[] params = m.getParameters();
    Type[] generic = m.getGenericParameterTypes();
    Arg[] args = new Arg[params.length];
    Type payloadType = null;
    String payloadName = null;
    boolean valid = false;
    boolean logs = false;
    for (int i = 0; i < params.length; i++) {
      Parameter p = params[i];
      Header header = p.getAnnotation(Header.class);
      Path path = p.getAnnotation(Path.class);
      if (header != null && path != null) {
        throw new BrookException("Parameter " + p.getName() + " of " + where + " is annotated both @Header and @Path; choose one.");
      }
      if (header != null) {
        args[i] = headerArg(where, p, header);
      } else if (path != null) {
        if (pathParts.isEmpty()) {
          String key = destination.key();
          throw new BrookException("Parameter " + p.getName() + " of " + where + " is @Path(\"" + path.value()
              + "\"), but the method subscribes to a " + key.substring(0, Math.max(0, key.indexOf(':')))
              + ". @Path reads a part of @Subscribe(pattern = \"...{" + path.value() + "}...\").");
        }
        if (!pathParts.contains(path.value())) {
          throw new BrookException("Parameter " + p.getName() + " of " + where + " is @Path(\"" + path.value()
              + "\"), but the pattern '" + (s.pattern().isEmpty() ? destination.key() : s.pattern())
              + "' has no part {" + path.value() + "}"
              + (pathParts.isEmpty() ? "" : " (it has " + String.join(", ", new java.util.TreeSet<>(pathParts)) + ")")
              + ". Name a part of the pattern.");
        }
        args[i] = pathArg(where, p, path);
      } else if (p.getType() == MessageContext.class) {
        args[i] = (payload, ctx) -> ctx;
      } else if (p.getType() == Logger.class) {
        Logger log = LoggerFactory.getLogger(m.getDeclaringClass());
        args[i] = (payload, ctx) -> log;
        logs = true;
      } else {
        if (payloadType != null) {
          throw new BrookException(where + " has two payload parameters (" + payloadName + " and " + p.getName()
              + "); a handler has at most one. Annotate the others with @Header or @Path, or make them MessageContext or Logger.");
        }
        payloadType = generic[i];
        payloadName = p.getName();
        valid = hasValid(p);
        args[i] = (payload, ctx) -> payload;
      }
    }
    if (payloadType == null) {
      payloadType = byte[].class; // nothing to decode, nothing that can fail
    }
    PayloadCheck check = null;
    if (valid) {
      check = engine.including().validation(where).check();
    }

    MethodHandle invoker = invoker(target, m, where);
    Handler<Object> handler = handler(invoker, args, logs);
    String id = !s.id().isEmpty() ? s.id() : prefix + className(userClass(target.getClass())) + "#" + m.getName();
    return new SubscriptionSpec(id, destination, payloadType, handler, List.copyOf(publishTo), s.concurrency(), ackPolicy,
        0, List.copyOf(routerMiddlewares), check, new Origin(target, m, prefix, List.copyOf(routerMiddlewares)),
        List.of(), s.noReply(), SubscriptionHooks.of(null, parser, decoder));
  }

  /**
   * The class the user wrote: a generated subclass (a CGLIB proxy such as Spring's {@code
   * Orders$$SpringCGLIB$$0}, whose names carry {@code $$}) stands for its superclass, so its
   * annotated methods are found (the proxy's overrides carry no annotation) and its ids stay {@code
   * Orders#method}. Calls still go through the proxy object, so its advice applies.
   */
  static Class<?> userClass(Class<?> type) {
    Class<?> c = type;
    while (c.getName().contains("$$") && c.getSuperclass() != null && c.getSuperclass() != Object.class) {
      c = c.getSuperclass();
    }
    return c;
  }

  private static final Pattern JSHELL_WRAPPER = Pattern.compile("\\$JShell\\$[0-9A-Za-z]+\\$");

  /**
   * The class's name as text for default ids. JShell compiles each (re)definition of a class into a
   * new wrapper ({@code REPL.$JShell$12$Orders}); the wrapper is left out, so a redefined class keeps
   * its ids ({@code REPL.Orders#onOrder}) and re-running a cell replaces its subscriptions.
   */
  static String className(Class<?> type) {
    return JSHELL_WRAPPER.matcher(type.getName()).replaceAll("");
  }

  private static boolean hasValid(Parameter p) {
    for (Annotation a : p.getAnnotations()) {
      if (a.annotationType().getName().equals("jakarta.validation.Valid")) {
        return true;
      }
    }
    return false;
  }

  /** The annotation's attributes that are set, in declaration order: (name, value) pairs in, a map out. */
  private static Map<String, String> attributes(String... pairs) {
    Map<String, String> set = new LinkedHashMap<>();
    for (int i = 0; i < pairs.length; i += 2) {
      if (!pairs[i + 1].isEmpty()) {
        set.put(pairs[i], pairs[i + 1]);
      }
    }
    return set;
  }

  private static Destination destination(Transport transport, String where, String annotation,
      Map<String, String> attributes, String prefix) {
    Destination d;
    try {
      d = transport.destination(annotation, attributes);
    } catch (IllegalArgumentException | UnsupportedOperationException e) {
      throw new BrookException(annotation + " on " + where + " " + e.getMessage(), e);
    }
    return d.withPrefix(prefix);
  }

  private static MethodHandle invoker(Object target, Method m, String where) {
    MethodHandle h;
    try {
      if (!Modifier.isPublic(m.getModifiers()) || !Modifier.isPublic(m.getDeclaringClass().getModifiers())) {
        m.setAccessible(true);
      }
      h = MethodHandles.lookup().unreflect(m);
    } catch (IllegalAccessException | RuntimeException e) {
      throw new BrookException("Cannot call " + where + ": " + e.getMessage() + ". Make the method public, or open its "
          + "package to dev.brook.core in module-info.java.", e);
    }
    if (!Modifier.isStatic(m.getModifiers())) {
      h = h.bindTo(target);
    }
    return h.asSpreader(Object[].class, m.getParameterCount()).asType(MethodType.methodType(Object.class, Object[].class));
  }

  private static Handler<Object> handler(MethodHandle invoker, Arg[] args, boolean logs) {
    int n = args.length;
    return (payload, ctx) -> {
      Object[] values = new Object[n];
      for (int i = 0; i < n; i++) {
        values[i] = args[i].resolve(payload, ctx);
      }
      if (!logs) {
        return call(invoker, values);
      }
      String previousDestination = MDC.get(MDC_DESTINATION);
      String previousId = MDC.get(MDC_MESSAGE_ID);
      MDC.put(MDC_DESTINATION, ctx.destination().key());
      MDC.put(MDC_MESSAGE_ID, LogText.escape(ctx.messageId()));
      try {
        return call(invoker, values);
      } finally {
        restore(MDC_DESTINATION, previousDestination);
        restore(MDC_MESSAGE_ID, previousId);
      }
    };
  }

  private static void restore(String key, String value) {
    if (value == null) {
      MDC.remove(key);
    } else {
      MDC.put(key, value);
    }
  }

  private static Object call(MethodHandle invoker, Object[] values) throws Exception {
    try {
      return (Object) invoker.invokeExact(values);
    } catch (Exception | Error e) {
      throw e;
    } catch (Throwable t) {
      throw new java.lang.reflect.UndeclaredThrowableException(t);
    }
  }

  private static Arg headerArg(String where, Parameter p, Header header) {
    String name = header.value();
    Class<?> type = p.getType();
    if (!header.required() && type.isPrimitive()) {
      throw new BrookException("Parameter " + p.getName() + " of " + where + " is an optional @Header(\"" + name
          + "\") of type " + type + ", which cannot be null when the header is missing. Use "
          + boxed(type).getSimpleName() + ", or make the header required.");
    }
    Function<String, Object> convert = converter(where, p, "@Header(\"" + name + "\")");
    boolean required = header.required();
    String typeName = type.getSimpleName();
    return (payload, ctx) -> {
      String text = ctx.header(name);
      if (text == null) {
        if (!required) {
          return null;
        }
        throw new BadInput("No header '" + name + "' in", "; the handler requires it (declare @Header(value = \"" + name
            + "\", required = false) to accept messages without it)", "missing header '" + name + "'", null);
      }
      try {
        return convert.apply(text);
      } catch (RuntimeException e) {
        String why = e.getMessage() != null ? e.getMessage() : e.toString();
        throw new BadInput("Cannot convert header '" + name + "' of", " to " + typeName + " (value '" + text + "'): " + why,
            "cannot convert header '" + name + "' to " + typeName + " (value '" + text + "'): " + why, e);
      }
    };
  }

  private static Arg pathArg(String where, Parameter p, Path path) {
    String name = path.value();
    Function<String, Object> convert = converter(where, p, "@Path(\"" + name + "\")");
    String typeName = p.getType().getSimpleName();
    return (payload, ctx) -> {
      String text = ctx.path(name);
      if (text == null) {
        throw new BadInput("No path part {" + name + "} in", "", "missing path part {" + name + "}", null);
      }
      try {
        return convert.apply(text);
      } catch (RuntimeException e) {
        String why = e.getMessage() != null ? e.getMessage() : e.toString();
        throw new BadInput("Cannot convert path part {" + name + "} of", " to " + typeName + " (value '" + text + "'): " + why,
            "cannot convert path part {" + name + "} to " + typeName + " (value '" + text + "'): " + why, e);
      }
    };
  }

  private static Function<String, Object> converter(String where, Parameter p, String what) {
    Function<String, Object> convert = TextConverters.forType(p.getType());
    if (convert == null) {
      throw new BrookException("Parameter " + p.getName() + " of " + where + " is " + what + " of type " + p.getType().getName()
          + ", which Brook cannot convert from text. Use one of " + TextConverters.SUPPORTED
          + ", or take a String and convert it in the handler.");
    }
    return convert;
  }

  private static Class<?> boxed(Class<?> primitive) {
    return MethodType.methodType(primitive).wrap().returnType();
  }

  /** The one parser or decoder class of a {@code @Subscribe}, made with its no-argument constructor; null for none. */
  private static <T> T hook(String where, String option, Class<T> type, Class<? extends T>[] classes) {
    if (classes.length == 0) {
      return null;
    }
    if (classes.length > 1) {
      throw new BrookException("@Subscribe on " + where + " sets " + classes.length + " " + option + "s; set at most one.");
    }
    Class<? extends T> c = classes[0];
    try {
      java.lang.reflect.Constructor<? extends T> ctor = c.getDeclaredConstructor();
      ctor.setAccessible(true);
      return ctor.newInstance();
    } catch (ReflectiveOperationException | RuntimeException e) {
      Throwable cause = e instanceof java.lang.reflect.InvocationTargetException ite ? ite.getCause() : e;
      throw new BrookException("@Subscribe on " + where + " names the " + option + " " + c.getName()
          + ", which cannot be made with a no-argument constructor: " + cause + ". Give it a public no-argument "
          + "constructor, or set the " + option + " on the router or broker instead.", cause);
    }
  }
}
