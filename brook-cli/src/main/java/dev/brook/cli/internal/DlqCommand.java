package dev.brook.cli.internal;

import dev.brook.Destination;
import dev.brook.redis.DeadLetters;
import dev.brook.redis.Redis;
import dev.brook.redis.RedisBroker;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code brook dlq list|replay|purge}: the dead letters of a List or Stream ({@code {name}:dlq}),
 * through {@link RedisBroker#deadLetters}. List prints one line per dead letter (id, attempts,
 * error, payload); replay publishes them back (one id, those with a header value, or all); purge
 * deletes them.
 */
@Command(name = "dlq", mixinStandardHelpOptions = true,
    description = "List, replay or purge the dead letters of a list or stream.",
    subcommands = {DlqCommand.ListDead.class, DlqCommand.Replay.class, DlqCommand.Purge.class},
    footer = {"", "Examples:",
        "  brook dlq list --list jobs",
        "  brook dlq replay --list jobs --id 0c1f...",
        "  brook dlq replay --stream events --header tenant=acme",
        "  brook dlq replay --list jobs --all",
        "  brook dlq purge --list jobs"})
final class DlqCommand implements Runnable {

  @CommandLine.Spec
  CommandLine.Model.CommandSpec spec;

  @Override
  public void run() {
    throw new CommandLine.ParameterException(spec.commandLine(), "Missing a command: list, replay or purge");
  }

  /** The options every dlq command shares. */
  static final class Target {
    @Option(names = "--url", paramLabel = "URL", description = "The Redis URL. Default: $BROOK_REDIS_URL, else redis://127.0.0.1:6379.")
    String url;

    @ArgGroup(exclusive = true, multiplicity = "1", heading = "Whose dead letters (exactly one):%n")
    Which which;

    static final class Which {
      @Option(names = "--list", paramLabel = "NAME", description = "A List: its dead letters are {NAME}:dlq.")
      String list;

      @Option(names = "--stream", paramLabel = "NAME", description = "A Stream: its dead letters are {NAME}:dlq.")
      String stream;
    }

    Destination destination() {
      return which.list != null ? Redis.list(which.list) : Redis.stream(which.stream);
    }

    RedisBroker broker() {
      return RedisBroker.builder().url(Targets.url(url)).clientName("brook-cli").accessLog(false).build();
    }
  }

  @Command(name = "list", mixinStandardHelpOptions = true, description = "Print the dead letters: id, attempts, error, payload.")
  static final class ListDead implements Callable<Integer> {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @CommandLine.Mixin
    Mixin target;

    @Option(names = "--max", paramLabel = "N", defaultValue = "100", description = "At most N, oldest first. Default: ${DEFAULT-VALUE}.")
    int max;

    @Override
    public Integer call() {
      PrintWriter out = spec.commandLine().getOut();
      try (RedisBroker broker = target.target.broker()) {
        DeadLetters dead = broker.deadLetters(target.target.destination());
        List<DeadLetters.Entry> entries = dead.list(max);
        for (DeadLetters.Entry e : entries) {
          out.println(e.id() + "\tattempts=" + e.attempts() + "\terror=" + oneLine(e.error()) + "\t" + oneLine(e.payloadText()));
        }
        out.flush();
        spec.commandLine().getErr().println(entries.size() + " of " + dead.count() + " dead letters of "
            + target.target.destination().key() + ".");
        spec.commandLine().getErr().flush();
      }
      return 0;
    }
  }

  @Command(name = "replay", mixinStandardHelpOptions = true,
      description = "Publish dead letters back to their list or stream (without the dead-letter headers).")
  static final class Replay implements Callable<Integer> {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @CommandLine.Mixin
    Mixin target;

    @ArgGroup(exclusive = true, multiplicity = "1", heading = "Which (exactly one):%n")
    Select select;

    static final class Select {
      @Option(names = "--id", paramLabel = "ID", description = "The dead letter with this id (see 'brook dlq list'); repeat for more.")
      List<String> ids = new ArrayList<>();

      @Option(names = {"-H", "--header"}, paramLabel = "NAME=VALUE", description = "Those carrying this header value; repeat: all must match.")
      Map<String, String> headers;

      @Option(names = "--all", description = "Every dead letter.")
      boolean all;
    }

    @Override
    public Integer call() {
      try (RedisBroker broker = target.target.broker()) {
        DeadLetters dead = broker.deadLetters(target.target.destination());
        int n;
        if (select.all) {
          n = dead.replayAll();
        } else if (select.headers != null) {
          n = dead.replay(h -> select.headers.entrySet().stream().allMatch(e -> e.getValue().equals(h.get(e.getKey()))));
        } else {
          n = 0;
          for (String id : select.ids) {
            if (dead.replay(id)) {
              n++;
            } else {
              throw new IllegalStateException("No dead letter with id " + id + " in " + target.target.destination().key()
                  + (n > 0 ? " (" + n + " replayed before it)" : "") + "; see 'brook dlq list'.");
            }
          }
        }
        spec.commandLine().getErr().println("Replayed " + n + " dead letters to " + target.target.destination().key() + ".");
        spec.commandLine().getErr().flush();
      }
      return 0;
    }
  }

  @Command(name = "purge", mixinStandardHelpOptions = true, description = "Delete every dead letter.")
  static final class Purge implements Callable<Integer> {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @CommandLine.Mixin
    Mixin target;

    @Override
    public Integer call() {
      try (RedisBroker broker = target.target.broker()) {
        long n = broker.deadLetters(target.target.destination()).purge();
        spec.commandLine().getErr().println("Purged " + n + " dead letters of " + target.target.destination().key() + ".");
        spec.commandLine().getErr().flush();
      }
      return 0;
    }
  }

  /** Picocli mixes in an object's options; the target is one group inside it. */
  static final class Mixin {
    @ArgGroup(exclusive = false, multiplicity = "1")
    Target target;
  }

  private static String oneLine(String s) {
    String t = s.replace('\n', ' ').replace('\r', ' ').replace('\t', ' ');
    return t.length() > 200 ? t.substring(0, 200) + "…" : t;
  }
}
