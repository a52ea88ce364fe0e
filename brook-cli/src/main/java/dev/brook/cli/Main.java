package dev.brook.cli;

import dev.brook.cli.internal.BrookCommand;
import dev.brook.cli.internal.Exit;
import java.io.PrintWriter;

/**
 * The {@code brook} command: {@code brook run}, {@code brook publish}, {@code brook docs gen} and
 * {@code brook docs serve}. Packaged as one runnable jar, {@code brook-cli/target/brook.jar}:
 *
 * <pre>
 * java -jar brook.jar run --classpath app.jar com.acme.Orders --url redis://127.0.0.1:6379
 * java -jar brook.jar publish --url redis://127.0.0.1:6379 --channel orders '{"id": 1}'
 * java -jar brook.jar publish --channel orders --request --timeout 5s '{"id": 1}'
 * java -jar brook.jar docs gen --classpath app.jar com.acme.Orders --yaml --out asyncapi.yaml
 * java -jar brook.jar docs serve --classpath app.jar com.acme.Orders --port 8000
 * </pre>
 *
 * <p><b>Targets.</b> A service is named by a class. An <em>App factory</em> is a public static
 * method returning {@link dev.brook.App} (or a {@link dev.brook.Broker}) with no parameters or one
 * {@code String}, the Redis URL: {@code Orders} means {@code Orders#app}, and {@code Orders#build}
 * names another method. A factory that takes the URL gets {@code --url}, else {@code
 * BROOK_REDIS_URL}, else {@code redis://127.0.0.1:6379}; {@code --url} is also set as the system
 * property {@code brook.redis.url} for factories and main methods that read it themselves. {@code
 * brook run} also accepts a class with a {@code main} method (arguments after the class go to it).
 * {@code --classpath} adds the service's jars and class directories.
 *
 * <p><b>Output and exit codes.</b> Results go to standard output (the reply of a request, a
 * document), logs and errors to standard error. An error is one line, naming the cause and the fix;
 * a Redis password is never printed. Exit codes: 0 done (also after a graceful shutdown on Ctrl-C
 * or SIGTERM), 1 the command failed, 2 the command line is wrong.
 */
public final class Main {

  private Main() {}

  public static void main(String[] args) {
    int code = execute(args, new PrintWriter(System.out, true), new PrintWriter(System.err, true));
    if (code != 0 || !Exit.stayAlive()) {
      System.exit(code);
    }
  }

  /**
   * Runs one command line with these streams and returns its exit code; never calls {@code
   * System.exit}. For tests and for embedding the CLI.
   */
  public static int execute(String[] args, PrintWriter out, PrintWriter err) {
    return BrookCommand.commandLine(out, err).execute(args);
  }
}
