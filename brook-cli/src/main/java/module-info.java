/** The {@code brook} command line: run a service, publish, and serve or generate its AsyncAPI docs. */
module dev.brook.cli {
  requires dev.brook.redis;
  requires dev.brook.asyncapi;
  requires dev.brook.console;
  requires info.picocli;
  requires jdk.httpserver;
  requires ch.qos.logback.classic;

  exports dev.brook.cli;
  opens dev.brook.cli.internal to info.picocli;
}
