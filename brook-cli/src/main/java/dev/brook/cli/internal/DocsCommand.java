package dev.brook.cli.internal;

import com.fasterxml.jackson.databind.JsonNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.brook.App;
import dev.brook.asyncapi.AsyncApi;
import dev.brook.asyncapi.internal.Documents;
import dev.brook.cli.internal.LogLevels.LogLevel;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintWriter;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code brook docs gen} and {@code brook docs serve}: the AsyncAPI document of a service, as a file or a web page. */
@Command(name = "docs", mixinStandardHelpOptions = true,
    description = "AsyncAPI 3.0.0 documents of a service: write one, or serve it as a web page.",
    subcommands = {DocsCommand.Gen.class, DocsCommand.Serve.class})
final class DocsCommand implements Runnable {

  @CommandLine.Spec
  CommandLine.Model.CommandSpec spec;

  @Override
  public void run() {
    throw new CommandLine.ParameterException(spec.commandLine(), "Missing a subcommand: gen or serve");
  }

  /** Options for the service whose document is made; it is built with its factory but never started. */
  static final class ServiceOptions {
    @Option(names = {"--classpath", "-cp"}, paramLabel = "PATH", description = "The service's jars and class directories, separated by ':'.")
    String classpath;

    @Option(names = "--url", paramLabel = "URL", description = {"The Redis URL given to the factory and shown as the server "
        + "(nothing connects to it).", "Default: $BROOK_REDIS_URL, else redis://127.0.0.1:6379."})
    String url;

    @Option(names = "--title", paramLabel = "TEXT", description = "info.title. Default: the factory's class name.")
    String title;

    @Option(names = "--api-version", paramLabel = "VERSION", description = "info.version, the service's API version. Default: 0.1.0.")
    String apiVersion;

    @Option(names = "--description", paramLabel = "TEXT", description = "info.description.")
    String description;

    @Option(names = "--log-level", paramLabel = "LEVEL", defaultValue = "WARN",
        description = "TRACE, DEBUG, INFO, WARN, ERROR or OFF. Default: ${DEFAULT-VALUE}.")
    LogLevel logLevel;

    /** Builds the service (without starting it), describes its broker, and closes the broker again. */
    JsonNode document(String targetText) {
      ClassLoader loader = Targets.loader(classpath);
      Thread.currentThread().setContextClassLoader(loader);
      if (url != null) {
        System.setProperty(Targets.URL_PROPERTY, url);
      }
      Targets.Target target = Targets.resolve(targetText, loader, false);
      App app = target.app(Targets.url(url));
      try {
        AsyncApi.Builder api = AsyncApi.builder(app.broker()).title(title != null ? title : target.type().getSimpleName());
        if (apiVersion != null) {
          api.version(apiVersion);
        }
        if (description != null) {
          api.description(description);
        }
        AsyncApi doc = api.build();
        return Documents.parse(doc.toJson(), target.text());
      } finally {
        app.broker().close();
      }
    }
  }

  @Command(name = "gen", mixinStandardHelpOptions = true, sortOptions = false,
      description = {"Write the AsyncAPI 3.0.0 document of a service (JSON, or YAML with --yaml).",
          "",
          "TARGET is a class with an App factory ('public static App app()' or 'app(String redisUrl)') or Class#method. "
              + "The service is built but not started: nothing connects to Redis."},
      footer = {"", "Example:", "  brook docs gen --classpath target/classes com.acme.Orders --yaml --out asyncapi.yaml"})
  static final class Gen implements Callable<Integer> {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Parameters(index = "0", paramLabel = "TARGET", description = "The service: Class or Class#factory.")
    String target;

    @Option(names = "--yaml", description = "Write YAML instead of JSON.")
    boolean yaml;

    @Option(names = {"--out", "-o"}, paramLabel = "FILE", description = "Write to this file instead of standard output.")
    Path out;

    @Mixin
    ServiceOptions service;

    @Override
    public Integer call() throws IOException {
      LogLevels.apply(service.logLevel);
      JsonNode document = service.document(target);
      String text = yaml ? Documents.toYaml(document) : Documents.toJson(document);
      if (out == null) {
        PrintWriter stdout = spec.commandLine().getOut();
        stdout.print(text);
        stdout.flush();
      } else {
        if (out.toAbsolutePath().getParent() != null) {
          Files.createDirectories(out.toAbsolutePath().getParent());
        }
        Files.writeString(out, text, StandardCharsets.UTF_8);
        spec.commandLine().getErr().println("Wrote " + out + " (" + document.path("channels").size() + " channels, "
            + document.path("operations").size() + " operations).");
      }
      return 0;
    }
  }

  @Command(name = "serve", mixinStandardHelpOptions = true, sortOptions = false,
      description = {"Serve a service's AsyncAPI docs page (and the document as JSON and YAML) until Ctrl-C or SIGTERM.",
          "",
          "SOURCE is a class with an App factory, Class#method, or an AsyncAPI 3 file (.json, .yaml) written by 'brook docs gen'.",
          "Pages: / (HTML), /asyncapi.json, /asyncapi.yaml."},
      footer = {"", "Examples:",
          "  brook docs serve --classpath target/classes com.acme.Orders --port 8000",
          "  brook docs serve asyncapi.yaml"})
  static final class Serve implements Callable<Integer> {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Parameters(index = "0", paramLabel = "SOURCE", description = "The service (Class or Class#factory) or a document file.")
    String source;

    @Option(names = "--port", paramLabel = "PORT", defaultValue = "8000", description = "The port; 0 picks a free one. Default: ${DEFAULT-VALUE}.")
    int port;

    @Option(names = "--host", paramLabel = "ADDRESS", defaultValue = "127.0.0.1",
        description = "The address to listen on; 0.0.0.0 for every interface. Default: ${DEFAULT-VALUE}.")
    String host;

    @Mixin
    ServiceOptions service;

    @Override
    public Integer call() throws Exception {
      LogLevels.apply(service.logLevel);
      JsonNode document;
      String what;
      Path file = Path.of(source);
      if (Files.isRegularFile(file)) {
        document = Documents.parse(Files.readString(file, StandardCharsets.UTF_8), file.toString());
        what = file.toString();
      } else if (source.endsWith(".json") || source.endsWith(".yaml") || source.endsWith(".yml")) {
        throw new IllegalArgumentException("No file " + source + "; pass an existing AsyncAPI file or a service class.");
      } else {
        document = service.document(source);
        what = source;
      }
      byte[] html = Documents.toHtml(document).getBytes(StandardCharsets.UTF_8);
      byte[] json = Documents.toJson(document).getBytes(StandardCharsets.UTF_8);
      byte[] yaml = Documents.toYaml(document).getBytes(StandardCharsets.UTF_8);
      HttpServer server;
      try {
        server = HttpServer.create(new InetSocketAddress(host, port), 0);
      } catch (IOException e) {
        throw new IllegalStateException("Cannot listen on " + host + ":" + port + " (" + e.getMessage()
            + "). Pick another --port, or 0 for a free one.", e);
      }
      server.createContext("/", exchange -> {
        try (exchange) {
          String path = exchange.getRequestURI().getPath();
          switch (path) {
            case "/", "/index.html" -> send(exchange, 200, "text/html; charset=utf-8", html);
            case "/asyncapi.json" -> send(exchange, 200, "application/json; charset=utf-8", json);
            case "/asyncapi.yaml" -> send(exchange, 200, "application/yaml; charset=utf-8", yaml);
            default -> send(exchange, 404, "text/plain; charset=utf-8",
                "Not found. Try / , /asyncapi.json or /asyncapi.yaml.\n".getBytes(StandardCharsets.UTF_8));
          }
        }
      });
      server.start();
      try {
        String address = "http://" + (host.contains(":") ? "[" + host + "]" : host) + ":" + server.getAddress().getPort() + "/";
        PrintWriter out = spec.commandLine().getOut();
        out.println("Serving the AsyncAPI docs of " + what + " at " + address + " (JSON: " + address + "asyncapi.json, YAML: "
            + address + "asyncapi.yaml). Stop with Ctrl-C.");
        out.flush();
        Signals.awaitTermination();
      } finally {
        server.stop(0);
      }
      return 0;
    }

    private static void send(HttpExchange exchange, int status, String type, byte[] body) throws IOException {
      exchange.getResponseHeaders().set("Content-Type", type);
      exchange.getResponseHeaders().set("Cache-Control", "no-store");
      if (exchange.getRequestMethod().equals("HEAD")) {
        exchange.sendResponseHeaders(status, -1);
        return;
      }
      exchange.sendResponseHeaders(status, body.length);
      try (OutputStream os = exchange.getResponseBody()) {
        os.write(body);
      }
    }
  }
}
