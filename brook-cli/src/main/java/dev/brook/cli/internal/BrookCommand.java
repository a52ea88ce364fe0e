package dev.brook.cli.internal;

import java.io.PrintWriter;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * The top command and the wiring shared by all: help and version options, how errors are
 * printed (one line, the Redis password masked) and the exit codes (1 failed, 2 bad command line).
 */
@Command(name = "brook", mixinStandardHelpOptions = true, versionProvider = VersionProvider.class,
    description = "Run Brook services, publish and request from the shell, generate and serve AsyncAPI docs, check health, work dead letters, serve the console.",
    subcommands = {RunCommand.class, PublishCommand.class, DocsCommand.class, HealthCommand.class, DlqCommand.class,
        ConsoleCommand.class},
    footer = {"", "Exit codes: 0 done, 1 the command failed, 2 the command line is wrong (brook health: 3 DOWN).",
        "Run 'brook COMMAND --help' for a command's options."})
public final class BrookCommand implements Runnable {

  private static final Pattern URL_USER_INFO = Pattern.compile("(rediss?(?:-[a-z]+)?://)([^@/\\s'\"]*)@");

  @CommandLine.Spec
  CommandLine.Model.CommandSpec spec;

  @Override
  public void run() {
    throw new CommandLine.ParameterException(spec.commandLine(), "Missing a command: run, publish, docs, health or console");
  }

  public static CommandLine commandLine(PrintWriter out, PrintWriter err) {
    CommandLine cli = new CommandLine(new BrookCommand());
    cli.setOut(out);
    cli.setErr(err);
    cli.setCaseInsensitiveEnumValuesAllowed(true);
    cli.setParameterExceptionHandler((e, args) -> {
      CommandLine c = e.getCommandLine();
      err.println(mask(qualifiedName(c) + ": " + e.getMessage() + " (see '" + qualifiedName(c) + " --help')"));
      err.flush();
      return 2;
    });
    cli.setExecutionExceptionHandler((e, c, parseResult) -> {
      err.println(mask(qualifiedName(c) + ": " + message(e)));
      if (LogLevels.debugEnabled()) {
        e.printStackTrace(err);
      }
      err.flush();
      return 1;
    });
    return cli;
  }

  private static String qualifiedName(CommandLine c) {
    return c.getCommandSpec().qualifiedName();
  }

  /** The exception's message, or, for one without, its type; with the cause when that says more. */
  static String message(Throwable e) {
    Throwable t = e;
    if (t instanceof java.lang.reflect.InvocationTargetException && t.getCause() != null) {
      t = t.getCause();
    }
    String text = t.getMessage();
    if (text == null || text.isBlank()) {
      text = t.getClass().getName() + (t.getCause() != null ? " (" + t.getCause() + ")" : "");
    }
    return text.replace('\n', ' ').strip();
  }

  /** Hides the user info of any Redis URL in the text: {@code redis://app:****@host}. */
  static String mask(String text) {
    Matcher m = URL_USER_INFO.matcher(text);
    StringBuilder sb = new StringBuilder();
    while (m.find()) {
      String info = m.group(2);
      int colon = info.indexOf(':');
      String masked = colon >= 0 ? info.substring(0, colon) + ":****" : "****";
      m.appendReplacement(sb, Matcher.quoteReplacement(m.group(1) + masked + "@"));
    }
    m.appendTail(sb);
    return sb.toString();
  }
}
