package dev.brook.cli.internal;

import dev.brook.App;
import dev.brook.Broker;
import dev.brook.Health;
import dev.brook.Subscription;
import dev.brook.cli.internal.LogLevels.LogLevel;
import dev.brook.redis.Backlog;
import dev.brook.redis.ListDestination;
import dev.brook.redis.Redis;
import dev.brook.redis.RedisBroker;
import dev.brook.redis.StreamDestination;
import java.io.PrintWriter;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code brook health}: checks Redis from outside a service — whether it answers a PING and how fast
 * — and, given a service's App factory, what waits in Redis for each of its subscriptions ({@link
 * RedisBroker#backlog}) without starting any of them. It cannot see another process's handlers: a
 * service reports those itself with {@code broker.health()}.
 *
 * <p>Status: DOWN when Redis does not answer within {@code --timeout}; DEGRADED when a stream
 * group's lag is above {@code --max-lag}; else UP. Exit code 0 for UP and DEGRADED (the report
 * says what to look at), 3 for DOWN; as every command, 1 when the check itself failed (the factory
 * threw) and 2 for a wrong command line.
 */
@Command(name = "health", mixinStandardHelpOptions = true, sortOptions = false,
    description = {"Check that Redis answers (and how fast) and, for a service, what waits in Redis for each "
        + "of its subscriptions: queue and stream lengths, stream lag, pending entries, processing lists, "
        + "dead letters. Starts nothing.",
        "",
        "TARGET (optional) is a class with an App factory, as for 'brook run'."},
    footer = {"", "Exit codes: 0 UP or DEGRADED, 3 DOWN (Redis does not answer), 1 the check failed, "
        + "2 the command line is wrong.",
        "", "Examples:",
        "  brook health --url redis://127.0.0.1:6379",
        "  brook health --classpath app.jar com.acme.Orders --max-lag 1000 --json"})
final class HealthCommand implements Callable<Integer> {

  /** The exit code for DOWN: distinct from 1 (the command failed) and 2 (a wrong command line). */
  static final int DOWN = 3;

  @Parameters(index = "0", arity = "0..1", paramLabel = "TARGET", description = "A service: Class or Class#factory.")
  String target;

  @Option(names = "--url", paramLabel = "URL", description = "The Redis URL. Default: $BROOK_REDIS_URL, else redis://127.0.0.1:6379.")
  String url;

  @Option(names = {"--classpath", "-cp"}, paramLabel = "PATH", description = "The service's jars and class directories, separated by ':'.")
  String classpath;

  @Option(names = "--json", description = "Print the report as JSON.")
  boolean json;

  @Option(names = "--timeout", paramLabel = "DURATION", converter = Durations.class,
      description = "How long Redis may take to answer the PING: 500ms, 2s or PT2S. Default: 1s.")
  Duration timeout;

  @Option(names = "--max-lag", paramLabel = "N", defaultValue = "10000",
      description = "A stream group's lag above which the status is DEGRADED. Default: ${DEFAULT-VALUE}.")
  long maxLag;

  @Option(names = "--log-level", paramLabel = "LEVEL", defaultValue = "ERROR",
      description = "TRACE, DEBUG, INFO, WARN, ERROR or OFF. Default: ${DEFAULT-VALUE}.")
  LogLevel logLevel;

  @picocli.CommandLine.Spec
  picocli.CommandLine.Model.CommandSpec spec;

  @Override
  public Integer call() {
    LogLevels.apply(logLevel);
    if (maxLag < 0) {
      throw new picocli.CommandLine.ParameterException(spec.commandLine(), "--max-lag must be 0 or more, was " + maxLag);
    }
    Health.Options options = Health.Options.DEFAULT.withMaxLag(maxLag)
        .withTimeout(timeout != null ? timeout : Health.Options.DEFAULT.timeout());
    RedisBroker broker = broker();
    try {
      Health health = broker.health(options);
      List<String> problems = new ArrayList<>();
      Health.Status status = health.server().reachable() ? Health.Status.UP : Health.Status.DOWN;
      if (!health.server().reachable()) {
        problems.add(health.problems().isEmpty() ? "Redis does not answer" : health.problems().get(0));
      }
      List<Backlog> backlogs = new ArrayList<>();
      if (health.server().reachable()) {
        List<Subscription> subs = new ArrayList<>(broker.subscriptions());
        subs.sort(Comparator.comparing(Subscription::id));
        for (Subscription s : subs) {
          Backlog b = outsider(s, broker.backlog(s));
          backlogs.add(b);
          if (b.lag() > maxLag) {
            status = Health.Status.DEGRADED;
            problems.add("subscription '" + s.id() + "': its group lags " + b.lag() + " entries behind the stream (max-lag "
                + maxLag + ")");
          }
        }
      }
      PrintWriter out = spec.commandLine().getOut();
      out.print(json ? json(status, health.server(), backlogs, problems) + "\n" : text(status, health.server(), backlogs, problems));
      out.flush();
      return status == Health.Status.DOWN ? DOWN : 0;
    } finally {
      broker.close();
    }
  }

  /** The service's broker (its subscriptions registered, none started), or a broker of our own for --url alone. */
  private RedisBroker broker() {
    String redisUrl = Targets.url(url);
    if (target == null) {
      return RedisBroker.builder().url(redisUrl).clientName("brook-cli").accessLog(false).build();
    }
    ClassLoader loader = Targets.loader(classpath);
    Thread.currentThread().setContextClassLoader(loader);
    if (url != null) {
      System.setProperty(Targets.URL_PROPERTY, url);
    }
    Targets.Target service = Targets.resolve(target, loader, false);
    App app = service.app(redisUrl);
    Broker b = app.broker();
    if (b instanceof RedisBroker redis) {
      return redis;
    }
    b.close();
    throw new IllegalArgumentException(service.text() + " builds a " + b.getClass().getName()
        + "; brook health checks RedisBrokers only.");
  }

  /**
   * The figures another process can read: a consumer's own pending entries and processing list are
   * found by its name, which this process knows only when the destination sets one ({@code
   * consumer(...)}); a default name (host, pid, random) is the service's own, so they are -1 then.
   */
  private static Backlog outsider(Subscription s, Backlog b) {
    String consumer = null;
    if (s.destination() instanceof ListDestination l) {
      consumer = l.consumerName();
    } else if (s.destination() instanceof StreamDestination st) {
      consumer = st.consumerName();
    }
    if (consumer == null || !consumer.equals(Redis.defaultConsumerName())) {
      return b;
    }
    return new Backlog(b.subscription(), b.destination(), b.length(), b.lag(), b.pending(), -1,
        b.processing() < 0 ? b.processing() : -1, b.deadLetters());
  }

  private static String text(Health.Status status, Health.Server server, List<Backlog> backlogs, List<String> problems) {
    StringBuilder sb = new StringBuilder();
    sb.append(status).append("  ").append(server.name()).append("  ");
    sb.append(server.reachable() ? "reachable, round trip " + millis(server.roundTrip()) + " ms" : "not reachable").append('\n');
    for (String p : problems) {
      sb.append("  - ").append(p).append('\n');
    }
    for (Backlog b : backlogs) {
      sb.append("  ").append(b.subscription()).append("  ").append(b.destination());
      figure(sb, "length", b.length());
      figure(sb, "lag", b.lag());
      figure(sb, "pending", b.pending());
      figure(sb, "consumer pending", b.consumerPending());
      figure(sb, "processing", b.processing());
      figure(sb, "dead letters", b.deadLetters());
      sb.append('\n');
    }
    return sb.toString();
  }

  private static void figure(StringBuilder sb, String name, long value) {
    if (value >= 0) {
      sb.append("  ").append(name).append(' ').append(value);
    }
  }

  private static String json(Health.Status status, Health.Server server, List<Backlog> backlogs, List<String> problems) {
    StringBuilder sb = new StringBuilder();
    sb.append("{\"status\":\"").append(status).append("\",\"server\":{\"name\":").append(quote(server.name()))
        .append(",\"reachable\":").append(server.reachable()).append(",\"roundTripMillis\":")
        .append(server.roundTrip() == null ? "null" : millis(server.roundTrip())).append("},\"subscriptions\":[");
    for (int i = 0; i < backlogs.size(); i++) {
      Backlog b = backlogs.get(i);
      sb.append(i == 0 ? "" : ",").append("{\"id\":").append(quote(b.subscription())).append(",\"destination\":")
          .append(quote(b.destination())).append(",\"length\":").append(b.length()).append(",\"lag\":").append(b.lag())
          .append(",\"pending\":").append(b.pending()).append(",\"consumerPending\":").append(b.consumerPending())
          .append(",\"processing\":").append(b.processing()).append(",\"deadLetters\":").append(b.deadLetters()).append('}');
    }
    sb.append("],\"problems\":[");
    for (int i = 0; i < problems.size(); i++) {
      sb.append(i == 0 ? "" : ",").append(quote(problems.get(i)));
    }
    return sb.append("]}").toString();
  }

  private static String millis(Duration d) {
    return String.format(Locale.ROOT, "%.3f", d.toNanos() / 1e6);
  }

  private static String quote(String s) {
    try {
      return new com.fasterxml.jackson.databind.ObjectMapper().writeValueAsString(s);
    } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
      throw new IllegalStateException(e);
    }
  }
}
