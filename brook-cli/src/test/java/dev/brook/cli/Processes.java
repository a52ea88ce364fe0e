package dev.brook.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

/**
 * Child processes for the end-to-end tests: the packaged {@code brook.jar} in its own JVM, and
 * other programs (Chromium). Every wait has a deadline; every child is killed by {@link
 * Child#close()} if it is still alive.
 */
final class Processes {

  private Processes() {}

  /** The packaged CLI, as failsafe passes it; fails clearly when the jar was not built. */
  static Path jar() {
    String jar = System.getProperty("brook.jar", "target/brook.jar");
    Path path = Path.of(jar);
    assertThat(path).as("the CLI jar; build it with ./mvnw -pl brook-cli -am verify (package writes it)").isRegularFile();
    return path;
  }

  /** {@code java -jar brook.jar ARGS}, with a JVM tuned to start fast. */
  static List<String> brook(String... args) {
    List<String> command = new ArrayList<>(List.of(ProcessHandle.current().info().command().orElse("java"),
        "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-Xshare:auto", "-jar", jar().toString()));
    command.addAll(List.of(args));
    return command;
  }

  /** A finished process: exit code, standard output, standard error. */
  record Result(int code, String out, String err) {}

  /** Runs to the end (or fails the test at the deadline) and returns what it printed. */
  static Result run(Duration timeout, List<String> command) throws IOException, InterruptedException {
    Path err = Files.createTempFile("brook-it-", ".err");
    try {
      Process p = new ProcessBuilder(command).redirectError(err.toFile()).redirectInput(ProcessBuilder.Redirect.PIPE).start();
      p.getOutputStream().close();
      StringBuilder out = new StringBuilder();
      Thread reader = Thread.ofPlatform().daemon().start(() -> {
        try {
          out.append(new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8));
        } catch (IOException e) {
          out.append("<output lost: ").append(e).append('>');
        }
      });
      boolean done = p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS);
      if (!done) {
        p.destroyForcibly();
      }
      reader.join(5_000);
      String stderr = Files.readString(err);
      assertThat(done).as("%s finished within %s; stderr: %s", command, timeout, stderr).isTrue();
      return new Result(p.exitValue(), out.toString(), stderr);   // join() made the reader's writes visible
    } finally {
      Files.deleteIfExists(err);
    }
  }

  /** A long-running child whose standard output and error are read line by line (merged). */
  static final class Child implements AutoCloseable {
    private final Process process;
    private final List<String> lines = new CopyOnWriteArrayList<>();
    private final Thread reader;

    Child(List<String> command) throws IOException {
      this.process = new ProcessBuilder(command).redirectErrorStream(true).start();
      this.process.getOutputStream().close();
      this.reader = Thread.ofPlatform().daemon().name("child-output").start(() -> {
        try (BufferedReader in = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
          String line;
          while ((line = in.readLine()) != null) {
            lines.add(line);
          }
        } catch (IOException e) {
          lines.add("<output lost: " + e + ">");
        }
      });
    }

    List<String> lines() {
      return lines;
    }

    long pid() {
      return process.pid();
    }

    /** SIGKILL by PID, as a crash; waits until the process is gone. */
    void kill(Duration timeout) throws InterruptedException {
      process.toHandle().destroyForcibly();
      assertThat(process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)).as("killed within %s", timeout).isTrue();
    }

    /** The first line matching, waiting up to the timeout; fails with everything printed so far. */
    String awaitLine(Predicate<String> match, Duration timeout) throws InterruptedException {
      long deadline = System.nanoTime() + timeout.toNanos();
      while (true) {
        for (String line : lines) {
          if (match.test(line)) {
            return line;
          }
        }
        assertThat(process.isAlive()).as("child still running; output so far:%n%s", String.join("\n", lines)).isTrue();
        assertThat(System.nanoTime()).as("the expected line within %s; output so far:%n%s", timeout, String.join("\n", lines))
            .isLessThan(deadline);
        reader.join(20);
      }
    }

    /**
     * SIGTERM through the process handle: {@code Process.destroy()} would also close our end of the
     * child's output, and we want to read its last lines.
     */
    int sigtermAndAwaitExit(Duration timeout) throws InterruptedException {
      assertThat(process.toHandle().destroy()).as("SIGTERM sent").isTrue();
      assertThat(process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS))
          .as("exited within %s after SIGTERM; output:%n%s", timeout, String.join("\n", lines)).isTrue();
      reader.join(10_000);
      return process.exitValue();
    }

    @Override
    public void close() {
      process.destroyForcibly();
    }
  }
}
