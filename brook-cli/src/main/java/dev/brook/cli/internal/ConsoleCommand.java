package dev.brook.cli.internal;

import com.sun.net.httpserver.HttpServer;
import dev.brook.console.BrookConsole;
import java.io.IOException;
import java.io.PrintWriter;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code brook console}: serves the Brook console for one Redis until Ctrl-C. */
@Command(name = "console", mixinStandardHelpOptions = true, sortOptions = false,
    description = {"Serve the Brook console: the brokers on a Redis, their destinations and dead letters, with replay, "
        + "purge, pause/resume and publish.",
        "Actions need --token when --host is not a loopback address."},
    footer = {"", "Example:", "  brook console --url redis://127.0.0.1:6379 --port 8080 --asyncapi asyncapi.json"})
final class ConsoleCommand implements Callable<Integer> {

  @CommandLine.Spec
  CommandLine.Model.CommandSpec spec;

  @Option(names = "--url", paramLabel = "URL", defaultValue = "redis://127.0.0.1:6379",
      description = "The Redis to show: redis://, rediss://, redis-cluster:// or redis-sentinel://. Default: ${DEFAULT-VALUE}.")
  String url;

  @Option(names = "--port", paramLabel = "PORT", defaultValue = "8080", description = "The port; 0 picks a free one. Default: ${DEFAULT-VALUE}.")
  int port;

  @Option(names = "--host", paramLabel = "ADDRESS", defaultValue = "127.0.0.1",
      description = "The address to listen on; 0.0.0.0 for every interface (then actions need --token). Default: ${DEFAULT-VALUE}.")
  String host;

  @Option(names = "--read-only", description = "Refuse every action; show only.")
  boolean readOnly;

  @Option(names = "--token", paramLabel = "TOKEN", description = "Require 'Authorization: Bearer TOKEN' for every action.")
  String token;

  @Option(names = "--asyncapi", paramLabel = "FILE",
      description = "An AsyncAPI 3 document (.json, .yaml, as 'brook docs gen' writes it); repeatable. A payload "
          + "published from the console to a destination it describes must match its message schema.")
  java.util.List<java.nio.file.Path> asyncApi = new java.util.ArrayList<>();

  @Option(names = "--log-level", paramLabel = "LEVEL", defaultValue = "WARN", description = "Brook's and Lettuce's log level. Default: ${DEFAULT-VALUE}.")
  LogLevels.LogLevel logLevel;

  @Override
  public Integer call() throws Exception {
    LogLevels.apply(logLevel);
    boolean loopback = InetAddress.getByName(host).isLoopbackAddress();
    BrookConsole.Builder options = BrookConsole.builder().url(url).readOnly(readOnly).token(token);
    for (java.nio.file.Path file : asyncApi) {
      if (!java.nio.file.Files.isRegularFile(file)) {
        throw new IllegalArgumentException("No AsyncAPI file " + file + " (--asyncapi); write one with 'brook docs gen'.");
      }
      String text = java.nio.file.Files.readString(file, java.nio.charset.StandardCharsets.UTF_8);
      options.asyncApi(dev.brook.asyncapi.internal.Documents.toJson(
          dev.brook.asyncapi.internal.Documents.parse(text, file.toString())));
    }
    try (BrookConsole console = options.build()) {
      HttpServer server;
      try {
        server = HttpServer.create(new InetSocketAddress(host, port), 0);
      } catch (IOException e) {
        throw new IllegalStateException("Cannot listen on " + host + ":" + port + " (" + e.getMessage()
            + "). Pick another --port, or 0 for a free one.", e);
      }
      server.createContext("/", console);
      server.setExecutor(java.util.concurrent.Executors.newVirtualThreadPerTaskExecutor());
      server.start();
      try {
        String address = "http://" + (host.contains(":") ? "[" + host + "]" : host) + ":" + server.getAddress().getPort() + "/";
        PrintWriter out = spec.commandLine().getOut();
        out.println("Serving the Brook console of " + BrookCommand.mask(url) + " at " + address
            + (readOnly ? " (read-only)" : token != null ? " (actions need the token)"
                : loopback ? "" : " (actions refused: no --token beyond loopback)") + ". Stop with Ctrl-C.");
        out.flush();
        Signals.awaitTermination();
      } finally {
        server.stop(0);
      }
    }
    return 0;
  }
}
