/**
 * The Brook console ({@code dev.brook.console.BrookConsole}): a handler for the JDK HTTP server that
 * serves one page and a JSON API over a Redis that Brook brokers use.
 */
module dev.brook.console {
  requires transitive dev.brook.redis;
  requires transitive jdk.httpserver;
  requires com.fasterxml.jackson.databind;
  requires com.networknt.schema;

  exports dev.brook.console;
}
