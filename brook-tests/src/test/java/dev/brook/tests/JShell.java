package dev.brook.tests;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

/** Runs a script in the JShell of the JDK running the tests, with the test classpath. */
final class JShell {

  private JShell() {}

  /** Writes the script to {@code dir}, runs it to its end and returns everything it printed. */
  static String run(Path dir, String script) throws IOException, InterruptedException {
    Path jshell = Path.of(System.getProperty("java.home"), "bin", "jshell");
    assertThat(jshell).as("jshell of the running JDK").isExecutable();
    String classpath = Arrays.stream(System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"))
            .split(File.pathSeparator))
        .filter(p -> !p.isBlank() && Files.exists(Path.of(p))) // jshell refuses a missing entry
        .collect(Collectors.joining(File.pathSeparator));
    Path file = Files.writeString(dir.resolve("script.jsh"), script);
    Process p = new ProcessBuilder(jshell.toString(), "--class-path", classpath, "-R-Dlogback.configurationFile=none",
        file.toString())
        .redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.waitFor(120, TimeUnit.SECONDS)).as("jshell finished; output:%n%s", out).isTrue();
    return out;
  }
}
