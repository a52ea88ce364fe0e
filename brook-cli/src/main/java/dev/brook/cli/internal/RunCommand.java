package dev.brook.cli.internal;

import dev.brook.App;
import dev.brook.cli.internal.LogLevels.LogLevel;
import java.lang.reflect.InvocationTargetException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code brook run}: builds the service's App with its factory and runs it until Ctrl-C or SIGTERM;
 * {@code App} then shuts down gracefully (handlers in flight finish, the broker closes) and the
 * command exits 0. A class with only a {@code main} method is run by calling it.
 */
@Command(name = "run", mixinStandardHelpOptions = true, sortOptions = false,
    description = {"Run a service until Ctrl-C or SIGTERM, then shut it down gracefully.",
        "",
        "TARGET is a class with an App factory, 'public static App app()' or 'app(String redisUrl)' (a factory may "
            + "return a Broker instead), or Class#method for another factory, or a class with a main method."},
    footer = {"", "Examples:",
        "  brook run --classpath target/classes com.acme.Orders --url redis://127.0.0.1:6379",
        "  brook run --classpath app.jar com.acme.Main -- --port 9000"})
final class RunCommand implements Callable<Integer> {

  private static final Logger LOG = LoggerFactory.getLogger("brook");

  @Parameters(index = "0", paramLabel = "TARGET", description = "The service: Class, Class#factory, or a class with main.")
  String target;

  @Parameters(index = "1..*", paramLabel = "ARGS", description = "Arguments for a main method (write them after --).")
  List<String> args = new ArrayList<>();

  @Option(names = "--url", paramLabel = "URL", description = {"The Redis URL: passed to app(String) factories and set as "
      + "the system property brook.redis.url.", "Default: $BROOK_REDIS_URL, else redis://127.0.0.1:6379."})
  String url;

  @Option(names = {"--classpath", "-cp"}, paramLabel = "PATH", description = "The service's jars and class directories, separated by ':'.")
  String classpath;

  @Option(names = "--log-level", paramLabel = "LEVEL", defaultValue = "INFO",
      description = "TRACE, DEBUG, INFO, WARN, ERROR or OFF. Default: ${DEFAULT-VALUE}.")
  LogLevel logLevel;

  @Override
  public Integer call() throws Exception {
    LogLevels.apply(logLevel);
    ClassLoader loader = Targets.loader(classpath);
    Thread.currentThread().setContextClassLoader(loader);
    if (url != null) {
      System.setProperty(Targets.URL_PROPERTY, url);
    }
    Targets.Target service = Targets.resolve(target, loader, true);
    if (service.main() != null) {
      LOG.info("Running {}", service.text());
      try {
        service.main().invoke(null, (Object) args.toArray(String[]::new));
      } catch (InvocationTargetException e) {
        throw e.getCause() instanceof Exception cause ? cause : e;
      }
      Exit.stayAliveAfterMain();
      return 0;
    }
    if (!args.isEmpty()) {
      throw new IllegalArgumentException(service.text() + " is an App factory and takes no arguments; arguments after "
          + "TARGET are for a main method. Configure the service in its factory or with system properties.");
    }
    String redisUrl = Targets.url(url);
    LOG.info("Running {} ({})", service.text(), service.factory().getParameterCount() == 1
        ? "Redis at " + dev.brook.redis.Redis.maskedUrl(redisUrl) : "the factory chooses its Redis");
    App app = service.app(redisUrl);
    app.run();
    return 0;
  }
}
