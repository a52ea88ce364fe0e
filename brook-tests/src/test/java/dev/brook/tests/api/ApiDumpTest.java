package dev.brook.tests.api;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.InputStream;
import java.lang.module.ModuleDescriptor;
import java.lang.reflect.Constructor;
import java.lang.reflect.Field;
import java.lang.reflect.Member;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileSystem;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/**
 * The public API of each module, as committed in {@code api/<module>.api}: every public and
 * protected member of every public type in the packages the module's descriptor exports to
 * everyone. A change to the API fails this test until the dump is regenerated and reviewed with the
 * change, so nothing becomes (or stops being) API by accident:
 *
 * <pre>{@code ./mvnw -q -pl brook-tests -am verify -Dtest=ApiDumpTest -Dsurefire.failIfNoSpecifiedTests=false -Dbrook.api.update=true}</pre>
 *
 * (as OkHttp's and Kotlin's binary-compatibility dumps do).
 */
class ApiDumpTest {

  /** Each module, by one class it holds (how its classes are found on the test class path). */
  private static final Map<String, Class<?>> MODULES = new java.util.LinkedHashMap<>();

  static {
    MODULES.put("brook-core", dev.brook.Broker.class);
    MODULES.put("brook-redis", dev.brook.redis.RedisBroker.class);
    MODULES.put("brook-testing", dev.brook.testing.TestRedisBroker.class);
    MODULES.put("brook-asyncapi", dev.brook.asyncapi.AsyncApi.class);
    MODULES.put("brook-console", dev.brook.console.BrookConsole.class);
    MODULES.put("brook-opentelemetry", dev.brook.opentelemetry.BrookTracing.class);
    MODULES.put("brook-micrometer", dev.brook.micrometer.BrookMetrics.class);
    MODULES.put("brook-spring-boot", dev.brook.spring.boot.autoconfigure.BrookAutoConfiguration.class);
  }

  @TestFactory
  Stream<DynamicTest> eachModulesApiMatchesItsDump() {
    return MODULES.entrySet().stream().map(e -> DynamicTest.dynamicTest(e.getKey(), () -> check(e.getKey(), e.getValue())));
  }

  private static void check(String module, Class<?> anchor) throws Exception {
    String dump = dump(anchor);
    Path file = apiDir().resolve(module + ".api");
    if (Boolean.getBoolean("brook.api.update")) {
      Files.createDirectories(file.getParent());
      Files.writeString(file, dump, StandardCharsets.UTF_8);
      return;
    }
    assertThat(file).as("%s: the API dump %s is missing. Generate it with -Dbrook.api.update=true (see ApiDumpTest).",
        module, file).exists();
    String committed = Files.readString(file, StandardCharsets.UTF_8);
    if (!committed.equals(dump)) {
      List<String> added = new ArrayList<>(dump.lines().toList());
      added.removeAll(committed.lines().toList());
      List<String> removed = new ArrayList<>(committed.lines().toList());
      removed.removeAll(dump.lines().toList());
      throw new AssertionError(module + "'s public API differs from " + file + ".\n  added:   " + added
          + "\n  removed: " + removed + "\nIf the change is meant, regenerate the dump with "
          + "./mvnw -q -pl brook-tests -am verify -Dtest=ApiDumpTest -Dsurefire.failIfNoSpecifiedTests=false "
          + "-Dbrook.api.update=true and commit it with the change.");
    }
  }

  /** {@code api/} at the top of the checkout: found from this module's directory. */
  private static Path apiDir() throws URISyntaxException {
    Path here = Path.of(ApiDumpTest.class.getProtectionDomain().getCodeSource().getLocation().toURI());
    for (Path p = here; p != null; p = p.getParent()) {
      if (Files.exists(p.resolve("mvnw"))) {
        return p.resolve("api");
      }
    }
    throw new IllegalStateException("No checkout above " + here);
  }

  static String dump(Class<?> anchor) throws Exception {
    Path root = Path.of(anchor.getProtectionDomain().getCodeSource().getLocation().toURI());
    FileSystem jar = Files.isDirectory(root) ? null : FileSystems.newFileSystem(root);
    try {
      Path base = jar == null ? root : jar.getPath("/");
      Set<String> exported = exportedPackages(base);
      StringBuilder out = new StringBuilder();
      List<String> classNames = new ArrayList<>();
      for (String pkg : exported) {
        Path dir = base.resolve(pkg.replace('.', '/'));
        if (!Files.isDirectory(dir)) continue;
        try (Stream<Path> files = Files.list(dir)) {
          files.map(p -> p.getFileName().toString()).filter(n -> n.endsWith(".class") && !n.equals("module-info.class"))
              .map(n -> pkg + "." + n.substring(0, n.length() - ".class".length()).replace('$', '.'))
              .forEach(classNames::add);
        }
      }
      classNames.sort(null);
      for (String name : classNames) {
        Class<?> c = load(anchor.getClassLoader(), name);
        if (c == null || !isVisible(c) || c.isSynthetic() || c.isAnonymousClass()) continue;
        out.append(describe(c)).append('\n');
        for (String m : members(c)) {
          m = m.replace(c.getName() + ".", "").replace(c.getTypeName() + ".", "");
          out.append("  ").append(m).append('\n');
        }
        out.append('\n');
      }
      return out.toString();
    } finally {
      if (jar != null) jar.close();
    }
  }

  /** A nested class is API when it and every class around it are public (or protected in a public class). */
  private static boolean isVisible(Class<?> c) {
    for (Class<?> k = c; k != null; k = k.getDeclaringClass()) {
      int m = k.getModifiers();
      if (!(Modifier.isPublic(m) || (k.getDeclaringClass() != null && Modifier.isProtected(m)))) return false;
    }
    return true;
  }

  private static Class<?> load(ClassLoader loader, String dotted) {
    // Nested classes: try replacing the last dots with '$' until one loads.
    String name = dotted;
    while (true) {
      try {
        return Class.forName(name, false, loader);
      } catch (ClassNotFoundException e) {
        int dot = name.lastIndexOf('.');
        if (dot < 0) return null;
        name = name.substring(0, dot) + "$" + name.substring(dot + 1);
        if (name.indexOf('.') < 0) return null;
      }
    }
  }

  /** Packages the descriptor exports without a {@code to} clause; all packages when there is no descriptor. */
  private static Set<String> exportedPackages(Path base) throws IOException {
    Path info = base.resolve("module-info.class");
    Set<String> packages = new TreeSet<>();
    if (Files.exists(info)) {
      try (InputStream in = Files.newInputStream(info)) {
        for (ModuleDescriptor.Exports e : ModuleDescriptor.read(in).exports()) {
          if (!e.isQualified()) packages.add(e.source());
        }
      }
      return packages;
    }
    try (Stream<Path> all = Files.walk(base)) {
      all.filter(p -> p.toString().endsWith(".class")).forEach(p -> {
        String rel = base.relativize(p.getParent()).toString().replace('/', '.').replace('\\', '.');
        if (!rel.contains("internal")) packages.add(rel);
      });
    }
    return packages;
  }

  private static String describe(Class<?> c) {
    StringBuilder b = new StringBuilder();
    int m = c.getModifiers() & ~Modifier.STATIC & ~(c.isInterface() ? Modifier.ABSTRACT : 0);
    b.append(Modifier.toString(m & (Modifier.PUBLIC | Modifier.PROTECTED | Modifier.ABSTRACT | Modifier.FINAL)));
    if (c.isSealed()) b.append(" sealed");
    b.append(c.isAnnotation() ? " @interface " : c.isInterface() ? " interface " : c.isEnum() ? " enum "
        : c.isRecord() ? " record " : " class ");
    b.append(c.getTypeName());
    if (c.getTypeParameters().length > 0) {
      b.append(Stream.of(c.getTypeParameters()).map(t -> t.getTypeName() + bounds(t.getBounds()))
          .collect(java.util.stream.Collectors.joining(", ", "<", ">")));
    }
    if (c.getGenericSuperclass() != null && c.getSuperclass() != Object.class && !c.isEnum() && !c.isRecord()) {
      b.append(" extends ").append(c.getGenericSuperclass().getTypeName());
    }
    java.lang.reflect.Type[] interfaces = c.getGenericInterfaces();
    if (interfaces.length > 0 && !c.isAnnotation()) {
      b.append(c.isInterface() ? " extends " : " implements ")
          .append(Stream.of(interfaces).map(java.lang.reflect.Type::getTypeName).collect(java.util.stream.Collectors.joining(", ")));
    }
    if (c.isSealed()) {
      b.append(" permits ").append(Stream.of(c.getPermittedSubclasses()).map(Class::getTypeName).sorted()
          .collect(java.util.stream.Collectors.joining(", ")));
    }
    return b.toString().trim();
  }

  private static String bounds(java.lang.reflect.Type[] bounds) {
    if (bounds.length == 1 && bounds[0] == Object.class) return "";
    return " extends " + Stream.of(bounds).map(java.lang.reflect.Type::getTypeName).collect(java.util.stream.Collectors.joining(" & "));
  }

  private static List<String> members(Class<?> c) {
    TreeSet<String> out = new TreeSet<>();
    boolean extensible = !Modifier.isFinal(c.getModifiers()) && !c.isEnum() && !c.isRecord();
    for (Field f : c.getDeclaredFields()) {
      if (visible(f, extensible) && !f.isSynthetic()) out.add("field " + f.toGenericString());
    }
    for (Constructor<?> k : c.getDeclaredConstructors()) {
      if (visible(k, extensible) && !k.isSynthetic() && !c.isEnum()) out.add("constructor " + k.toGenericString());
    }
    for (Method m : c.getDeclaredMethods()) {
      if (visible(m, extensible) && !m.isSynthetic() && !m.isBridge()) out.add("method " + m.toGenericString());
    }
    return new ArrayList<>(out);
  }

  private static boolean visible(Member m, boolean extensible) {
    int mod = m.getModifiers();
    return Modifier.isPublic(mod) || (extensible && Modifier.isProtected(mod));
  }
}
