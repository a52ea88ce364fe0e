package dev.brook.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * {@code java -jar brook.jar} on a JVM older than 21 prints one line naming the Java it found and
 * the one it needs (issue 13), and on 21+ hands over to the CLI as before.
 */
class LauncherIT {

  private static final Path JVMS = Path.of("/usr/lib/jvm");
  private static final Pattern JAVA_VERSION = Pattern.compile("(?m)^JAVA_VERSION=\"([^\"]+)\"");

  /** An installed JDK or JRE older than 21 (Debian's default java is 17), by its {@code release} file. */
  private static Path oldJavaHome() throws IOException {
    Optional<Path> found;
    try (Stream<Path> homes = Files.isDirectory(JVMS) ? Files.list(JVMS) : Stream.empty()) {
      found = homes.filter(home -> !Files.isSymbolicLink(home) && Files.isExecutable(home.resolve("bin/java")))
          .filter(home -> feature(version(home)) < Launcher.REQUIRED)
          .sorted()
          .findFirst();
    }
    assertThat(found).as("a Java older than %d under %s to run brook.jar with (apt-get install openjdk-17-jre-headless)",
        Launcher.REQUIRED, JVMS).isPresent();
    return found.get();
  }

  private static String version(Path home) {
    try {
      Matcher m = JAVA_VERSION.matcher(Files.readString(home.resolve("release")));
      return m.find() ? m.group(1) : "";
    } catch (IOException e) {
      return "";
    }
  }

  private static int feature(String version) {
    return version.isEmpty() ? Integer.MAX_VALUE : Launcher.feature(version.startsWith("1.") ? version : version.split("[.+-]")[0]);
  }

  @Test
  void anOlderJavaGetsOneLineNamingTheJavaItFoundAndTheOneItNeeds() throws Exception {
    Path home = oldJavaHome().toRealPath();
    String version = version(home);

    Processes.Result r = Processes.run(Duration.ofSeconds(60),
        List.of(home.resolve("bin/java").toString(), "-jar", Processes.jar().toString(), "--version"));

    assertThat(r.code()).isEqualTo(1);
    assertThat(r.out()).isEmpty();
    assertThat(r.err()).isEqualTo("brook needs Java 21 or newer, but this is Java " + version + " (" + home + "): run it "
        + "with a JDK 21+, e.g. by setting JAVA_HOME or putting its bin directory first on the PATH." + System.lineSeparator());
  }

  @Test
  void java21OrNewerRunsTheCli() throws Exception {
    Processes.Result r = Processes.run(Duration.ofSeconds(60), Processes.brook("--version"));
    assertThat(r.code()).isZero();
    assertThat(r.out()).startsWith("brook ").contains("(Java " + Runtime.version() + ")");
  }

  @Test
  void theExitCodeOfTheCliComesThrough() throws Exception {
    Processes.Result r = Processes.run(Duration.ofSeconds(60), Processes.brook("publish"));
    assertThat(r.code()).isEqualTo(2);
    assertThat(r.err()).contains("Missing required parameter: 'PAYLOAD'");
  }
}
