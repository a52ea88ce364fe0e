package dev.brook.cli.internal;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.brook.Destination;
import dev.brook.RequestTimeoutException;
import dev.brook.cli.internal.LogLevels.LogLevel;
import dev.brook.redis.Redis;
import dev.brook.redis.RedisBroker;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code brook publish}: one message to a channel, list or stream, or a request whose reply is
 * printed. The payload is JSON (sent as {@code application/json}) unless {@code --text} says
 * text; the reply is printed as received (its bytes as UTF-8 text).
 */
@Command(name = "publish", mixinStandardHelpOptions = true, sortOptions = false,
    description = {"Publish a message, or send a request and print the reply.",
        "",
        "PAYLOAD is JSON (quote it for the shell) or, with --text, text; '-' reads it from standard input."},
    footer = {"", "Examples:",
        "  brook publish --url redis://127.0.0.1:6379 --channel orders '{\"id\": 1}'",
        "  brook publish --list jobs --header tenant=acme '{\"task\": \"resize\"}'",
        "  brook publish --channel orders --request --timeout 5s '{\"id\": 1}'"})
final class PublishCommand implements Callable<Integer> {

  private static final ObjectMapper JSON = new ObjectMapper().enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

  @CommandLine.Spec
  CommandLine.Model.CommandSpec spec;

  @Option(names = "--url", paramLabel = "URL", description = "The Redis URL. Default: $BROOK_REDIS_URL, else redis://127.0.0.1:6379.")
  String url;

  @ArgGroup(exclusive = true, multiplicity = "1", heading = "Where to (exactly one):%n")
  Where where;

  static final class Where {
    @Option(names = "--channel", paramLabel = "NAME", description = "A Pub/Sub channel (PUBLISH).")
    String channel;

    @Option(names = "--list", paramLabel = "NAME", description = "A List (RPUSH).")
    String list;

    @Option(names = "--stream", paramLabel = "NAME", description = "A Stream (XADD).")
    String stream;

    Destination destination() {
      if (channel != null) {
        return Redis.channel(channel);
      }
      return list != null ? Redis.list(list) : Redis.stream(stream);
    }
  }

  @Option(names = {"-H", "--header"}, paramLabel = "NAME=VALUE", description = "A header to send; repeat for more.")
  Map<String, String> headers = new LinkedHashMap<>();

  @Option(names = "--request", description = "Wait for the reply (request/reply) and print it.")
  boolean request;

  @Option(names = "--timeout", paramLabel = "DURATION", converter = Durations.class,
      description = "How long --request waits: 500ms, 5s, 2m or PT5S. Default: 5s.")
  Duration timeout;

  @Option(names = "--text", description = "Send PAYLOAD as text (text/plain) rather than JSON.")
  boolean text;

  @Option(names = "--log-level", paramLabel = "LEVEL", defaultValue = "WARN",
      description = "TRACE, DEBUG, INFO, WARN, ERROR or OFF. Default: ${DEFAULT-VALUE}.")
  LogLevel logLevel;

  @Parameters(index = "0", paramLabel = "PAYLOAD", description = "The message: JSON, text with --text, '-' for standard input.")
  String payload;

  @Override
  public Integer call() throws IOException {
    LogLevels.apply(logLevel);
    if (timeout != null && !request) {
      throw new CommandLine.ParameterException(spec.commandLine(), "--timeout is for --request; add --request or leave it out");
    }
    Object body = body();
    Destination destination = where.destination();
    PrintWriter out = spec.commandLine().getOut();
    PrintWriter err = spec.commandLine().getErr();
    try (RedisBroker broker = RedisBroker.builder().url(Targets.url(url)).clientName("brook-cli").accessLog(false).build()) {
      if (request) {
        Duration wait = timeout != null ? timeout : Duration.ofSeconds(5);
        byte[] reply;
        try {
          reply = broker.publisher(destination).withHeaders(headers).request(body, byte[].class, wait);
        } catch (RequestTimeoutException e) {
          throw new IllegalStateException("No reply from " + destination.key() + " within " + text(wait) + " (Redis at "
              + broker.url() + "). Check that a service subscribes there and replies, or wait longer with --timeout.", e);
        }
        out.println(new String(reply, StandardCharsets.UTF_8));
        out.flush();
      } else {
        Map<String, String> sent = new LinkedHashMap<>(headers);
        String correlationId = sent.computeIfAbsent("correlation_id", k -> UUID.randomUUID().toString());
        broker.publish(body, destination, sent);
        err.println("Published to " + destination.key() + " (correlation_id " + correlationId + ").");
        err.flush();
      }
    }
    return 0;
  }

  private Object body() throws IOException {
    String raw = payload.equals("-") ? new String(System.in.readAllBytes(), StandardCharsets.UTF_8) : payload;
    if (text) {
      return raw;
    }
    try {
      JsonNode json = JSON.readTree(raw);
      if (json == null || json.isMissingNode()) {
        throw new CommandLine.ParameterException(spec.commandLine(), "The payload is empty; give JSON such as '{\"id\": 1}'");
      }
      return json;
    } catch (JsonProcessingException e) {
      throw new CommandLine.ParameterException(spec.commandLine(), "The payload is not JSON (" + e.getOriginalMessage()
          + "). Quote it for the shell, e.g. '{\"id\": 1}', or pass --text to send text");
    }
  }

  private static String text(Duration d) {
    return d.toMillis() % 1000 == 0 ? d.toSeconds() + " s" : d.toMillis() + " ms";
  }
}
